"""Rollup upkeep, part of the store: daily counts changed in the same transaction as the rows
they count, so a chart read from them always agrees with a direct count over the articles.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from tracker.schema import ALL_TOPICS, daily_counts, feed_daily_counts

DayKey = tuple[dt.date, str, str]  # (day, language, topic)


def article_keys(published: dt.datetime, language: str, topics: Iterable[str]) -> list[DayKey]:
    """The daily_counts rows one article counts in: all articles, and each of its topics."""
    day = published.astimezone(dt.UTC).date()
    return [(day, language, ALL_TOPICS), *((day, language, t) for t in topics)]


def _upsert_add(conn: Connection, table: Table, rows: list[dict[str, object]], keys: list[str]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=keys,
                                      set_={"articles": table.c.articles + stmt.excluded.articles})
    conn.execute(stmt, rows)


def add_daily(conn: Connection, counts: Counter[DayKey]) -> None:
    """Add (or with negative counts, remove) articles to daily_counts."""
    rows = [{"day": d, "language": lang, "topic": t, "articles": n} for (d, lang, t), n in counts.items() if n]
    if rows:
        _upsert_add(conn, daily_counts, rows, ["day", "language", "topic"])
        if any(r["articles"] < 0 for r in rows):  # type: ignore[operator]
            conn.execute(daily_counts.delete().where(daily_counts.c.articles <= 0))


FeedKey = tuple[dt.date, str, str]  # (day, feed, topic)


def feed_keys(published: dt.datetime, feed_id: str, topics: Iterable[str]) -> list[FeedKey]:
    """The feed_daily_counts rows one sighting counts in: all the feed's articles, and each topic."""
    day = published.astimezone(dt.UTC).date()
    return [(day, feed_id, ALL_TOPICS), *((day, feed_id, t) for t in topics)]


def add_feed_daily(conn: Connection, counts: Counter[FeedKey]) -> None:
    """Add (or with negative counts, remove) sightings to feed_daily_counts."""
    rows = [{"day": d, "feed_id": f, "topic": t, "articles": n} for (d, f, t), n in counts.items() if n]
    if rows:
        _upsert_add(conn, feed_daily_counts, rows, ["day", "feed_id", "topic"])
        if any(r["articles"] < 0 for r in rows):  # type: ignore[operator]
            conn.execute(feed_daily_counts.delete().where(feed_daily_counts.c.articles <= 0))
