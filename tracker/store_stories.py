"""The store side of stories: cluster pending articles and keep the story tables and their
daily rollup in step. Part of the store (it writes); the decisions live in stories.py.

Articles arrive with story_id NULL. `cluster_pending` takes them in batches, loads the
already-clustered articles within the story window around them, lets stories.assign_stories
decide, and applies the result in one transaction per batch: an interrupted run leaves every
article either clustered or pending, and the next run carries on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, literal, select, update

from tracker import stories
from tracker.schema import (
    ALL_TOPICS,
    ANY_TOPIC,
    BATCH,
    article_topics,
    articles,
    daily_story_counts,
    feeds,
    sightings,
    story_topics,
)
from tracker.schema import stories as stories_table
from tracker.store import Store, _bump

PENDING_BATCH = 20_000  # articles per transaction; a poll of 200 feeds fits in one


def _story_articles(conn: Connection, condition: Any) -> list[stories.StoryArticle]:
    rows = conn.execute(select(articles.c.num, articles.c.id, articles.c.title, articles.c.summary,
                               articles.c.link, articles.c.published, articles.c.source_id, articles.c.language,
                               articles.c.story_id).where(condition).order_by(articles.c.published)).all()
    topics: dict[int, list[str]] = {}
    nums = [r.num for r in rows]
    for start in range(0, len(nums), BATCH):
        chunk = nums[start:start + BATCH]
        for num, topic in conn.execute(select(article_topics.c.article_num, article_topics.c.topic)
                                       .where(article_topics.c.article_num.in_(chunk))):
            topics.setdefault(num, []).append(topic)
    return [stories.StoryArticle(id=r.id, title=r.title, summary=r.summary, link=r.link, published=r.published,
                                 source_id=r.source_id, language=r.language,
                                 topics=tuple(sorted(topics.get(r.num, ()))), story_id=r.story_id) for r in rows]


def cluster_pending(store: Store, *, batch: int = PENDING_BATCH) -> int:
    """Put every pending article into a story. Returns how many articles were clustered."""
    done = 0
    while clustered := store.write(lambda conn: _cluster_batch(conn, batch)):
        done += clustered
    return done


def _cluster_batch(conn: Connection, batch: int) -> int:
    """Cluster up to ``batch`` pending articles, the earliest first; returns how many."""
    pending = _story_articles(conn, articles.c.num.in_(
        select(articles.c.num).where(articles.c.story_id.is_(None))
        .order_by(articles.c.published, articles.c.id).limit(batch)))
    if not pending:
        return 0
    low = min(a.published for a in pending) - stories.WINDOW
    high = max(a.published for a in pending) + stories.WINDOW
    nearby = _story_articles(conn, and_(articles.c.story_id.is_not(None),
                                        articles.c.published.between(low, high)))
    _apply(conn, nearby, stories.assign_stories(nearby, pending))
    _bump(conn)
    return len(pending)


def _apply(conn: Connection, nearby: Sequence[stories.StoryArticle], assignment: dict[str, str]) -> None:
    renames = stories.story_renames(nearby, assignment)
    # Rename whole stories first: members outside the loaded window follow their story.
    for old, new in renames.items():
        conn.execute(update(articles).where(articles.c.story_id == old).values(story_id=new))
    conn.execute(update(articles).where(articles.c.id == bindparam("aid")).values(story_id=bindparam("sid")),
                 [{"aid": a, "sid": s} for a, s in assignment.items()])
    touched = set(assignment.values()) | set(renames.values())
    _rebuild_stories(conn, touched, gone=set(renames))


def rebuild(conn: Connection, story_ids: set[str]) -> None:
    """Recompute these stories from their current members (after retagging or pruning)."""
    if story_ids:
        _rebuild_stories(conn, set(story_ids), gone=set())


def _rebuild_stories(conn: Connection, story_ids: set[str], gone: set[str]) -> None:
    """Recompute the story rows (and the daily counts of their days) for these stories;
    ``gone`` are ids that no longer name a story."""
    old_days = _first_days(conn, story_ids | gone)
    ids = sorted(story_ids | gone)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        conn.execute(story_topics.delete().where(story_topics.c.story_id.in_(chunk)))
        conn.execute(stories_table.delete().where(stories_table.c.id.in_(chunk)))
    members: list[stories.StoryArticle] = []
    wanted = sorted(story_ids)
    for start in range(0, len(wanted), BATCH):
        members += _story_articles(conn, articles.c.story_id.in_(wanted[start:start + BATCH]))
    built = stories.build_stories(members)
    outlets = _outlet_names(conn, {s.id: s.article_ids for s in built})
    if built:
        conn.execute(insert(stories_table), [
            {"id": s.id, "first_seen": s.first_seen, "last_seen": s.last_seen, "headline": s.headline,
             "articles": len(s.article_ids), "outlets": len(outlets[s.id]), "outlet_names": "; ".join(outlets[s.id]),
             "topics": ";".join(s.topics)} for s in built])
        topic_rows = [{"story_id": s.id, "topic": t, "first_seen": s.first_seen} for s in built for t in s.topics]
        if topic_rows:
            conn.execute(insert(story_topics), topic_rows)
    days = old_days | {s.first_seen.astimezone(dt.UTC).date() for s in built}
    recount_days(conn, days)


def _first_days(conn: Connection, story_ids: Iterable[str]) -> set[dt.date]:
    ids, days = sorted(story_ids), set()
    for start in range(0, len(ids), BATCH):
        for (first,) in conn.execute(select(stories_table.c.first_seen)
                                     .where(stories_table.c.id.in_(ids[start:start + BATCH]))):
            days.add(first.astimezone(dt.UTC).date())
    return days


def _outlet_names(conn: Connection, members: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """Every feed that carried any of a story's articles, by name, in order of first sighting."""
    story_of = {a: s for s, ids in members.items() for a in ids}
    names: dict[str, list[str]] = {s: [] for s in members}
    ids = list(story_of)
    for start in range(0, len(ids), BATCH):
        stmt = (select(articles.c.id, func.coalesce(feeds.c.name, sightings.c.feed_id))
                .select_from(sightings.join(articles, articles.c.num == sightings.c.article_num)
                             .outerjoin(feeds, feeds.c.id == sightings.c.feed_id))
                .where(articles.c.id.in_(ids[start:start + BATCH])).order_by(sightings.c.seen_at))
        for article_id, name in conn.execute(stmt):
            found = names[story_of[article_id]]
            if name not in found:
                found.append(name)
    return names


def recount_days(conn: Connection, days: set[dt.date]) -> None:
    """Recompute daily_story_counts for the days from the first to the last of ``days``."""
    if not days:
        return
    first, last = min(days), max(days)
    start = dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC)
    end = dt.datetime(last.year, last.month, last.day, tzinfo=dt.UTC) + dt.timedelta(days=1)
    conn.execute(daily_story_counts.delete().where(daily_story_counts.c.day.between(first, last)))
    day = func.date(stories_table.c.first_seen)
    conn.execute(insert(daily_story_counts).from_select(
        ["day", "topic", "stories"],
        select(day, literal(ALL_TOPICS), func.count()).where(stories_table.c.first_seen >= start,
                                                             stories_table.c.first_seen < end).group_by(day)))
    topic_day = func.date(story_topics.c.first_seen)
    in_range = (story_topics.c.first_seen >= start, story_topics.c.first_seen < end)
    conn.execute(insert(daily_story_counts).from_select(
        ["day", "topic", "stories"],
        select(topic_day, story_topics.c.topic, func.count()).where(*in_range)
        .group_by(topic_day, story_topics.c.topic)))
    conn.execute(insert(daily_story_counts).from_select(
        ["day", "topic", "stories"],
        select(topic_day, literal(ANY_TOPIC), func.count(func.distinct(story_topics.c.story_id)))
        .where(*in_range).group_by(topic_day)))
