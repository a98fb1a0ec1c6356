"""Rollups must always agree with a direct count over the articles: after ingest, retag and deletion."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3

import pytest

from tracker.models import FeedSource, ParsedFeed, ParsedItem, TaggedItem, TopicMatch, Validators
from tracker.schema import SCHEMA_VERSION
from tracker.store import Store, open_store

TOPICS = ["taiwan", "talks", "hypersonics", "arms_control"]
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def direct(db: str) -> tuple[dict, dict]:
    with sqlite3.connect(db) as conn:
        daily = {(d, lang, "*"): n for d, lang, n in conn.execute(
            "SELECT date(published), language, count(*) FROM articles GROUP BY 1, 2")}
        daily.update({(d, lang, t): n for d, lang, t, n in conn.execute(
            "SELECT date(t.published), a.language, t.topic, count(*) FROM article_topics t "
            "JOIN articles a ON a.num = t.article_num GROUP BY 1, 2, 3")})
        feeds = {(d, f, "*"): n for d, f, n in conn.execute(
            "SELECT date(a.published), s.feed_id, count(*) FROM sightings s JOIN articles a ON a.num = s.article_num "
            "GROUP BY 1, 2")}
        feeds.update({(d, f, t): n for d, f, t, n in conn.execute(
            "SELECT date(t.published), s.feed_id, t.topic, count(*) FROM sightings s "
            "JOIN article_topics t ON t.article_num = s.article_num GROUP BY 1, 2, 3")})
    return daily, feeds


def rolled(db: str) -> tuple[dict, dict]:
    with sqlite3.connect(db) as conn:
        daily = {(d, lang, t): n for d, lang, t, n in conn.execute(
            "SELECT day, language, topic, articles FROM daily_counts")}
        feeds = {(d, f, t): n for d, f, t, n in conn.execute(
            "SELECT day, feed_id, topic, articles FROM feed_daily_counts")}
    return daily, feeds


def random_batch(rng: random.Random, n: int, pool: int) -> list[TaggedItem]:
    items = []
    for _ in range(n):
        k = rng.randrange(pool)  # ids repeat across feeds and polls on purpose
        published = NOW - dt.timedelta(days=k % 40, hours=k % 23)
        item = ParsedItem(id=f"{k:040d}", title=f"t{k}", summary="", link=None, guid=None, published=published,
                          published_is_fallback=False, language="zh" if k % 5 == 0 else "en")
        topics = tuple(TopicMatch(t, (t,)) for i, t in enumerate(TOPICS) if (k >> i) & 1)
        items.append(TaggedItem(item, topics))
    return items


def ingest(store, rng: random.Random, feeds: list[FeedSource], rounds: int) -> None:
    for _ in range(rounds):
        source = rng.choice(feeds)
        batch = random_batch(rng, rng.randrange(1, 40), 300)
        store.record_update(source, ParsedFeed(source, "", tuple(t.item for t in batch)), batch, status=200,
                            validators=Validators(), taxonomy_version="v1", now=NOW, next_poll=NOW)


@pytest.fixture
def filled(db_path: str):
    store = open_store(db_path)
    feeds = [FeedSource(f"f{i}", f"https://f{i}.example/rss") for i in range(4)]
    store.sync_feeds(feeds, NOW)
    ingest(store, random.Random(1), feeds, 60)
    return store


def test_rollups_agree_after_ingest(filled) -> None:
    assert rolled(filled.location) == direct(filled.location)
    assert sum(n for (d, lang, t), n in rolled(filled.location)[0].items() if t == "*") == filled.article_count()


def test_rollups_agree_after_retag(filled) -> None:
    def retagger(title: str, summary: str, language: str):
        k = int(title[1:])
        return [("talks", ("x",))] if k % 3 == 0 else [("taiwan", ("y",)), ("exercises", ("z",))] if k % 3 == 1 else []

    checked, changed = filled.retag(retagger, "v2", batch=37)
    assert checked == filled.article_count() and changed > 0
    assert rolled(filled.location) == direct(filled.location)
    topics = {t for (_, _, t) in rolled(filled.location)[0]}
    assert "hypersonics" not in topics and "exercises" in topics


def test_rollups_agree_after_prune(filled) -> None:
    before = filled.article_count()
    deleted = filled.prune((NOW - dt.timedelta(days=20)).date())
    assert 0 < deleted < before and filled.article_count() == before - deleted
    assert rolled(filled.location) == direct(filled.location)


def test_migration_backfills_rollups(db_path: str, filled) -> None:
    # Pretend the store predates the rollups: drop them and step the version back.
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TABLE daily_counts")
        conn.execute("DROP TABLE feed_daily_counts")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    assert Store(db_path).upgrade() == (1, SCHEMA_VERSION)
    assert rolled(db_path) == direct(db_path)
