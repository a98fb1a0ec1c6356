"""Stories in the store: clustering through the real poller, order independence, and the story
tables kept in step with retagging and pruning."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3

from tracker import config, poller, sources, store_stories
from tracker.config import Settings
from tracker.store import open_store

DEMO = sources.load_sources(config.DEMO_DIR / "feeds.toml")


def snapshot(db: str) -> tuple[list[tuple], list[tuple]]:
    with sqlite3.connect(db) as conn:
        stories = conn.execute("SELECT id, first_seen, headline, articles, outlets, topics FROM stories "
                               "ORDER BY id").fetchall()
        members = conn.execute("SELECT id, story_id FROM articles ORDER BY id").fetchall()
    return stories, members


def direct_story_counts(db: str) -> dict:
    with sqlite3.connect(db) as conn:
        counts = {(d, "*"): n for d, n in conn.execute("SELECT date(first_seen), count(*) FROM stories GROUP BY 1")}
        counts.update({(d, t): n for d, t, n in conn.execute(
            "SELECT date(first_seen), topic, count(*) FROM story_topics GROUP BY 1, 2")})
        counts.update({(d, "+"): n for d, n in conn.execute(
            "SELECT date(first_seen), count(DISTINCT story_id) FROM story_topics GROUP BY 1")})
        rolled = {(d, t): n for d, t, n in conn.execute("SELECT day, topic, stories FROM daily_story_counts")}
    return {"direct": counts, "rolled": rolled}


def build(db: str, batches: list[list]) -> None:
    store = open_store(db)
    for batch in batches:
        poller.poll(store, batch, settings=Settings(db=db), force=True, demo=True)


def test_same_stories_whatever_the_order(tmp_path) -> None:
    all_at_once = str(tmp_path / "a.sqlite")
    build(all_at_once, [list(DEMO)])
    expected = snapshot(all_at_once)
    assert len(expected[0]) < len(expected[1])  # some stories were carried by several outlets
    for seed in (1, 2):
        shuffled = list(DEMO)
        random.Random(seed).shuffle(shuffled)
        one_by_one = str(tmp_path / f"b{seed}.sqlite")
        build(one_by_one, [[s] for s in shuffled])
        assert snapshot(one_by_one) == expected


def test_story_rows_and_rollup_agree(tmp_path) -> None:
    db = str(tmp_path / "s.sqlite")
    build(db, [list(DEMO)])
    counts = direct_story_counts(db)
    assert counts["rolled"] == counts["direct"]
    with sqlite3.connect(db) as conn:
        (pending,) = conn.execute("SELECT count(*) FROM articles WHERE story_id IS NULL").fetchone()
        bad = conn.execute("SELECT s.id FROM stories s JOIN articles a ON a.story_id = s.id GROUP BY s.id "
                           "HAVING count(*) != max(s.articles)").fetchall()
    assert pending == 0 and bad == []


def test_pending_articles_are_picked_up(tmp_path) -> None:
    db = str(tmp_path / "p.sqlite")
    build(db, [list(DEMO)])
    expected = snapshot(db)
    with sqlite3.connect(db) as conn:  # as if a poll died after storing articles, before clustering
        conn.execute("UPDATE articles SET story_id = NULL WHERE published >= '2024-01-01'")
        conn.execute("DELETE FROM story_topics WHERE first_seen >= '2024-01-01'")
        conn.execute("DELETE FROM stories WHERE first_seen >= '2024-01-01'")
    assert store_stories.cluster_pending(open_store(db), batch=50) > 0
    assert snapshot(db) == expected


def test_retag_and_prune_keep_stories_in_step(tmp_path) -> None:
    db = str(tmp_path / "r.sqlite")
    build(db, [list(DEMO)])
    store = open_store(db)
    store.retag(lambda title, summary, language: [("talks", ("x",))] if "Xi" in title else [], "v-test")
    with sqlite3.connect(db) as conn:
        topics = {t for (t,) in conn.execute("SELECT DISTINCT topic FROM story_topics")}
        rows = conn.execute("SELECT s.topics, group_concat(a.title, '|') FROM stories s "
                            "JOIN articles a ON a.story_id = s.id GROUP BY s.id").fetchall()
    assert topics == {"talks"}
    assert all((story_topics == "talks") == ("Xi" in titles) for story_topics, titles in rows)
    counts = direct_story_counts(db)
    assert counts["rolled"] == counts["direct"]
    store.prune(dt.date(2024, 1, 1))
    with sqlite3.connect(db) as conn:
        (old,) = conn.execute("SELECT count(*) FROM stories WHERE first_seen < '2024-01-01'").fetchone()
        orphans = conn.execute("SELECT count(*) FROM stories s WHERE NOT EXISTS "
                               "(SELECT 1 FROM articles a WHERE a.story_id = s.id)").fetchone()
    assert old == 0 and orphans == (0,)
    counts = direct_story_counts(db)
    assert counts["rolled"] == counts["direct"]


def test_a_windowed_index_reads_its_first_days_as_the_whole_one_does(demo_db: str) -> None:
    import numpy as np

    from tracker import story_queries
    from tracker.queries import Filters

    whole = story_queries.tension_index(demo_db, Filters())
    since = dt.date(2026, 11, 1)
    window = story_queries.tension_index(demo_db, Filters(since=since))
    assert window["day"].min().date() == since and set(window["base_from"]) == {since}
    merged = window.merge(whole, on=["day", "topic"], suffixes=("", "_whole"))
    assert len(merged) == len(window)
    # Shares are the same days' whatever the window; only the rebasing (the window's mean) differs.
    assert np.allclose(merged["share"], merged["share_whole"], equal_nan=True)
    assert not np.allclose(merged["index"], merged["index_whole"], equal_nan=True)


def test_the_timelines_stories_are_the_tagged_ones(demo_db: str) -> None:
    from tracker import story_queries

    every = story_queries.stories_frame(demo_db)
    tagged = story_queries.stories_frame(demo_db, tagged=True)
    with sqlite3.connect(demo_db) as conn:
        expected = {row[0] for row in conn.execute("SELECT DISTINCT story_id FROM story_topics")}
    assert set(tagged["id"]) == expected and len(tagged) < len(every)
    assert (tagged["topics"].str.len() > 0).all()


def _publish(store, source, day: dt.datetime, count: int, first: int, *topics: str) -> None:
    from tracker.models import ParsedFeed, ParsedItem, TaggedItem, TopicMatch, Validators

    items = [ParsedItem(id=f"{first + k:040x}", title=f"{source.id} report number {first + k}",
                        summary=f"Body {first + k}", link=f"https://{source.id}.example/{first + k}", guid=None,
                        published=day + dt.timedelta(minutes=10 * k), published_is_fallback=False, language="en")
             for k in range(count)]
    tagged = [TaggedItem(it, tuple(TopicMatch(t, ("term",)) for t in topics)) for it in items]
    store.record_update(source, ParsedFeed(source, source.label, tuple(items)), tagged, status=200,
                        validators=Validators(), taxonomy_version="t", now=day, next_poll=day)


def test_a_spike_must_stand_among_outlets_collected_through_its_baseline(db_url: str) -> None:
    """A feed that starts carrying a topic the others did not is the feed list changing, not the topic
    rising; the same burst from an outlet collected all along is a spike."""
    from tracker import story_queries
    from tracker.models import FeedSource
    from tracker.queries import Filters

    db = db_url
    store = open_store(db)
    steady, newcomer = (FeedSource(i, f"https://{i}.example/rss", name=i.title()) for i in ("steady", "newcomer"))
    store.sync_feeds([steady, newcomer], dt.datetime(2024, 3, 1, tzinfo=dt.UTC))
    start = dt.datetime(2024, 3, 1, 6, tzinfo=dt.UTC)
    for day in range(40):  # ten untagged stories a day from one outlet, and one on Taiwan
        _publish(store, steady, start + dt.timedelta(days=day), 10, 1000 * day)
        _publish(store, steady, start + dt.timedelta(days=day, hours=3), 1, 1000 * day + 500, "taiwan")
    _publish(store, newcomer, start + dt.timedelta(days=34), 2, 90_000)  # a new feed's first items
    _publish(store, newcomer, start + dt.timedelta(days=35), 6, 91_000, "taiwan")
    store_stories.cluster_pending(store)
    assert story_queries.spikes(db, Filters()).empty
    _publish(store, steady, start + dt.timedelta(days=38), 6, 92_000, "taiwan")
    store_stories.cluster_pending(store)
    found = story_queries.spikes(db, Filters())
    spiked = [(d.date(), t) for d, t in zip(found["day"], found["topic"], strict=True)]
    assert spiked == [(dt.date(2024, 4, 8), "taiwan")]
