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


@pytest.mark.parametrize("filters", [
    Filters(), Filters(topics=("taiwan",)), Filters(topics=("taiwan", "talks")), Filters(language="zh"),
    Filters(topics=("exercises",), language="en", since=dt.date(2022, 8, 1), until=dt.date(2023, 12, 31)),
    Filters(topics=("talks", "arms_control"), since=dt.date(2021, 1, 1), until=dt.date(2022, 12, 31)),
    Filters(sources=("pacific-ledger",), topics=("taiwan",)), Filters(text="drills", topics=("taiwan",)),
])
def test_summary_agrees_with_a_brute_force_count(demo_db: str, filters: Filters) -> None:
    """Whichever path answers (rollups, the topic index or a scan), the figures are the same."""
    everything = queries.articles_frame(demo_db)
    chosen = queries.articles_frame(demo_db, filters)
    summary = queries.window_summary(demo_db, filters)
    assert summary["articles"] == len(chosen) == queries.count_articles(demo_db, filters)
    from sqlalchemy import text

    from tracker.store import open_store

    with open_store(demo_db).engine.connect() as conn:
        sighted = conn.execute(text("SELECT a.id, s.feed_id FROM sightings s "
                                    "JOIN articles a ON a.num = s.article_num")).all()
    feeds_of: dict[str, set[str]] = {}
    for article_id, feed_id in sighted:
        feeds_of.setdefault(article_id, set()).add(feed_id)
    outlets = set().union(*(feeds_of[i] for i in chosen["id"])) if len(chosen) else set()
    if filters.sources:
        outlets &= set(filters.sources)
    assert summary["outlets"] == len(outlets)
    wanted = filters.topics or tuple(t for ts in everything["topics"] for t in ts.split(";") if t)
    expected = {t: int(sum(t in ts.split(";") for ts in chosen["topics"])) for t in set(wanted)}
    assert {t: n for t, n in summary["topics"].items()} == {t: n for t, n in expected.items() if n}


def test_shares_divide_by_everything_collected_whatever_the_words_asked_for(demo_db: str) -> None:
    """A search narrows what is counted, not what it is counted out of: Taiwan's share of stories
    about Kinmen is a share of all stories, never 100 % (it was, when the totals were searched too)."""
    from tracker import charts, story_queries

    searched, collected = Filters(text="Kinmen", language="en"), Filters(language="en")
    for read in (queries.totals_by_day, story_queries.story_totals_by_day):
        assert read(demo_db, searched).equals(read(demo_db, collected)), read.__name__
        assert read(demo_db, Filters(topics=("taiwan",))).equals(read(demo_db, Filters())), read.__name__
    daily = queries.topic_counts_by_day(demo_db, searched)
    shares = charts.bucket_counts(daily, queries.totals_by_day(demo_db, searched), "month")
    assert 0 < daily["articles"].sum() < queries.topic_counts_by_day(demo_db, collected)["articles"].sum()
    assert 0 < shares["share"].max() < 50  # Kinmen is a small part of any month's news


def test_any_topic_means_the_same_under_every_filter(demo_db: str) -> None:
    """The rollups and the direct count agree: each tagged story once, whatever topics are selected."""
    from tracker import index, story_queries

    def any_topic(filters: Filters) -> dict[str, int]:
        daily = story_queries.story_counts_by_day(demo_db, filters)
        rows = daily[daily["topic"] == index.TOTAL]
        return dict(zip(rows["day"].dt.date.astype(str), rows["stories"], strict=True))

    every_outlet = tuple(queries.outlet_options(demo_db)["id"])
    from_rollups = any_topic(Filters())
    assert from_rollups and sum(from_rollups.values()) > 100
    assert any_topic(Filters(sources=every_outlet)) == from_rollups  # the direct count
    assert any_topic(Filters(topics=("taiwan",))) == from_rollups
    assert any_topic(Filters(topics=("taiwan",), sources=every_outlet)) == from_rollups
