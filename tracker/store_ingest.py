"""The hot path of the store: writing one fetched feed document. Part of the store (store.py
calls it inside the feed's transaction); kept apart because it trades a little generality for
speed, and says why where it does.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Date, Dialect, Text, and_, bindparam, case, func, null, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError

from tracker import rollups
from tracker.models import TaggedItem
from tracker.schema import BATCH, UTCDateTime, article_topics, articles, feeds, sightings


class _Statements:
    """What a feed write needs that depends only on the dialect, made once per dialect: its
    statements (executing the same statement object reuses its compiled form, where an IN list
    built per call is compiled every time), and the driver's form of times and days."""

    def __init__(self, dialect: Dialect) -> None:
        self.time: Callable[[dt.datetime], Any] = _bind_processor(UTCDateTime(), dialect)
        self.day: Callable[[dt.date], Any] = _bind_processor(Date(), dialect)
        self.prepared: dict[tuple[int, tuple[str, ...]], tuple[str, Any, Any]] = {}
        insert = (postgresql if dialect.name == "postgresql" else sqlite).insert
        ids: Any = bindparam("ids", expanding=True)
        # In one round trip: which of these articles the store has (with their key and
        # publication time), and which this feed carried already (key and time NULL).
        # "feed_id || ''" keeps SQLite off the feed index: with hundreds of ids it would scan
        # all of the feed's sightings instead of looking up each article's few.
        self.known = union_all(
            select(articles.c.id, articles.c.num, articles.c.published).where(articles.c.id.in_(ids)),
            select(articles.c.id, null(), null())
            .select_from(sightings.join(articles, articles.c.num == sightings.c.article_num))
            .where(sightings.c.feed_id.concat("") == bindparam("feed"), articles.c.id.in_(ids)))
        self.published = select(articles.c.id, articles.c.num, articles.c.published).where(articles.c.id.in_(ids))
        self.last_num = select(func.coalesce(func.max(articles.c.num), 0))
        self.topics = select(article_topics.c.article_num, article_topics.c.topic).where(
            article_topics.c.article_num.in_(bindparam("nums", expanding=True)))
        self.articles = insert(articles).on_conflict_do_nothing()
        self.article_topics = insert(article_topics).on_conflict_do_nothing()
        self.sightings = insert(sightings).on_conflict_do_nothing()
        self.articles_returning = self.articles.returning(articles.c.id, articles.c.num)
        self.sightings_returning = self.sightings.returning(sightings.c.article_num)
        # A feed named by its address (`tracker poll --feed URL_OR_PATH`) takes the title its document
        # gives, so charts and CSV files name the outlet rather than a path.
        title = bindparam("title", type_=Text)  # typed: PostgreSQL cannot guess it inside CASE
        named_by_address = and_(feeds.c.name == feeds.c.url, title.is_not(None))
        self.feed_ok = update(feeds).where(feeds.c.id == bindparam("feed")).values(
            name=case((named_by_address, title), else_=feeds.c.name),
            title=title, last_attempt=bindparam("now"), last_success=bindparam("now"),
            last_error=bindparam("warning"), http_status=bindparam("status"), consecutive_failures=0,
            next_poll=bindparam("next_poll"), etag=bindparam("etag"), last_modified=bindparam("last_modified"),
            lease_owner=None, lease_until=None)


_STATEMENTS: dict[tuple[str, str, str], _Statements] = {}


def _bind_processor(type_: Any, dialect: Dialect) -> Callable[[Any], Any]:
    """The type's own conversion to the driver's form, failing as it would inside SQLAlchemy."""
    process = type_.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)

    def convert(value: Any) -> Any:
        try:
            return process(value)
        except ValueError as exc:  # e.g. a naive datetime
            raise StatementError(str(exc), None, None, exc) from exc

    return convert


class Writer:
    """The writes of one transaction that carry many rows, straight through the driver.

    ``many`` compiles a statement once per dialect and hands its rows to the driver's
    executemany as they are: SQLAlchemy's per-row parameter processing used to be most of the
    cost of storing a feed document. So row values must already be in the driver's form:
    ``time`` and ``day`` convert as the column types would (naive UTC text on SQLite).

    ``exclusive``: no other writer can change what this transaction reads. On SQLite writers
    hold the write lock from the start (BEGIN IMMEDIATE); on PostgreSQL another poller may
    insert the same rows meanwhile, so inserts there say which rows were really theirs (RETURNING).
    """

    def __init__(self, conn: Connection) -> None:
        d = conn.dialect
        sql = _STATEMENTS.get((d.name, d.driver, d.paramstyle))
        if sql is None:
            sql = _STATEMENTS[(d.name, d.driver, d.paramstyle)] = _Statements(d)
        self.conn, self.sql, self.time, self.day = conn, sql, sql.time, sql.day
        self.exclusive = d.name == "sqlite"

    def many(self, stmt: Any, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        key = (id(stmt), tuple(rows[0]))
        prepared = self.sql.prepared.get(key)
        if prepared is None:
            compiled = stmt.compile(dialect=self.conn.dialect, column_keys=list(rows[0]))
            order = _positional(compiled.positiontup) if compiled.positional else None
            # The statement stays referenced with its SQL, so its id is never reused for another.
            prepared = self.sql.prepared[key] = (compiled.string, order, stmt)
        text, order, _ = prepared
        self.conn.exec_driver_sql(text, [order(r) for r in rows] if order else rows)  # type: ignore[arg-type]


def _positional(keys: list[str] | None) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A dict row as the tuple a positional driver (SQLite's "?") takes, in the statement's order."""
    if keys and len(keys) > 1:
        return itemgetter(*keys)
    return lambda row: tuple(row[k] for k in keys or ())


def store_document(w: Writer, source_id: str, tagged: Sequence[TaggedItem], version: str, now: dt.datetime) -> int:
    """Insert the articles and sightings of one document that the store does not have yet, with
    their topics, and count them in the rollups. Returns how many articles were new."""
    unique = {t.item.id: t for t in tagged}  # a feed may list the same link twice
    stored: dict[str, tuple[int, dt.datetime]] = {}  # article id -> (num, published)
    sighted: set[str] = set()
    ids, step = list(unique), BATCH // 2  # the ids appear twice in the statement
    for start in range(0, len(ids), step):
        for article_id, num, when in w.conn.execute(w.sql.known, {"ids": ids[start:start + step], "feed": source_id}):
            if when is None:
                sighted.add(article_id)
            else:
                stored[article_id] = (num, when)
    fresh = [t for i, t in unique.items() if i not in stored]
    now_db = w.time(now)
    inserted = _insert_articles(w, source_id, fresh, version, now_db)
    for t in fresh:
        if t.item.id in inserted:
            stored[t.item.id] = (inserted[t.item.id], t.item.published)
    if len(inserted) < len(fresh):  # lost a race: read the winner's keys and publication times
        lost = [t.item.id for t in fresh if t.item.id not in inserted]
        stored.update((i, (num, when)) for i, num, when in w.conn.execute(w.sql.published, {"ids": lost}))
    fresh_topics = {inserted[t.item.id]: [m.topic for m in t.topics] for t in fresh if t.item.id in inserted}
    _insert_sightings(w, source_id, {num: when for i, (num, when) in stored.items() if i not in sighted},
                      fresh_topics, now_db)
    return len(inserted)


def _insert_articles(w: Writer, source_id: str, fresh: list[TaggedItem], version: str,
                     now_db: Any) -> dict[str, int]:
    """Insert these articles (not in the store a moment ago) with their topics, and count them in
    daily_counts. Returns the ids really inserted, with their keys."""
    if not fresh:
        return {}
    when = {t.item.id: w.time(t.item.published) for t in fresh}
    rows = [{"id": t.item.id, "link": t.item.link, "guid": t.item.guid, "title": t.item.title,
             "summary": t.item.summary, "published": when[t.item.id],
             "published_is_fallback": t.item.published_is_fallback, "language": t.item.language,
             "source_id": source_id, "first_seen": now_db} for t in fresh]
    if w.exclusive:  # nobody else can take a key meanwhile, so number them here
        first = w.conn.execute(w.sql.last_num).scalar_one() + 1
        for num, row in enumerate(rows, first):
            row["num"] = num
        w.many(w.sql.articles, rows)
        inserted = {row["id"]: row["num"] for row in rows}
    else:  # the driver's form of PostgreSQL's values is the Python value, fit for SQLAlchemy too
        inserted = {i: num for i, num in w.conn.execute(w.sql.articles_returning, rows)}
    w.many(w.sql.article_topics, [
        {"article_num": inserted[t.item.id], "topic": m.topic, "terms": json.dumps(list(m.terms), ensure_ascii=False),
         "taxonomy_version": version, "published": when[t.item.id]}
        for t in fresh if t.item.id in inserted for m in t.topics])
    rollups.add_daily(w, Counter(key for t in fresh if t.item.id in inserted for key in rollups.article_keys(
        t.item.published, t.item.language, (m.topic for m in t.topics))))
    return inserted


def _insert_sightings(w: Writer, feed_id: str, published: dict[int, dt.datetime],
                      fresh_topics: dict[int, list[str]], now_db: Any) -> None:
    """Record that this feed carried these articles (num -> published; not seen from it a moment
    ago), and count each new sighting in the feed rollup. ``fresh_topics``: the topics of the
    articles inserted just now, by num; those of the others are read back."""
    if not published:
        return
    rows = [{"article_num": num, "feed_id": feed_id, "seen_at": now_db} for num in published]
    if w.exclusive:
        w.many(w.sql.sightings, rows)
        new = list(published)
    else:
        new = list(w.conn.execute(w.sql.sightings_returning, rows).scalars())
    topics_of = {n: fresh_topics[n] for n in new if n in fresh_topics}
    known = [n for n in new if n not in fresh_topics]
    for start in range(0, len(known), BATCH):
        for num, topic in w.conn.execute(w.sql.topics, {"nums": known[start:start + BATCH]}):
            topics_of.setdefault(num, []).append(topic)
    rollups.add_feed_daily(w, Counter(key for n in new for key in rollups.feed_keys(
        published[n], feed_id, topics_of.get(n, ()))))
