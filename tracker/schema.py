"""The database schema, in one place, with numbered migrations.

One definition serves SQLite and PostgreSQL (SQLAlchemy Core). Times are stored as
UTC: naive UTC text in SQLite, timestamptz in PostgreSQL; both come back aware.

Tables
  meta            key/value: schema_version, data_version (bumped by every write), demo flag
  feeds           one row per feed: identity, conditional-GET validators and health
  articles        one row per story link (id = hash of the canonical link, see parse.py)
  article_topics  which topics an article carries, the terms that decided each, and the
                  taxonomy version that tagged it; `published` is copied in so topic-by-date
                  queries need no join
  sightings       which feed carried which article, and when we first saw it there
  poll_runs       one row per poll: when, how many feeds, new articles, errors
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every engine."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store takes aware UTC datetimes only")
        value = value.astimezone(dt.UTC)
        # SQLite has no time zones: store naive UTC so the text sorts and compares correctly.
        return value.replace(tzinfo=None) if getattr(dialect, "name", "") == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


metadata = MetaData()

meta = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

feeds = Table(
    "feeds", metadata,
    Column("id", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("language", String(8), nullable=False, default="en"),
    Column("tags", Text, nullable=False, default=""),          # ';'-joined
    Column("title", Text),                                      # as the feed calls itself
    Column("added_at", UTCDateTime, nullable=False),
    Column("last_attempt", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("last_error", Text),
    Column("http_status", Integer),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("next_poll", UTCDateTime),
    Column("etag", Text),
    Column("last_modified", Text),
    # Set while one poller works on the feed, so another does not fetch it too.
    Column("lease_owner", String(128)),
    Column("lease_until", UTCDateTime),
)

articles = Table(
    "articles", metadata,
    Column("id", String(40), primary_key=True),
    Column("link", Text),
    Column("guid", Text),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("published", UTCDateTime, nullable=False),
    Column("published_is_fallback", Boolean, nullable=False, default=False),
    Column("language", String(8), nullable=False),
    Column("source_id", String(64), nullable=False),           # the first feed that brought it
    Column("first_seen", UTCDateTime, nullable=False),
    Index("ix_articles_published", "published"),
    Index("ix_articles_source_published", "source_id", "published"),
)

article_topics = Table(
    "article_topics", metadata,
    Column("article_id", String(40), primary_key=True),
    Column("topic", String(64), primary_key=True),
    Column("terms", Text, nullable=False),                      # JSON list of matched terms
    Column("taxonomy_version", String(64), nullable=False),
    Column("published", UTCDateTime, nullable=False),
    Index("ix_article_topics_topic_published", "topic", "published"),
)

sightings = Table(
    "sightings", metadata,
    Column("article_id", String(40), primary_key=True),
    Column("feed_id", String(64), primary_key=True),
    Column("seen_at", UTCDateTime, nullable=False),
    Index("ix_sightings_feed", "feed_id"),
)

poll_runs = Table(
    "poll_runs", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("started", UTCDateTime, nullable=False),
    Column("finished", UTCDateTime),
    Column("feeds", Integer, nullable=False, default=0),
    Column("new_articles", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("worker", String(128)),
)


def _m1_initial(conn: Connection) -> None:
    for table in (meta, feeds, articles, article_topics, sightings, poll_runs):
        table.create(conn, checkfirst=True)
    conn.execute(meta.insert().values(key="data_version", value="0"))


# Numbered migrations: append, never edit one that has shipped.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial schema", _m1_initial),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    """The schema version of an open database (0 for an empty one)."""
    if not conn.dialect.has_table(conn, "meta"):
        return 0
    value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    return int(value) if value is not None else 0
