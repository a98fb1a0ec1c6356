"""The Articles page: filtered table, paging and the CSV download (AppTest on the demo store)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace

import pandas as pd
import pytest

from tracker import export, queries
from tracker.models import ParsedFeed, Validators
from tracker.queries import Filters
from tracker.store import open_store

from .apptest import DownloadSpy, run_app, url_params
from .test_queries import DAY, A, article

PAGE = "pages/articles.py"


def test_table_and_download_hold_exactly_the_filtered_rows(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    spy = DownloadSpy(monkeypatch)
    params = {"topics": "taiwan", "from": "2022-08-01", "to": "2023-12-31", "lang": "en"}
    at = run_app(monkeypatch, demo_db, PAGE, params)
    filters = Filters(topics=("taiwan",), since=dt.date(2022, 8, 1), until=dt.date(2023, 12, 31), language="en")
    expected = queries.articles_frame(demo_db, filters)
    assert 0 < len(expected) < 200
    shown = at.dataframe[0].value
    assert list(shown["title"]) == list(expected["title"])
    assert at.get("download_button")[0].proto.label == "Download CSV"
    downloaded = pd.read_csv(io.BytesIO(spy.last()), keep_default_na=False)
    assert list(downloaded["id"]) == list(expected["id"])
    assert list(downloaded.columns) == export.EXPORT_COLUMNS
    assert all("taiwan" in t.split(";") for t in downloaded["topics"])
    # The same function as the CLI, with the byte-order mark that tells Excel the file is UTF-8.
    assert spy.last() == export.to_csv_bytes(export.export_frame(expected), spreadsheet=True)
    assert spy.last().startswith("\ufeff".encode())


def test_text_search_and_matched_terms(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, PAGE, {"q": "hypersonic"})
    shown = at.dataframe[0].value
    assert len(shown) == queries.count_articles(demo_db, Filters(text="hypersonic")) > 0
    text = (shown["title"] + " " + queries.articles_frame(demo_db, Filters(text="hypersonic"))["summary"]).str.lower()
    assert text.str.contains("hypersonic").all()
    assert shown["matched terms"].str.len().gt(0).any()
    # Topics are named as everywhere else on the page ("Hypersonic weapons: …"), not by their ids.
    assert shown["matched terms"].str.contains("Hypersonic weapons: ").any()
    assert not shown["matched terms"].str.contains("hypersonics:").any()


def test_one_match_is_one_article(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    first = queries.articles_frame(demo_db, limit=1)["title"][0]
    at = run_app(monkeypatch, demo_db, PAGE, {"q": first})
    assert queries.count_articles(demo_db, Filters(text=first)) == 1
    assert at.caption[1].value.startswith("1 matching article, ")  # [0] names the view


def test_paging_counts_every_match(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, PAGE)
    total = queries.count_articles(demo_db)
    assert total > 200  # the demo store needs more than one page for this test
    assert f"{total:,} matching articles" in at.caption[1].value
    assert len(at.dataframe[0].value) == 200
    at.number_input(key="ar_page").set_value(2).run()
    second = at.dataframe[0].value
    assert list(second["title"]) == list(queries.articles_frame(demo_db, limit=200, offset=200)["title"])


def test_filters_survive_a_page_switch(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, "pages/overview.py")
    at.multiselect(key="f_topics").set_value(["hypersonics"]).run()
    at.switch_page(PAGE).run()
    assert at.multiselect(key="f_topics").value == ["hypersonics"]
    assert url_params(at)["topics"] == "hypersonics"
    assert len(at.dataframe[0].value) == queries.count_articles(demo_db, Filters(topics=("hypersonics",)))


def test_undated_articles_say_their_date_is_the_collection_date(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """A feed without dates gets the collection time as each article's date; the table and the
    newest headlines say so instead of passing it off as the publication date."""
    db = str(tmp_path / "undated.sqlite")
    store = open_store(db)
    store.sync_feeds([A], DAY)
    dated, undated = article(1, 0, "taiwan"), article(2, 1, "taiwan")
    undated = replace(undated, item=replace(undated.item, published_is_fallback=True))
    store.record_update(A, ParsedFeed(A, A.name, (dated.item, undated.item)), [dated, undated], status=200,
                        validators=Validators(), taxonomy_version="v", now=DAY, next_poll=DAY)
    table = run_app(monkeypatch, db, PAGE).dataframe[0].value
    assert dict(zip(table["title"], table["undated"], strict=True)) == {"Story 1": False, "Story 2": True}
    headlines = [m.value for m in run_app(monkeypatch, db).markdown if "Story " in m.value]
    assert [("date of collection" in h) for h in headlines] == [True, False]  # newest first


def test_a_search_without_matches_offers_nothing_to_download_or_click(monkeypatch: pytest.MonkeyPatch,
                                                                     demo_db: str) -> None:
    params = {"q": "xyzzy"}
    assert not run_app(monkeypatch, demo_db, PAGE, params).get("download_button")
    assert not run_app(monkeypatch, demo_db, params=params).get("download_button")
    timeline = run_app(monkeypatch, demo_db, "pages/timeline.py", params)
    assert not any("Click a marker" in c.value for c in timeline.caption)


def test_file_names_say_every_filter() -> None:
    from tracker import ui

    name = ui.csv_name(Filters(topics=("taiwan",), since=dt.date(2024, 1, 1), language="zh", sources=("a", "b"),
                               text='"median line" 金门/PLA'), page=2)
    assert name == "tension-tracker_articles_taiwan_from-2024-01-01_zh_a-b_q-median-line-金门-PLA_page-2.csv"
