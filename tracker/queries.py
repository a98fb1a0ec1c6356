"""The read side: a Filters value in, pandas DataFrames out.

Every function takes the database location (path or URL) and plain values, so the
app can cache results keyed on them. Datetime columns are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from sqlalchemy import Select, and_, exists, func, or_, select

from tracker import search
from tracker.schema import (
    ALL_TOPICS,
    BATCH,
    article_topics,
    articles,
    daily_counts,
    feed_daily_counts,
    feeds,
    meta,
    poll_runs,
    sightings,
)
from tracker.store import Store

ARTICLE_COLUMNS = ["id", "published", "published_is_fallback", "source", "source_name", "language",
                   "title", "link", "summary", "story_id", "topics", "terms"]


@dataclass(frozen=True)
class Filters:
    """What the user asked to see. Hashable, so cached reads can key on it.

    ``topics``: articles carrying any of these (empty = all articles).
    ``since``/``until``: inclusive UTC dates of publication.
    ``sources``: feed ids (empty = all). ``language``: e.g. "en" (None = all).
    ``text``: words and quoted phrases that must all appear in the title or summary (see
    tracker.search: at word starts, short words whole, any case).
    """

    topics: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    sources: tuple[str, ...] = ()
    language: str | None = None
    text: str = ""

    def without_topics(self) -> Filters:
        return replace(self, topics=())

    def collected(self) -> Filters:
        """What a share divides by: everything collected in the same days, outlets and language.
        Topics and words choose what is counted, not what it is counted out of: under a search for
        "Kinmen", Taiwan's share is Kinmen stories on Taiwan among all stories, never 100 %."""
        return replace(self, topics=(), text="")


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def article_conditions(filters: Filters) -> list[Any]:
    """WHERE conditions on `articles` for everything in Filters."""
    conds: list[Any] = []
    if filters.since:
        conds.append(articles.c.published >= _day_start(filters.since))
    if filters.until:
        conds.append(articles.c.published < _day_start(filters.until + dt.timedelta(days=1)))
    if filters.sources:
        # An article counts for every feed that carried it, not only the first.
        conds.append(or_(articles.c.source_id.in_(filters.sources),
                         exists().where(and_(sightings.c.article_num == articles.c.num,
                                             sightings.c.feed_id.in_(filters.sources)))))
    if filters.language:
        conds.append(articles.c.language == filters.language)
    conds += search.text_conditions(filters.text, (articles.c.title, articles.c.summary))
    if filters.topics:
        conds.append(exists().where(and_(article_topics.c.article_num == articles.c.num,
                                         article_topics.c.topic.in_(filters.topics))))
    return conds


def _filtered(stmt: Select[Any], filters: Filters) -> Select[Any]:
    conds = article_conditions(filters)
    return stmt.where(and_(*conds)) if conds else stmt


def uses_rollups(filters: Filters) -> bool:
    """Whether the daily rollups can answer: they know days, languages and topics, not text or feeds."""
    return not filters.text and not filters.sources


def _rollup_conditions(filters: Filters) -> list[Any]:
    conds: list[Any] = []
    if filters.since:
        conds.append(daily_counts.c.day >= filters.since)
    if filters.until:
        conds.append(daily_counts.c.day <= filters.until)
    if filters.language:
        conds.append(daily_counts.c.language == filters.language)
    return conds


def _utc(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def _count_statement(filters: Filters) -> Select[Any]:
    """The cheapest exact count: the rollup for all articles or one topic; the topic index for
    several topics (an article with two of them counts once); a scan only for text or outlets."""
    if uses_rollups(filters) and len(filters.topics) <= 1:
        return select(func.coalesce(func.sum(daily_counts.c.articles), 0)).where(
            daily_counts.c.topic == (filters.topics[0] if filters.topics else ALL_TOPICS),
            *_rollup_conditions(filters))
    if uses_rollups(filters):
        conds: list[Any] = [article_topics.c.topic.in_(filters.topics)]
        if filters.since:
            conds.append(article_topics.c.published >= _day_start(filters.since))
        if filters.until:
            conds.append(article_topics.c.published < _day_start(filters.until + dt.timedelta(days=1)))
        source: Any = article_topics
        if filters.language:
            source = article_topics.join(articles, articles.c.num == article_topics.c.article_num)
            conds.append(articles.c.language == filters.language)
        return select(func.count(func.distinct(article_topics.c.article_num))).select_from(source).where(*conds)
    return _filtered(select(func.count()).select_from(articles), filters)


def count_articles(location: str, filters: Filters = Filters()) -> int:
    """How many articles match (from the rollups when they can answer)."""
    with Store(location).transaction(write=False) as conn:
        return int(conn.execute(_count_statement(filters)).scalar() or 0)


def articles_frame(location: str, filters: Filters = Filters(), *, limit: int | None = None,
                   offset: int = 0, ids: tuple[str, ...] = (), story_ids: tuple[str, ...] = ()) -> pd.DataFrame:
    """Filtered articles (or exactly ``ids``, or the members of ``story_ids``), newest first, with
    their topics and matched terms.

    ``topics`` is the topic ids joined by ";"; ``terms`` maps each topic to its matched
    terms as "topic: term, term; topic: term".
    """
    stmt = _filtered(
        select(articles.c.num, articles.c.id, articles.c.published, articles.c.published_is_fallback,
               articles.c.source_id.label("source"), feeds.c.name.label("source_name"),
               articles.c.language, articles.c.title, articles.c.link, articles.c.summary, articles.c.story_id)
        .select_from(articles.outerjoin(feeds, feeds.c.id == articles.c.source_id)),
        filters).order_by(articles.c.published.desc(), articles.c.id)
    if ids:
        stmt = stmt.where(articles.c.id.in_(ids))
    if story_ids:
        stmt = stmt.where(articles.c.story_id.in_(story_ids))
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    with Store(location).transaction(write=False) as conn:
        rows = conn.execute(stmt).all()
        topic_map = _topics_for(conn, [r.num for r in rows])
    frame = pd.DataFrame([r._asdict() for r in rows], columns=ARTICLE_COLUMNS[:-2])
    found = [topic_map.get(r.num, []) for r in rows]
    frame["topics"] = [";".join(t for t, _ in topics) for topics in found]
    frame["terms"] = ["; ".join(f"{t}: {', '.join(terms)}" for t, terms in topics) for topics in found]
    frame["published_is_fallback"] = frame["published_is_fallback"].astype(bool)
    return _utc(frame, "published")


def _topics_for(conn: Any, nums: list[int]) -> dict[int, list[tuple[str, list[str]]]]:
    """Each article's topics with their matched terms, by articles.num."""
    found: dict[int, list[tuple[str, list[str]]]] = {}
    for start in range(0, len(nums), BATCH):
        stmt = (select(article_topics.c.article_num, article_topics.c.topic, article_topics.c.terms)
                .where(article_topics.c.article_num.in_(nums[start:start + BATCH]))
                .order_by(article_topics.c.article_num, article_topics.c.topic))
        for r in conn.execute(stmt):
            found.setdefault(r.article_num, []).append((r.topic, json.loads(r.terms)))
    return found


FEED_HEALTH_COLUMNS = ["id", "name", "url", "language", "tags", "last_attempt", "last_success",
                       "last_error", "http_status", "consecutive_failures", "next_poll", "articles", "newest"]


def feed_health(location: str) -> pd.DataFrame:
    """Every feed's health and how many articles it carried, worst first."""
    carried = (select(feed_daily_counts.c.feed_id, func.sum(feed_daily_counts.c.articles).label("articles"),
                      func.max(feed_daily_counts.c.day).label("newest"))
               .where(feed_daily_counts.c.topic == ALL_TOPICS).group_by(feed_daily_counts.c.feed_id).subquery())
    stmt = (select(feeds.c.id, feeds.c.name, feeds.c.url, feeds.c.language, feeds.c.tags,
                   feeds.c.last_attempt, feeds.c.last_success, feeds.c.last_error, feeds.c.http_status,
                   feeds.c.consecutive_failures, feeds.c.next_poll,
                   func.coalesce(carried.c.articles, 0).label("articles"), carried.c.newest)
            .select_from(feeds.outerjoin(carried, carried.c.feed_id == feeds.c.id))
            .order_by(feeds.c.consecutive_failures.desc(), feeds.c.id))
    with Store(location).transaction(write=False) as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([r._asdict() for r in rows], columns=FEED_HEALTH_COLUMNS)
    frame["http_status"] = frame["http_status"].astype("Int64")
    return _utc(frame, "last_attempt", "last_success", "next_poll")


def store_stats(location: str) -> dict[str, Any]:
    """Headline numbers about the store, for `tracker stats` and the app."""
    with Store(location).transaction(write=False) as conn:
        total = conn.execute(select(func.count()).select_from(articles)).scalar() or 0
        first, last = conn.execute(select(func.min(articles.c.published), func.max(articles.c.published))).one()
        per_topic: dict[str, int] = dict(conn.execute(select(article_topics.c.topic, func.count())
                                      .group_by(article_topics.c.topic).order_by(article_topics.c.topic)).all())
        per_language: dict[str, int] = dict(conn.execute(select(articles.c.language, func.count())
                                         .group_by(articles.c.language).order_by(articles.c.language)).all())
        n_feeds = conn.execute(select(func.count()).select_from(feeds)).scalar() or 0
        failing = conn.execute(select(func.count()).select_from(feeds)
                               .where(feeds.c.consecutive_failures > 0)).scalar() or 0
        last_poll = conn.execute(select(func.max(poll_runs.c.finished))).scalar()
        untagged = total - (conn.execute(select(func.count(func.distinct(article_topics.c.article_num))))
                            .scalar() or 0)
        demo = conn.execute(select(meta.c.value).where(meta.c.key == "demo")).scalar() == "1"
    return {"articles": int(total), "first_published": first, "last_published": last,
            "topics": {k: int(v) for k, v in per_topic.items()}, "untagged": int(untagged),
            "languages": {k: int(v) for k, v in per_language.items()}, "feeds": int(n_feeds),
            "failing_feeds": int(failing), "last_poll": last_poll, "demo": demo}


def data_version(location: str) -> int:
    """A number that changes whenever the store changes: a cheap cache key."""
    with Store(location).transaction(write=False) as conn:
        value = conn.execute(select(meta.c.value).where(meta.c.key == "data_version")).scalar()
    return int(value or 0)


def is_demo(location: str) -> bool:
    with Store(location).transaction(write=False) as conn:
        return conn.execute(select(meta.c.value).where(meta.c.key == "demo")).scalar() == "1"


# --- dashboard aggregates ---------------------------------------------------------------------

def _day(column: Any) -> Any:
    """The UTC calendar day of a timestamp column, on SQLite and PostgreSQL (sessions run in UTC)."""
    return func.date(column)


def window_summary(location: str, filters: Filters) -> dict[str, Any]:
    """Articles, outlets, and article counts per topic (the selected topics, or all) in the window."""
    with Store(location).transaction(write=False) as conn:  # one snapshot for all three figures
        return {"articles": int(conn.execute(_count_statement(filters)).scalar() or 0),
                "outlets": _count_outlets(conn, filters), "topics": _count_per_topic(conn, filters)}


def _count_outlets(conn: Any, filters: Filters) -> int:
    if not (filters.text or filters.language):  # the feed rollup knows days, feeds and topics
        conds = [feed_daily_counts.c.topic.in_(filters.topics) if filters.topics
                 else feed_daily_counts.c.topic == ALL_TOPICS]
        if filters.since:
            conds.append(feed_daily_counts.c.day >= filters.since)
        if filters.until:
            conds.append(feed_daily_counts.c.day <= filters.until)
        if filters.sources:
            conds.append(feed_daily_counts.c.feed_id.in_(filters.sources))
        stmt = select(func.count(func.distinct(feed_daily_counts.c.feed_id))).where(*conds)
    else:
        nums = _filtered(select(articles.c.num), filters)
        stmt = select(func.count(func.distinct(sightings.c.feed_id))).where(sightings.c.article_num.in_(nums))
        if filters.sources:
            stmt = stmt.where(sightings.c.feed_id.in_(filters.sources))
    return int(conn.execute(stmt).scalar() or 0)


def _count_per_topic(conn: Any, filters: Filters) -> dict[str, int]:
    if uses_rollups(filters):
        stmt = (select(daily_counts.c.topic, func.sum(daily_counts.c.articles))
                .where(daily_counts.c.topic != ALL_TOPICS, *_rollup_conditions(filters))
                .group_by(daily_counts.c.topic))
        if filters.topics:
            stmt = stmt.where(daily_counts.c.topic.in_(filters.topics))
    else:
        nums = _filtered(select(articles.c.num), filters.without_topics())
        stmt = (select(article_topics.c.topic, func.count()).where(article_topics.c.article_num.in_(nums))
                .group_by(article_topics.c.topic))
        if filters.topics:
            stmt = stmt.where(article_topics.c.topic.in_(filters.topics))
    return {topic: int(n) for topic, n in conn.execute(stmt)}


def previous_window(filters: Filters) -> Filters | None:
    """The window of the same length just before this one (None when the window is open-ended)."""
    if filters.since is None or filters.until is None:
        return None
    span = (filters.until - filters.since).days + 1
    return replace(filters, since=filters.since - dt.timedelta(days=span),
                   until=filters.since - dt.timedelta(days=1))


def topic_counts_by_day(location: str, filters: Filters) -> pd.DataFrame:
    """Articles per topic per UTC day: columns day (UTC), topic, articles.

    Only the selected topics are counted (all topics when none is selected).
    """
    if uses_rollups(filters):
        stmt = (select(daily_counts.c.day, daily_counts.c.topic, func.sum(daily_counts.c.articles))
                .where(daily_counts.c.topic != ALL_TOPICS, *_rollup_conditions(filters))
                .group_by(daily_counts.c.day, daily_counts.c.topic).order_by(daily_counts.c.day))
        if filters.topics:
            stmt = stmt.where(daily_counts.c.topic.in_(filters.topics))
    else:
        day = _day(article_topics.c.published).label("day")
        conds = article_conditions(filters.without_topics())
        if filters.topics:
            conds.append(article_topics.c.topic.in_(filters.topics))
        stmt = (select(day, article_topics.c.topic, func.count())
                .select_from(article_topics.join(articles, articles.c.num == article_topics.c.article_num))
                .where(*conds).group_by(day, article_topics.c.topic).order_by(day))
    with Store(location).transaction(write=False) as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["day", "topic", "articles"])
    frame["articles"] = frame["articles"].astype(int)
    return _utc(frame, "day")


def totals_by_day(location: str, filters: Filters) -> pd.DataFrame:
    """All collected articles per UTC day (``Filters.collected``: topics and words aside): columns
    day, articles."""
    filters = filters.collected()
    if uses_rollups(filters):
        stmt = (select(daily_counts.c.day, func.sum(daily_counts.c.articles))
                .where(daily_counts.c.topic == ALL_TOPICS, *_rollup_conditions(filters))
                .group_by(daily_counts.c.day).order_by(daily_counts.c.day))
    else:
        day = _day(articles.c.published).label("day")
        stmt = _filtered(select(day, func.count()), filters).group_by(day).order_by(day)
    with Store(location).transaction(write=False) as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["day", "articles"])
    frame["articles"] = frame["articles"].astype(int)
    return _utc(frame, "day")


def outlet_options(location: str) -> pd.DataFrame:
    """Feeds that have contributed articles, for the outlet filter: columns id, name."""
    stmt = (select(feeds.c.id, feeds.c.name).where(exists().where(sightings.c.feed_id == feeds.c.id))
            .order_by(feeds.c.name))
    with Store(location).transaction(write=False) as conn:
        rows = conn.execute(stmt).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["id", "name"])


def language_options(location: str) -> list[str]:
    stmt = select(func.distinct(daily_counts.c.language)).order_by(daily_counts.c.language)
    with Store(location).transaction(write=False) as conn:
        return [r[0] for r in conn.execute(stmt)]


def published_span(location: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The first and last publication times in the store (two index lookups)."""
    with Store(location).transaction(write=False) as conn:
        first = conn.execute(select(articles.c.published).order_by(articles.c.published).limit(1)).scalar()
        last = conn.execute(select(articles.c.published).order_by(articles.c.published.desc()).limit(1)).scalar()
    return first, last


def latest_tagged(location: str, filters: Filters, *, limit: int = 15) -> pd.DataFrame:
    """The newest articles that carry at least one topic (of the selected ones, if any), one per
    story: the same wire story from five outlets is one headline."""
    if not filters.topics:
        tagged = exists().where(article_topics.c.article_num == articles.c.num)
        ids = _filtered(select(articles.c.id).where(tagged), filters)
    else:
        ids = _filtered(select(articles.c.id), filters)
    ids = ids.add_columns(articles.c.story_id).order_by(articles.c.published.desc(), articles.c.id).limit(limit * 4)
    wanted: list[str] = []
    stories: set[str] = set()
    with Store(location).transaction(write=False) as conn:
        for article_id, story_id in conn.execute(ids):
            if story_id is None or story_id not in stories:
                wanted.append(article_id)
                stories.add(story_id)
            if len(wanted) == limit:
                break
    if not wanted:
        return pd.DataFrame(columns=ARTICLE_COLUMNS)
    return articles_frame(location, Filters(), ids=tuple(wanted))
