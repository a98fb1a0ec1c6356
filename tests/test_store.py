from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import inspect

from tracker import queries
from tracker.errors import StoreError
from tracker.models import FeedSource, ParsedFeed, ParsedItem, TaggedItem, TopicMatch, Validators
from tracker.schema import SCHEMA_VERSION
from tracker.store import open_store

NOW = dt.datetime(2024, 5, 23, 12, 0, tzinfo=dt.UTC)
FEED_A = FeedSource("feed-a", "https://a.example/rss", name="Feed A")
FEED_B = FeedSource("feed-b", "https://b.example/rss", name="Feed B", language="zh")


def item(n: int, *, days_ago: int = 0, language: str = "en") -> ParsedItem:
    return ParsedItem(id=f"{n:040d}", title=f"Title {n}", summary=f"Summary {n}", link=f"https://x.example/{n}",
                      guid=None, published=NOW - dt.timedelta(days=days_ago), published_is_fallback=False,
                      language=language)


def tagged(it: ParsedItem, *topics: str) -> TaggedItem:
    return TaggedItem(it, tuple(TopicMatch(t, (f"term-{t}",)) for t in topics))


def store_feed(store, source, items, version="v1", validators=Validators()):
    parsed = ParsedFeed(source, source.label, tuple(t.item for t in items))
    return store.record_update(source, parsed, items, status=200, validators=validators,
                               taxonomy_version=version, now=NOW, next_poll=NOW + dt.timedelta(minutes=15))


def test_new_store_is_migrated(db_url: str) -> None:
    store = open_store(db_url)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.upgrade() == (SCHEMA_VERSION, SCHEMA_VERSION)  # idempotent


# Version 5's tables, whose topics and sightings were keyed by the article's SHA-1 id.
V5_TABLES = """
CREATE TABLE articles (id VARCHAR(40) NOT NULL, link TEXT, guid TEXT, title TEXT NOT NULL,
    summary TEXT NOT NULL, published {time} NOT NULL, published_is_fallback BOOLEAN NOT NULL,
    language VARCHAR(8) NOT NULL, source_id VARCHAR(64) NOT NULL, first_seen {time} NOT NULL,
    story_id VARCHAR(64), PRIMARY KEY (id));
CREATE INDEX ix_articles_story ON articles (story_id);
CREATE INDEX ix_articles_published ON articles (published);
CREATE TABLE article_topics (article_id VARCHAR(40) NOT NULL, topic VARCHAR(64) NOT NULL, terms TEXT NOT NULL,
    taxonomy_version VARCHAR(64) NOT NULL, published {time} NOT NULL, PRIMARY KEY (article_id, topic));
CREATE INDEX ix_article_topics_topic_published ON article_topics (topic, published);
CREATE TABLE sightings (article_id VARCHAR(40) NOT NULL, feed_id VARCHAR(64) NOT NULL,
    seen_at {time} NOT NULL, PRIMARY KEY (article_id, feed_id));
CREATE INDEX ix_sightings_feed ON sightings (feed_id)
"""


def _contents(store) -> dict[str, object]:
    """Everything migration 6 must keep, keyed by the articles' public ids."""
    with store.transaction(write=False) as conn:
        run = conn.exec_driver_sql
        return {
            "articles": sorted(run("SELECT id, title, published, source_id, story_id FROM articles").all()),
            "topics": sorted(run("SELECT a.id, t.topic, t.terms, t.published FROM article_topics t "
                                 "JOIN articles a ON a.num = t.article_num").all()),
            "sightings": sorted(run("SELECT a.id, s.feed_id, s.seen_at FROM sightings s "
                                    "JOIN articles a ON a.num = s.article_num").all()),
            "daily": sorted(run("SELECT day, language, topic, articles FROM daily_counts").all()),
            "feed_daily": sorted(run("SELECT day, feed_id, topic, articles FROM feed_daily_counts").all()),
        }


def back_to_version_5(store) -> None:
    """Rewrite a current store's articles, topics and sightings as version 5 kept them."""
    with store.transaction() as conn:
        run = conn.exec_driver_sql
        articles = run("SELECT id, link, guid, title, summary, published, published_is_fallback, language, "
                       "source_id, first_seen, story_id FROM articles").all()
        topics = run("SELECT a.id, t.topic, t.terms, t.taxonomy_version, t.published FROM article_topics t "
                     "JOIN articles a ON a.num = t.article_num").all()
        sightings = run("SELECT a.id, s.feed_id, s.seen_at FROM sightings s "
                        "JOIN articles a ON a.num = s.article_num").all()
        for table in ("sightings", "article_topics", "articles", "daily_counts", "feed_daily_counts"):
            run(f"DELETE FROM {table}" if "counts" in table else f"DROP TABLE {table}")
        time = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
        for statement in V5_TABLES.format(time=time).split(";"):
            run(statement)
        mark = "%s" if conn.dialect.name == "postgresql" else "?"
        for table, rows in (("articles", articles), ("article_topics", topics), ("sightings", sightings)):
            if rows:
                run(f"INSERT INTO {table} VALUES ({', '.join([mark] * len(rows[0]))})", [tuple(r) for r in rows])
        run("UPDATE meta SET value = '5' WHERE key = 'schema_version'")


def test_migration_6_keys_topics_and_sightings_by_integer_and_keeps_everything(db_url: str) -> None:
    store = open_store(db_url)
    store.sync_feeds([FEED_A, FEED_B], NOW)
    store_feed(store, FEED_A, [tagged(item(1, days_ago=2), "taiwan"), tagged(item(2, days_ago=1), "talks", "taiwan"),
                               tagged(item(3))])
    store_feed(store, FEED_B, [tagged(item(2, days_ago=1), "talks", "taiwan"), tagged(item(4, language="zh"))])
    before = _contents(store)
    back_to_version_5(store)
    assert store.upgrade() == (5, SCHEMA_VERSION)
    assert _contents(store) == before  # rollups included: they were emptied, and rebuilt
    with store.transaction(write=False) as conn:
        order = [r[0] for r in conn.exec_driver_sql("SELECT id FROM articles ORDER BY num").all()]
    assert order == [item(n).id for n in (1, 2, 3, 4)]  # numbered in order of arrival
    # New articles take the next numbers, and a known one is recognised by its id.
    assert store_feed(store, FEED_B, [tagged(item(1, days_ago=2), "taiwan"), tagged(item(5), "talks")]) == (1, 1)
    with store.transaction(write=False) as conn:
        assert conn.exec_driver_sql(f"SELECT num FROM articles WHERE id = '{item(5).id}'").scalar() == 5
    carried = queries.articles_frame(db_url, queries.Filters(sources=("feed-b",)))
    assert sorted(carried["id"]) == [item(n).id for n in (1, 2, 4, 5)]


def test_migration_7_indexes_story_topics_by_time(db_url: str) -> None:
    store = open_store(db_url)
    with store.transaction() as conn:
        conn.exec_driver_sql("DROP INDEX ix_story_topics_first_seen")
        conn.exec_driver_sql("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    assert store.upgrade() == (6, SCHEMA_VERSION)
    with store.transaction(write=False) as conn:
        assert "ix_story_topics_first_seen" in {i["name"] for i in inspect(conn).get_indexes("story_topics")}


def test_sqlite_runs_in_wal_mode(db_path: str) -> None:
    open_store(db_path)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_items_twice_add_nothing(db_url: str) -> None:
    store = open_store(db_url)
    store.sync_feeds([FEED_A], NOW)
    items = [tagged(item(1), "taiwan"), tagged(item(2))]
    assert store_feed(store, FEED_A, items) == (2, 0)
    assert store_feed(store, FEED_A, items) == (0, 2)
    assert store.article_count() == 2


def test_one_story_two_feeds_is_one_article_two_sightings(db_url: str) -> None:
    store = open_store(db_url)
    store.sync_feeds([FEED_A, FEED_B], NOW)
    store_feed(store, FEED_A, [tagged(item(1), "talks")])
    assert store_feed(store, FEED_B, [tagged(item(1), "talks")]) == (0, 1)
    health = queries.feed_health(db_url).set_index("id")
    assert health.loc["feed-a", "articles"] == 1 and health.loc["feed-b", "articles"] == 1
    # Filtering by the second feed still finds the article it carried.
    frame = queries.articles_frame(db_url, queries.Filters(sources=("feed-b",)))
    assert list(frame["id"]) == [item(1).id]


def test_a_feed_whose_url_changed_starts_afresh(db_url: str) -> None:
    """The old address's validators would get a 304 from the new one, which would then never be read."""
    store = open_store(db_url)
    store.sync_feeds([FEED_A, FEED_B], NOW)
    store_feed(store, FEED_A, [tagged(item(1))], validators=Validators('"v1"', "Mon, 01 Jan 2024 00:00:00 GMT"))
    store_feed(store, FEED_B, [tagged(item(2))], validators=Validators('"b1"', None))
    for _ in range(3):
        store.record_error(FEED_B, "HTTP 404", status=404, now=NOW, next_poll=NOW + dt.timedelta(hours=6))
    moved_a = FeedSource("feed-a", "https://a.example/new-rss", name="Feed A")
    moved_b = FeedSource("feed-b", "https://b.example/fixed", name="Feed B", language="zh")
    store.sync_feeds([moved_a, moved_b], NOW)
    states = store.feed_states()
    assert states["feed-a"].validators == Validators(None, None)
    assert states["feed-b"].consecutive_failures == 0 and states["feed-b"].next_poll is None
    store_feed(store, moved_a, [tagged(item(3))], validators=Validators('"v2"', None))
    store.sync_feeds([moved_a], NOW)  # the same address again: nothing is reset
    assert store.feed_states()["feed-a"].validators == Validators('"v2"', None)


def test_duplicate_links_within_one_feed(db_url: str) -> None:
    store = open_store(db_url)
    store.sync_feeds([FEED_A], NOW)
    assert store_feed(store, FEED_A, [tagged(item(1)), tagged(item(1))]) == (1, 1)


def test_reads_return_utc_frames_with_topics_and_terms(db_url: str) -> None:
    store = open_store(db_url)
    store.sync_feeds([FEED_A], NOW)
    store_feed(store, FEED_A, [tagged(item(1, days_ago=1), "taiwan", "exercises"), tagged(item(2))])
    frame = queries.articles_frame(db_url)
    assert list(frame.columns) == queries.ARTICLE_COLUMNS
    assert isinstance(frame["published"].dtype, pd.DatetimeTZDtype)
    assert str(frame["published"].dt.tz) == "UTC"
    assert frame.iloc[0]["id"] == item(2).id  # newest first
    row = frame.set_index("id").loc[item(1).id]
    assert row["topics"] == "exercises;taiwan"
    assert row["terms"] == "exercises: term-exercises; taiwan: term-taiwan"
    assert row["source_name"] == "Feed A"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (queries.Filters(), {1, 2, 3}),
        (queries.Filters(topics=("taiwan",)), {1}),
        (queries.Filters(topics=("taiwan", "talks")), {1, 3}),
        (queries.Filters(since=(NOW - dt.timedelta(days=5)).date()), {1, 2}),
        (queries.Filters(until=(NOW - dt.timedelta(days=5)).date()), {3}),
        (queries.Filters(language="zh"), {2}),
        (queries.Filters(sources=("feed-b",)), {2}),
        (queries.Filters(text="TITLE 3"), {3}),
        (queries.Filters(text="100%"), set()),
    ],
)
def test_filters(db_url: str, filters: queries.Filters, expected: set[int]) -> None:
    store = open_store(db_url)
    store.sync_feeds([FEED_A, FEED_B], NOW)
    store_feed(store, FEED_A, [tagged(item(1), "taiwan"), tagged(item(3, days_ago=30), "talks")])
    store_feed(store, FEED_B, [tagged(item(2, days_ago=2, language="zh"))])
    frame = queries.articles_frame(db_url, filters)
    assert {int(i) for i in frame["id"]} == expected
    assert queries.count_articles(db_url, filters) == len(expected)


def test_errors_are_recorded_and_success_resets(db_url: str) -> None:
    store = open_store(db_url)
    store.sync_feeds([FEED_A], NOW)
    for n in (1, 2):
        store.record_error(FEED_A, "HTTP 503 Service Unavailable", status=503, now=NOW, next_poll=NOW)
        assert store.feed_states()["feed-a"].consecutive_failures == n
    health = queries.feed_health(db_url).iloc[0]
    assert health["last_error"] == "HTTP 503 Service Unavailable" and health["http_status"] == 503
    assert pd.isna(health["last_success"])
    store_feed(store, FEED_A, [tagged(item(1))], validators=Validators('"etag-1"', "Wed, 22 May 2024 10:00:00 GMT"))
    state = store.feed_states()["feed-a"]
    assert state.consecutive_failures == 0
    assert state.validators == Validators('"etag-1"', "Wed, 22 May 2024 10:00:00 GMT")
    assert pd.isna(queries.feed_health(db_url).iloc[0]["last_error"])


def test_data_version_moves_on_every_write(db_url: str) -> None:
    store = open_store(db_url)
    before = queries.data_version(db_url)
    store.sync_feeds([FEED_A], NOW)
    after_sync = queries.data_version(db_url)
    store_feed(store, FEED_A, [tagged(item(1))])
    assert before < after_sync < queries.data_version(db_url)


def test_retag_replaces_only_stale_tags(db_url: str) -> None:
    store = open_store(db_url)
    store.sync_feeds([FEED_A], NOW)
    store_feed(store, FEED_A, [tagged(item(1), "taiwan"), tagged(item(2))], version="v1")

    def tag(title: str, summary: str, language: str):
        return [("talks", ("new-rule",))] if title == "Title 2" else [("taiwan", ("term-taiwan",))]

    assert store.retag(tag, "v2", batch=1) == (2, 1)
    frame = queries.articles_frame(db_url).set_index("id")
    assert frame.loc[item(2).id, "topics"] == "talks"
    assert frame.loc[item(1).id, "topics"] == "taiwan"
    with store.engine.connect() as conn:
        versions = {v for (v,) in conn.exec_driver_sql("SELECT taxonomy_version FROM article_topics")}
        terms = json.loads(conn.exec_driver_sql("SELECT terms FROM article_topics WHERE topic='talks'").scalar())
    assert versions == {"v2"} and terms == ["new-rule"]
    assert store.retag(tag, "v2") == (2, 0)  # nothing stale any more


def test_naive_datetimes_are_refused(db_url: str) -> None:
    store = open_store(db_url)
    with pytest.raises(StoreError, match="naive datetime"):
        store.sync_feeds([FEED_A], NOW.replace(tzinfo=None))


def test_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        open_store(str(tmp_path))


def test_garbage_file_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite at all, just some bytes " * 200)
    with pytest.raises(StoreError, match="not a SQLite database"):
        open_store(str(path))


def test_missing_store_for_reading(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no tracker database here yet"):
        open_store(str(tmp_path / "new.sqlite"), upgrade=False)


def test_store_stats(db_url: str) -> None:
    store = open_store(db_url)
    store.sync_feeds([FEED_A, FEED_B], NOW)
    store_feed(store, FEED_A, [tagged(item(1), "taiwan", "talks"), tagged(item(2))])
    store.record_error(FEED_B, "boom", status=None, now=NOW, next_poll=NOW)
    stats = queries.store_stats(db_url)
    assert stats["articles"] == 2 and stats["untagged"] == 1
    assert stats["topics"] == {"taiwan": 1, "talks": 1}
    assert stats["feeds"] == 2 and stats["failing_feeds"] == 1
    assert stats["demo"] is False


def test_claims_take_due_feeds_once(db_url: str) -> None:
    store = open_store(db_url)
    fresh, healthy, backing_off, due_again = (FeedSource(f"f{i}", f"https://{i}.example/rss") for i in range(4))
    store.sync_feeds([fresh, healthy, backing_off, due_again], NOW)
    later = NOW + dt.timedelta(minutes=10)
    store_feed(store, healthy, [])  # next poll in 15 minutes
    store.record_error(backing_off, "HTTP 500", status=500, now=NOW, next_poll=NOW + dt.timedelta(hours=1))
    store.record_error(due_again, "HTTP 500", status=500, now=NOW, next_poll=NOW + dt.timedelta(minutes=5))
    ids = ["f0", "f1", "f2", "f3"]

    def claim(worker: str, **kw: object) -> list[str]:
        return store.claim_feeds(ids, worker=worker, now=later, lease_seconds=60, **kw)  # type: ignore[arg-type]

    # A watcher takes only what is due; a second watcher finds nothing left while the lease holds.
    assert claim("a", respect_schedule=True) == ["f0", "f3"]
    assert claim("b", respect_schedule=True) == []
    # A one-off poll also takes healthy feeds early, but never one backing off, nor one leased.
    assert claim("b", respect_schedule=False) == ["f1"]
    assert claim("c", respect_schedule=False, force=True) == ["f2"]
    # Released or expired claims are free again.
    store.release_feeds(["f0"], worker="a")
    assert claim("d", respect_schedule=True) == ["f0"]
    expired = later + dt.timedelta(seconds=61)
    assert store.claim_feeds(ids, worker="e", now=expired, lease_seconds=60, respect_schedule=True) == ["f0", "f3"]
