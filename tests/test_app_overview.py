"""The Overview page and the shared behaviour of every page (AppTest against real SQLite stores)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tracker import config, queries
from tracker.queries import Filters
from tracker.schema import SCHEMA_VERSION
from tracker.store import open_store

from .apptest import APP, PAGES, metric, run_app, url_params
from .test_store import back_to_version_5


@pytest.mark.parametrize("page", PAGES)
def test_every_page_on_an_empty_store(monkeypatch: pytest.MonkeyPatch, tmp_path, page: str) -> None:
    at = run_app(monkeypatch, str(tmp_path / "empty.sqlite"), page)
    assert not at.exception
    if page != "pages/feeds.py":
        assert any("No articles yet" in i.value for i in at.info)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_on_the_demo_store(monkeypatch: pytest.MonkeyPatch, demo_db: str, page: str) -> None:
    at = run_app(monkeypatch, demo_db, page)
    assert any("Demo data" in i.value for i in at.info), "demo banner missing"
    assert at.title[0].value in {"Overview", "Timeline", "Articles", "Feeds"}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_with_every_filter_set(monkeypatch: pytest.MonkeyPatch, demo_db: str, page: str) -> None:
    sources = queries.outlet_options(demo_db)["id"].tolist()[:2]
    params = {"topics": "taiwan,talks", "from": "2022-01-01", "to": "2024-12-31", "sources": ",".join(sources),
              "lang": "en", "q": "drills"}
    at = run_app(monkeypatch, demo_db, page, params)
    assert not at.warning, [w.value for w in at.warning]
    assert at.multiselect(key="f_topics").value == ["taiwan", "talks"]
    assert at.selectbox(key="f_range").value == "custom"
    assert at.multiselect(key="f_sources").value == sources
    assert at.selectbox(key="f_lang").value == "en"
    assert at.text_input(key="f_q").value == "drills"
    assert url_params(at) == params


def test_url_restores_filters_and_figures_follow(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, params={"topics": "taiwan", "from": "2022-08-01", "to": "2022-08-31"})
    expected = queries.count_articles(demo_db, Filters(topics=("taiwan",), since=dt.date(2022, 8, 1),
                                                       until=dt.date(2022, 8, 31)))
    assert expected > 0
    assert metric(at, "Articles") == f"{expected:,}"
    # Widening the topics raises the count, exactly as the store says.
    at.multiselect(key="f_topics").set_value(["taiwan", "talks"]).run()
    wider = queries.count_articles(demo_db, Filters(topics=("taiwan", "talks"), since=dt.date(2022, 8, 1),
                                                    until=dt.date(2022, 8, 31)))
    assert wider >= expected and metric(at, "Articles") == f"{wider:,}"
    assert url_params(at)["topics"] == "taiwan,talks"


def test_filter_change_updates_the_url_and_the_chart(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db)
    all_articles = int(metric(at, "Articles").replace(",", ""))
    at.selectbox(key="f_lang").set_value("zh").run()
    chinese = int(metric(at, "Articles").replace(",", ""))
    assert 0 < chinese < all_articles
    assert chinese == queries.count_articles(demo_db, Filters(language="zh"))
    assert url_params(at)["lang"] == "zh"
    at.selectbox(key="f_range").set_value("7d").run()
    assert url_params(at)["range"] == "7d"


def test_invalid_url_values_are_noted_not_raised(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, params={"topics": "bogus", "from": "nope", "lang": "xx"})
    notes = " ".join(w.value for w in at.warning)
    assert "bogus" in notes and "nope" in notes and "xx" in notes
    assert at.multiselect(key="f_topics").value == []


def test_impossible_date_range_is_noted(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, params={"from": "2024-05-01", "to": "2023-01-01"})
    assert any("is after" in w.value for w in at.warning)


def test_previous_window_deltas(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, params={"from": "2022-08-01", "to": "2022-08-31"})
    now = queries.count_articles(demo_db, Filters(since=dt.date(2022, 8, 1), until=dt.date(2022, 8, 31)))
    before = queries.count_articles(demo_db, Filters(since=dt.date(2022, 7, 1), until=dt.date(2022, 7, 31)))
    articles = next(m for m in at.metric if m.label == "Articles")
    assert articles.value == f"{now:,}"
    # The sign in the text, which a screen reader says, not an arrow's direction alone; the window
    # compared with, said once.
    assert articles.delta == f"{now - before:+,}"
    assert any(c.value == "Changes are against the previous 31 days (2022-07-01 to 2022-07-31)." for c in at.caption)


def test_the_view_is_named_under_the_title(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    """On a phone the sidebar is closed: a shared link's reader still learns what is filtered."""
    at = run_app(monkeypatch, demo_db, params={"topics": "taiwan,talks", "from": "2022-08-01", "to": "2022-08-31",
                                               "lang": "en", "q": "[drill](http://x.example)"})
    markdown = at.caption[0].value
    shown = markdown.replace("\\", "")  # the markdown escapes are not drawn
    assert shown.startswith("Taiwan, US–China talks · 2022-08-01 to 2022-08-31 · in English · matching")
    assert "](http" not in markdown  # the search is shown as text, never as a link


def test_headlines_are_escaped_text(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db)
    headlines = [m.value for m in at.markdown if m.value.startswith("**[")]
    assert len(headlines) == 15
    assert all("](https://" in h for h in headlines)


@pytest.mark.parametrize("payload", [
    "[click](javascript:alert(1))", "<img src=x onerror=alert(1)>", ":material/warning: :streamlit:",
    "$\\LaTeX$ **bold** _it_ `code` # heading", ":red[coloured]",
])
def test_markdown_escape_keeps_feed_text_literal(payload: str) -> None:
    from tracker import ui

    escaped = ui.md_escape(payload)
    # Every markdown-significant character is escaped, so nothing renders as markup.
    unescaped = [c for i, c in enumerate(escaped) if c in "[]()<>$*_`#" and (i == 0 or escaped[i - 1] != "\\")]
    assert unescaped == []
    assert ":material/" not in escaped and ":streamlit:" not in escaped
    assert ui.md_link("javascript:alert(1)") is None and ui.md_link(" JaVaScRiPt:x") is None
    assert ui.md_link("https://a.example/x y(1)") == "https://a.example/x%20y%281%29"


def test_a_store_from_an_older_version_is_upgraded_before_a_page_reads_it(
        monkeypatch: pytest.MonkeyPatch, demo_db: str, tmp_path) -> None:
    own = tmp_path / "tracker.sqlite"
    with sqlite3.connect(demo_db) as source, sqlite3.connect(own) as target:
        source.backup(target)
    back_to_version_5(open_store(str(own)))
    monkeypatch.delenv("TRACKER_DB", raising=False)
    monkeypatch.setattr(config, "DEFAULT_DB", own)
    monkeypatch.setattr(config, "DEFAULT_DEMO_DB", tmp_path / "no-demo.sqlite")
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/timeline.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert open_store(str(own), upgrade=False).schema_version() == SCHEMA_VERSION


def test_the_demo_shows_a_spike_with_the_stories_behind_it(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    """The demo's November 2026 drills around Taiwan make a spike, so a first visit sees the feature."""
    at = run_app(monkeypatch, demo_db)
    spikes = [e for e in at.expander if e.label.startswith("Taiwan coverage")]
    assert spikes, [e.label for e in at.expander]
    assert "2026-11-20" in spikes[0].label and "6 stories" in spikes[0].label
    assert len([m for m in spikes[0].markdown if m.value.startswith("- ")]) == 6


def test_a_narrow_search_says_which_topics_are_too_thin_to_index(monkeypatch: pytest.MonkeyPatch,
                                                                  demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, params={"q": "Kinmen"})
    note = next(c.value for c in at.caption if c.value.startswith("Not indexed"))
    assert "Taiwan (" in note


@pytest.mark.parametrize("params", [{"range": "all"}, {"from": "2026-11-20", "to": "2026-11-20"},
                                    {"from": "2026-11-15", "to": "2026-11-29"}])
def test_a_spike_does_not_depend_on_where_the_window_starts(monkeypatch: pytest.MonkeyPatch, demo_db: str,
                                                           params: dict[str, str]) -> None:
    """Its baseline is the 30 days before it, read even when the window starts later."""
    at = run_app(monkeypatch, demo_db, params=params)
    assert any(e.label.startswith("Taiwan coverage on 2026-11-20: 6 stories") for e in at.expander), params


def test_a_spike_under_a_search_lists_and_links_only_what_it_counted(monkeypatch: pytest.MonkeyPatch,
                                                                    demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, params={"q": "Taiwan"})
    spike = next(e for e in at.expander if e.label.startswith("Taiwan coverage on 2026-11-20"))
    counted = int(spike.label.split(": ")[1].split(" ")[0])
    listed = [m.value for m in spike.markdown if m.value.startswith("- ")]
    assert len(listed) == counted and all("东部战区" not in line for line in listed)
    link = spike.get("page_link")[0].proto
    assert link.query_string == "topics=taiwan&from=2026-11-20&to=2026-11-20&q=Taiwan"


def test_a_link_with_only_an_end_date_starts_at_the_first_article(monkeypatch: pytest.MonkeyPatch,
                                                                  demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, params={"to": "2021-03-31"})
    first, _ = queries.published_span(demo_db)
    assert at.date_input(key="f_dates").value == (first.date(), dt.date(2021, 3, 31))
    assert url_params(at) == {"from": first.date().isoformat(), "to": "2021-03-31"}


def test_the_first_click_of_a_date_range_keeps_the_last_range(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    """The picker reports a one-day range after its first click; the charts wait for the second."""
    at = run_app(monkeypatch, demo_db, params={"from": "2022-08-01", "to": "2022-08-31"})
    at.date_input(key="f_dates").set_value((dt.date(2023, 5, 1),)).run()
    assert url_params(at) == {"from": "2022-08-01", "to": "2022-08-31"}
    assert any("last day of the range" in c.value for c in at.caption)
    at.date_input(key="f_dates").set_value((dt.date(2023, 5, 1), dt.date(2023, 5, 31))).run()
    assert url_params(at) == {"from": "2023-05-01", "to": "2023-05-31"}


def test_the_chart_controls_keep_their_choice_across_pages(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, params={"range": "1y"})
    bucket_key = next(w.key for w in at.get("button_group") if w.key.startswith("ov_bucket_"))
    at.button_group(key=bucket_key).set_value("day").run()
    at.button_group(key="ov_mode").set_value("count").run()
    at.button_group(key="ov_unit").set_value("articles").run()
    at.switch_page("pages/timeline.py").run()
    at.switch_page("pages/overview.py").run()
    assert [at.button_group(key=k).value for k in (bucket_key, "ov_mode", "ov_unit")] == ["day", "count", "articles"]


def test_each_chart_can_be_read_as_words_and_numbers(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    """A screen reader gets nothing from a plotly figure but its tick labels."""
    at = run_app(monkeypatch, demo_db, params={"from": "2026-08-01", "to": "2026-11-30"})
    words = [e for e in at.expander if e.label.endswith("chart in words and numbers")]
    assert [e.label for e in words] == ["The topic frequency chart in words and numbers",
                                        "The tension index chart in words and numbers"]  # which chart each is
    frequency, index = (e.markdown[0].value.replace("\\", "") for e in words)  # as drawn, unescaped
    assert "Taiwan: " in frequency and "stories in all" in frequency
    assert index.startswith("- Any topic: ") and "spike" in index
    assert all(len(e.dataframe) == 1 for e in words)


def test_the_demo_banner_says_the_trackers_own_feeds_failed(monkeypatch: pytest.MonkeyPatch, demo_db: str,
                                                            tmp_path) -> None:
    """After `make run` on a machine that cannot reach the feeds, the demo shows, and says why."""
    from click.testing import CliRunner

    from tracker import cli

    own = tmp_path / "tracker.sqlite"
    result = CliRunner().invoke(cli.main, ["poll", "--db", str(own), "--feed", "http://127.0.0.1:9/feed.xml"])
    assert "1 failed" in result.output
    monkeypatch.delenv("TRACKER_DB", raising=False)
    monkeypatch.setattr(config, "DEFAULT_DB", own)
    monkeypatch.setattr(config, "DEFAULT_DEMO_DB", Path(demo_db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    banner = next(i.value for i in at.info if "Demo data" in i.value)
    assert "lists 1 feed and none has brought an article yet: 1 failed on their last poll" in banner
    assert "tracker feeds list" in banner


def test_the_chart_toolbars_are_short(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    """On a phone plotly's eight buttons covered the chart titles, and each was a Tab stop."""
    import json

    at = run_app(monkeypatch, demo_db)
    for chart in at.get("plotly_chart"):
        removed = json.loads(chart.proto.config)["modeBarButtonsToRemove"]
        assert {"zoomIn2d", "zoomOut2d", "lasso2d", "select2d"} <= set(removed)
