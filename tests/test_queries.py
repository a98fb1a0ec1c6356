"""Dashboard aggregates against a small store with known answers."""

from __future__ import annotations

import datetime as dt

import pytest

from tracker import queries
from tracker.models import FeedSource, ParsedFeed, ParsedItem, TaggedItem, TopicMatch, Validators
from tracker.queries import Filters
from tracker.store import open_store

A = FeedSource("feed-a", "https://a.example/rss", name="Alpha Post")
B = FeedSource("feed-b", "https://b.example/rss", name="Beta Daily")
DAY = dt.datetime(2024, 5, 20, 9, 0, tzinfo=dt.UTC)


def article(n: int, day: int, *topics: str, hour: int = 0) -> TaggedItem:
    item = ParsedItem(id=f"{n:040d}", title=f"Story {n}", summary="", link=f"https://x.example/{n}", guid=None,
                      published=DAY + dt.timedelta(days=day, hours=hour), published_is_fallback=False,
                      language="en")
    return TaggedItem(item, tuple(TopicMatch(t, (t,)) for t in topics))


@pytest.fixture
def store_path(db_url: str) -> str:
    store = open_store(db_url)
    store.sync_feeds([A, B], DAY)
    batches = {
        A: [article(1, 0, "taiwan"), article(2, 0, "taiwan", "talks"), article(3, 1), article(4, 10, "talks")],
        B: [article(2, 0, "taiwan", "talks"), article(5, 1, "taiwan"), article(6, 11)],
    }
    for source, items in batches.items():
        parsed = ParsedFeed(source, source.name, tuple(t.item for t in items))
        store.record_update(source, parsed, items, status=200, validators=Validators(), taxonomy_version="v",
                            now=DAY, next_poll=DAY)
    return db_url


def test_window_summary(store_path: str) -> None:
    summary = queries.window_summary(store_path, Filters(since=DAY.date(), until=DAY.date() + dt.timedelta(days=1)))
    assert summary == {"articles": 4, "outlets": 2, "topics": {"taiwan": 3, "talks": 1}}
    only_b = queries.window_summary(store_path, Filters(sources=("feed-b",)))
    assert only_b["articles"] == 3 and only_b["outlets"] == 1  # story 2 counts, though feed-a carried it too


def test_previous_window() -> None:
    f = Filters(since=dt.date(2024, 5, 11), until=dt.date(2024, 5, 20), topics=("taiwan",))
    assert queries.previous_window(f) == Filters(since=dt.date(2024, 5, 1), until=dt.date(2024, 5, 10),
                                                 topics=("taiwan",))
    assert queries.previous_window(Filters()) is None


def test_counts_by_day(store_path: str) -> None:
    daily = queries.topic_counts_by_day(store_path, Filters())
    got = {(d.date().isoformat(), t): n for d, t, n in daily.itertuples(index=False)}
    assert got == {("2024-05-20", "taiwan"): 2, ("2024-05-20", "talks"): 1, ("2024-05-21", "taiwan"): 1,
                   ("2024-05-30", "talks"): 1}
    only_talks = queries.topic_counts_by_day(store_path, Filters(topics=("talks",)))
    assert set(only_talks["topic"]) == {"talks"}
    totals = queries.totals_by_day(store_path, Filters(topics=("talks",)))  # topics do not narrow the totals
    assert dict(zip(totals["day"].dt.date.astype(str), totals["articles"], strict=True)) == {
        "2024-05-20": 2, "2024-05-21": 2, "2024-05-30": 1, "2024-05-31": 1}


def test_latest_tagged_skips_untagged(store_path: str) -> None:
    latest = queries.latest_tagged(store_path, Filters(), limit=3)
    assert list(latest["id"]) == [f"{n:040d}" for n in (4, 5, 1)]  # ties: lower id first


def test_options(store_path: str) -> None:
    assert list(queries.outlet_options(store_path)["name"]) == ["Alpha Post", "Beta Daily"]
    assert queries.language_options(store_path) == ["en"]


def test_pages(store_path: str) -> None:
    first = queries.articles_frame(store_path, limit=2)
    second = queries.articles_frame(store_path, limit=2, offset=2)
    assert len(first) == 2 and len(second) == 2 and not set(first["id"]) & set(second["id"])
