"""The read side for stories and the tension index: a Filters value in, DataFrames out."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pandas as pd
from sqlalchemy import Select, and_, func, literal, select

from tracker import index
from tracker.queries import Filters, _day_start, _utc, article_conditions, uses_rollups
from tracker.schema import ALL_TOPICS, ANY_TOPIC, articles, daily_story_counts, feed_daily_counts, story_topics
from tracker.schema import stories as stories_table
from tracker.store import Store

STORY_COLUMNS = ["id", "first_seen", "last_seen", "headline", "articles", "outlets", "outlet_names", "topics"]
# Shaped like charts.timeline_figure wants: published = the story's first article, title = its headline.
POINT_COLUMNS = ["id", "published", "topic", "title", "outlets", "outlet_names", "articles"]


def _story_conditions(filters: Filters, first_seen: Any) -> list[Any]:
    """Conditions on a stories-like table: its first article's day in range, and (when the
    article-level filters are set) at least one member article matching them."""
    conds: list[Any] = []
    if filters.since:
        conds.append(first_seen >= _day_start(filters.since))
    if filters.until:
        conds.append(first_seen < _day_start(filters.until) + pd.Timedelta(days=1).to_pytimedelta())
    member = article_conditions(Filters(sources=filters.sources, language=filters.language, text=filters.text))
    if member:
        conds.append(stories_table.c.id.in_(select(articles.c.story_id).where(and_(*member))))
    return conds


def _with_topics(stmt: Select[Any], filters: Filters) -> Select[Any]:
    if filters.topics:
        stmt = stmt.where(stories_table.c.id.in_(
            select(story_topics.c.story_id).where(story_topics.c.topic.in_(filters.topics))))
    return stmt


def story_points(location: str, filters: Filters, *, limit: int = 3000) -> tuple[pd.DataFrame, int]:
    """One row per (story, topic) for tagged stories, newest first, at most ``limit``; and the total.

    ``outlets`` counts the feeds that carried any of the story's articles.
    """
    source = story_topics.join(stories_table, stories_table.c.id == story_topics.c.story_id)
    conds = _story_conditions(filters, story_topics.c.first_seen)
    if filters.topics:
        conds.append(story_topics.c.topic.in_(filters.topics))
    stmt = (select(stories_table.c.id, stories_table.c.first_seen, story_topics.c.topic, stories_table.c.headline,
                   stories_table.c.outlets, stories_table.c.outlet_names, stories_table.c.articles)
            .select_from(source).where(*conds)
            .order_by(story_topics.c.first_seen.desc(), stories_table.c.id, story_topics.c.topic).limit(limit))
    with Store(location).transaction(write=False) as conn:
        total = conn.execute(select(func.count()).select_from(source).where(*conds)).scalar() or 0
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=POINT_COLUMNS)
    return _utc(frame, "published"), int(total)


def stories_frame(location: str, filters: Filters = Filters(), *, ids: tuple[str, ...] = (),
                  limit: int | None = None, tagged: bool = False) -> pd.DataFrame:
    """Stories matching the filters (or exactly ``ids``), newest first; with ``tagged``, only those
    carrying a topic (the Timeline's)."""
    stmt = select(*[stories_table.c[c] for c in STORY_COLUMNS]).where(
        *_story_conditions(filters, stories_table.c.first_seen))
    if tagged and not filters.topics:
        stmt = stmt.where(stories_table.c.id.in_(select(story_topics.c.story_id)))
    stmt = _with_topics(stmt, filters).order_by(stories_table.c.first_seen.desc(), stories_table.c.id)
    if ids:
        stmt = stmt.where(stories_table.c.id.in_(ids))
    if limit is not None:
        stmt = stmt.limit(limit)
    with Store(location).transaction(write=False) as conn:
        rows = conn.execute(stmt).all()
    return _utc(pd.DataFrame([tuple(r) for r in rows], columns=STORY_COLUMNS), "first_seen", "last_seen")


def story_counts_by_day(location: str, filters: Filters) -> pd.DataFrame:
    """Stories per topic per UTC day of their first article: columns day, topic, stories.

    Also a row per day with topic index.TOTAL: the stories carrying any topic, whichever topics are
    selected (each story once), so "Any topic" means the same under every filter.
    """
    statements: list[Select[Any]] = []
    if uses_rollups(filters) and not filters.language:
        stmt = (select(daily_story_counts.c.day, daily_story_counts.c.topic, daily_story_counts.c.stories)
                .where(daily_story_counts.c.topic != ALL_TOPICS, *_day_range(filters)))
        if filters.topics:
            stmt = stmt.where(daily_story_counts.c.topic.in_((*filters.topics, ANY_TOPIC)))
        statements.append(stmt)
    else:
        day = func.date(story_topics.c.first_seen)
        joined = story_topics.join(stories_table, stories_table.c.id == story_topics.c.story_id)
        conds = _story_conditions(filters, story_topics.c.first_seen)
        stmt = select(day, story_topics.c.topic, func.count()).select_from(joined).where(*conds)
        if filters.topics:
            stmt = stmt.where(story_topics.c.topic.in_(filters.topics))
        statements.append(stmt.group_by(day, story_topics.c.topic))
        statements.append(select(day, literal(ANY_TOPIC), func.count(func.distinct(story_topics.c.story_id)))
                          .select_from(joined).where(*conds).group_by(day))
    with Store(location).transaction(write=False) as conn:
        rows = [tuple(r) for stmt in statements for r in conn.execute(stmt)]
        frame = pd.DataFrame(rows, columns=["day", "topic", "stories"])
    frame["topic"] = frame["topic"].replace({ANY_TOPIC: index.TOTAL})
    frame["stories"] = frame["stories"].astype(int)
    return _utc(frame, "day").sort_values(["day", "topic"], ignore_index=True)


def story_totals_by_day(location: str, filters: Filters) -> pd.DataFrame:
    """All stories per UTC day of their first article (``Filters.collected``: topics and words aside):
    columns day, stories."""
    filters = filters.collected()
    if uses_rollups(filters) and not filters.language:
        stmt = (select(daily_story_counts.c.day, daily_story_counts.c.stories)
                .where(daily_story_counts.c.topic == ALL_TOPICS, *_day_range(filters)))
    else:
        day = func.date(stories_table.c.first_seen)
        stmt = select(day, func.count()).where(*_story_conditions(filters, stories_table.c.first_seen)).group_by(day)
    with Store(location).transaction(write=False) as conn:
        frame = pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=["day", "stories"])
    frame["stories"] = frame["stories"].astype(int)
    return _utc(frame, "day").sort_values("day", ignore_index=True)


def _day_range(filters: Filters) -> list[Any]:
    conds: list[Any] = []
    if filters.since:
        conds.append(daily_story_counts.c.day >= filters.since)
    if filters.until:
        conds.append(daily_story_counts.c.day <= filters.until)
    return conds


def _from_earlier(filters: Filters, days: int) -> Filters:
    return replace(filters, since=filters.since - dt.timedelta(days=days)) if filters.since and days else filters


def tension_index(location: str, filters: Filters, *, smoothing_days: int = 7, thin: bool = True) -> pd.DataFrame:
    """The daily index per topic (see index.daily_index), rebased over the filtered window. The days
    before the window that its first days' trailing shares cover are read too, so the first day of a
    window reads as it does in a longer one (before its rebasing). Thin collection is judged against
    the store's whole history in the same outlets and language, so a reading is left out or not
    whatever window is shown; ``thin=False`` keeps every reading."""
    wider = _from_earlier(filters, smoothing_days - 1)
    typical = (index.typical_collection(story_totals_by_day(location, replace(filters, since=None, until=None)),
                                        smoothing_days) if thin else None)
    return index.daily_index(story_counts_by_day(location, wider), story_totals_by_day(location, wider),
                             smoothing_days=smoothing_days, report_from=filters.since, typical_per_day=typical,
                             thin=index.THIN_COLLECTION if thin else 0.0)


def tension_index_by(location: str, filters: Filters, bucket: str) -> pd.DataFrame:
    """The index smoothed over a bucket (7 days for days and weeks, 30 for months) and read at
    each bucket's last day: what the Overview draws. ``window_stories`` is each topic's number of
    stories in the whole window."""
    daily = tension_index(location, filters, smoothing_days=index.SMOOTHING_FOR_BUCKET[bucket])
    daily["window_stories"] = daily.groupby("topic")["stories"].transform("sum")  # for index.split_thin
    return index.sample_buckets(daily, bucket)


def spikes(location: str, filters: Filters) -> pd.DataFrame:
    """Spike days per topic in the filtered window: a day's share of stories against its
    trailing 30-day baseline (unsmoothed, so a burst is dated to its day)."""
    # A spike depends on its day and the 30 days before it, not on where the window starts: read
    # those days too (the baseline of a spike on the window's first day lies before it).
    # Every day's share, thin or not: a spike must not depend on the window shown, and its own guards
    # (50 stories in its baseline, the outlets collected all through it) judge the collection.
    daily = tension_index(location, _from_earlier(filters, index.SPIKE_WINDOW_DAYS), smoothing_days=1, thin=False)
    found = index.find_spikes(daily[daily["topic"] != index.TOTAL])
    if filters.since:
        found = found[found["day"] >= pd.Timestamp(filters.since, tz="UTC")]
    if not found.empty:
        with Store(location).transaction(write=False) as conn:
            steady = [index.holds_among_steady_outlets(row, *_steady_counts(conn, filters, row))
                      for _, row in found.iterrows()]
        found = found[steady]
    return found.sort_values("day", ascending=False, ignore_index=True)


def _steady_counts(conn: Any, filters: Filters, spike: pd.Series) -> tuple[int, int]:
    """The stories on the spike's topic, and all stories, first seen on its day that have an article
    from an outlet collected in both halves of its baseline (the 30 days before it)."""
    topic, start = spike["topic"], pd.Timestamp(spike["day"]).tz_convert("UTC").floor("D").to_pydatetime()
    half = dt.timedelta(days=index.SPIKE_WINDOW_DAYS // 2)

    def outlets(since: dt.datetime, until: dt.datetime) -> Select[Any]:  # from the per-feed daily rollup
        return select(feed_daily_counts.c.feed_id).where(
            feed_daily_counts.c.topic == ALL_TOPICS, feed_daily_counts.c.day >= since.date(),
            feed_daily_counts.c.day < until.date())

    steady = outlets(start - 2 * half, start - half).intersect(outlets(start - half, start)).subquery()
    # From the day's stories (few) to their articles, never from the outlets' articles (many).
    members = stories_table.join(articles, articles.c.story_id == stories_table.c.id)
    that_day = [stories_table.c.first_seen >= start, stories_table.c.first_seen < start + dt.timedelta(days=1),
                articles.c.source_id.in_(select(steady.c.feed_id))]
    collected = article_conditions(replace(filters.collected(), since=None, until=None))
    total = select(func.count(func.distinct(stories_table.c.id))).select_from(members).where(*that_day, *collected)
    matching = article_conditions(replace(filters, topics=(), since=None, until=None))
    on_topic = (select(func.count(func.distinct(stories_table.c.id)))
                .select_from(members.join(story_topics, story_topics.c.story_id == stories_table.c.id))
                .where(*that_day, *matching, story_topics.c.topic == topic,  # the day again, for its index
                       story_topics.c.first_seen >= start, story_topics.c.first_seen < start + dt.timedelta(days=1)))
    return int(conn.execute(on_topic).scalar() or 0), int(conn.execute(total).scalar() or 0)


def stories_on(location: str, topic: str, day: pd.Timestamp, filters: Filters = Filters(), *,
               limit: int = 20) -> pd.DataFrame:
    """The stories behind a spike: those carrying ``topic`` whose first article fell on ``day``, with a
    member article matching the outlet, language and search of ``filters`` (as the spike counted them)."""
    start = pd.Timestamp(day).tz_convert("UTC").floor("D").to_pydatetime()
    end = start + pd.Timedelta(days=1).to_pytimedelta()
    member = _story_conditions(replace(filters, topics=(), since=None, until=None), stories_table.c.first_seen)
    stmt = (select(*[stories_table.c[c] for c in STORY_COLUMNS])
            .select_from(stories_table.join(story_topics, story_topics.c.story_id == stories_table.c.id))
            .where(story_topics.c.topic == topic, story_topics.c.first_seen >= start, story_topics.c.first_seen < end,
                   *member)
            .order_by(stories_table.c.outlets.desc(), stories_table.c.first_seen).limit(limit))
    with Store(location).transaction(write=False) as conn:
        rows = conn.execute(stmt).all()
    return _utc(pd.DataFrame([tuple(r) for r in rows], columns=STORY_COLUMNS), "first_seen", "last_seen")
