"""Rollup upkeep, part of the store: daily counts changed in the same transaction as the rows
they count, so a chart read from them always agrees with a direct count over the articles.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from tracker.schema import ALL_TOPICS, daily_counts, feed_daily_counts

DayKey = tuple[dt.date, str, str]  # (day, language, topic)
FeedKey = tuple[dt.date, str, str]  # (day, feed, topic)


class Writer(Protocol):
    """How the store writes many rows at once (store_ingest.Writer): values in the driver's form."""

    conn: Connection

    def day(self, value: dt.date) -> Any: ...

    def many(self, stmt: Any, rows: list[dict[str, Any]]) -> None: ...


def article_keys(published: dt.datetime, language: str, topics: Iterable[str]) -> list[DayKey]:
    """The daily_counts rows one article counts in: all articles, and each of its topics."""
    day = published.astimezone(dt.UTC).date()
    return [(day, language, ALL_TOPICS), *((day, language, t) for t in topics)]


def feed_keys(published: dt.datetime, feed_id: str, topics: Iterable[str]) -> list[FeedKey]:
    """The feed_daily_counts rows one sighting counts in: all the feed's articles, and each topic."""
    day = published.astimezone(dt.UTC).date()
    return [(day, feed_id, ALL_TOPICS), *((day, feed_id, t) for t in topics)]


def add_daily(w: Writer, counts: Counter[DayKey]) -> None:
    """Add (or with negative counts, remove) articles to daily_counts."""
    _add(w, daily_counts, ("day", "language", "topic"), counts)


def add_feed_daily(w: Writer, counts: Counter[FeedKey]) -> None:
    """Add (or with negative counts, remove) sightings to feed_daily_counts."""
    _add(w, feed_daily_counts, ("day", "feed_id", "topic"), counts)


def _add(w: Writer, table: Table, key: tuple[str, str, str], counts: Counter[tuple[dt.date, str, str]]) -> None:
    day_column, middle_column, topic_column = key
    rows = [{day_column: w.day(d), middle_column: m, topic_column: t, "articles": n}
            for (d, m, t), n in counts.items() if n]
    if not rows:
        return
    w.many(_upsert(table, key, w.conn.dialect.name), rows)
    if any(r["articles"] < 0 for r in rows):
        w.conn.execute(table.delete().where(table.c.articles <= 0))


# One statement object per table and dialect, so the store compiles each once.
_UPSERTS: dict[tuple[str, str], Any] = {}


def _upsert(table: Table, key: tuple[str, ...], dialect: str) -> Any:
    """INSERT the counts, or add them to the rows already there."""
    stmt = _UPSERTS.get((table.name, dialect))
    if stmt is None:
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
        stmt = _UPSERTS[(table.name, dialect)] = insert.on_conflict_do_update(
            index_elements=list(key), set_={"articles": table.c.articles + insert.excluded.articles})
    return stmt
