"""The database schema, in one place, with numbered migrations.

One definition serves SQLite and PostgreSQL (SQLAlchemy Core). Times are stored as
UTC: naive UTC text in SQLite, timestamptz in PostgreSQL; both come back aware.

Tables
  meta            key/value: schema_version, data_version (bumped by every write), demo flag
  feeds           one row per feed: identity, conditional-GET validators and health
  articles        one row per story link: `id` (hash of the canonical link, see parse.py) is its
                  public identity; `num` (integer, in order of arrival) is the key the tables
                  below refer to, so each write appends to their indexes (migration 6)
  article_topics  which topics an article carries, the terms that decided each, and the
                  taxonomy version that tagged it; `published` is copied in so topic-by-date
                  queries need no join
  sightings       which feed carried which article, and when we first saw it there
  poll_runs       one row per poll: when, how many feeds, new articles, errors
  daily_counts    rollup kept up to date at every write: articles per UTC day of publication,
                  language and topic (topic '*' = all articles), so charts never scan articles
  feed_daily_counts  rollup: articles each feed carried, per UTC day of publication and topic
                  ('*' = all its articles), so "how many outlets" needs no scan either
  stories         one row per story (articles from several outlets reporting one event; see
                  stories.py): first and last seen, headline, counts, outlets, topics;
                  articles.story_id points here (NULL until the story step has run)
  story_topics    which topics a story carries (the union of its articles'), for counting
  daily_story_counts  rollup: stories per UTC day of their first article and topic ('*' = all)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
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


BATCH = 500  # rows per IN (...) lookup; well under SQLite's variable limit

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

INTEGER_KEY = BigInteger().with_variant(Integer, "sqlite")  # on SQLite, INTEGER PRIMARY KEY is the rowid

articles = Table(
    "articles", metadata,
    # SHA-1 ids are random: child rows keyed by them scattered every write over the whole of
    # their indexes, and at a million articles the page writes made ingest three times slower.
    Column("num", INTEGER_KEY, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("link", Text),
    Column("guid", Text),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("published", UTCDateTime, nullable=False),
    Column("published_is_fallback", Boolean, nullable=False, default=False),
    Column("language", String(8), nullable=False),
    Column("source_id", String(64), nullable=False),           # the first feed that brought it
    Column("first_seen", UTCDateTime, nullable=False),
    Column("story_id", String(64)),                             # added by migration 3
    Index("ix_articles_published", "published"),
    Index("ix_articles_story", "story_id"),
)

article_topics = Table(
    "article_topics", metadata,
    Column("article_num", INTEGER_KEY, primary_key=True),      # articles.num
    Column("topic", String(64), primary_key=True),
    Column("terms", Text, nullable=False),                      # JSON list of matched terms
    Column("taxonomy_version", String(64), nullable=False),
    Column("published", UTCDateTime, nullable=False),
    Index("ix_article_topics_topic_published", "topic", "published"),
)

sightings = Table(
    "sightings", metadata,
    Column("article_num", INTEGER_KEY, primary_key=True),      # articles.num
    Column("feed_id", String(64), primary_key=True),
    Column("seen_at", UTCDateTime, nullable=False),
    Index("ix_sightings_feed", "feed_id"),
)

poll_runs = Table(
    "poll_runs", metadata,
    Column("id", INTEGER_KEY, primary_key=True, autoincrement=True),
    Column("started", UTCDateTime, nullable=False),
    Column("finished", UTCDateTime),
    Column("feeds", Integer, nullable=False, default=0),
    Column("new_articles", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("worker", String(128)),
)


ALL_TOPICS = "*"  # the daily_counts row that counts every article, tagged or not
ANY_TOPIC = "+"   # the daily_story_counts row that counts stories carrying at least one topic

daily_counts = Table(
    "daily_counts", metadata,
    Column("day", Date, primary_key=True),
    Column("language", String(8), primary_key=True),
    Column("topic", String(64), primary_key=True),
    Column("articles", Integer, nullable=False),
    Index("ix_daily_counts_topic_day", "topic", "day"),
)

feed_daily_counts = Table(
    "feed_daily_counts", metadata,
    Column("day", Date, primary_key=True),
    Column("feed_id", String(64), primary_key=True),
    Column("topic", String(64), primary_key=True, server_default=ALL_TOPICS),   # added by migration 4
    Column("articles", Integer, nullable=False),
    Index("ix_feed_daily_counts_topic_day", "topic", "day"),
)


stories = Table(
    "stories", metadata,
    Column("id", String(64), primary_key=True),
    Column("first_seen", UTCDateTime, nullable=False),          # the earliest article's publication
    Column("last_seen", UTCDateTime, nullable=False),
    Column("headline", Text, nullable=False),
    Column("articles", Integer, nullable=False),
    Column("outlets", Integer, nullable=False),
    Column("outlet_names", Text, nullable=False, default=""),   # '; '-joined feed names
    Column("topics", Text, nullable=False, default=""),         # ';'-joined topic ids
    Index("ix_stories_first_seen", "first_seen"),
)

story_topics = Table(
    "story_topics", metadata,
    Column("story_id", String(64), primary_key=True),
    Column("topic", String(64), primary_key=True),
    Column("first_seen", UTCDateTime, nullable=False),
    Index("ix_story_topics_topic_first_seen", "topic", "first_seen"),
    Index("ix_story_topics_first_seen", "first_seen"),                 # added by migration 7
)

daily_story_counts = Table(
    "daily_story_counts", metadata,
    Column("day", Date, primary_key=True),
    Column("topic", String(64), primary_key=True),
    Column("stories", Integer, nullable=False),
)


def _m1_initial(conn: Connection) -> None:
    # Version 1's articles table had no story_id; new databases get it now and
    # migration 3 adds it only where it is missing.
    for table in (meta, feeds, articles, article_topics, sightings, poll_runs):
        table.create(conn, checkfirst=True)
    conn.execute(meta.insert().values(key="data_version", value="0"))


def rebuild_rollups(conn: Connection) -> None:
    """Recompute the rollup tables from the articles (migration 2, and a repair tool)."""
    from sqlalchemy import func, insert, literal

    conn.execute(daily_counts.delete())
    conn.execute(feed_daily_counts.delete())
    day = func.date(articles.c.published)
    conn.execute(insert(daily_counts).from_select(
        ["day", "language", "topic", "articles"],
        select(day, articles.c.language, literal(ALL_TOPICS), func.count()).group_by(day, articles.c.language)))
    topic_day = func.date(article_topics.c.published)
    conn.execute(insert(daily_counts).from_select(
        ["day", "language", "topic", "articles"],
        select(topic_day, articles.c.language, article_topics.c.topic, func.count())
        .select_from(article_topics.join(articles, articles.c.num == article_topics.c.article_num))
        .group_by(topic_day, articles.c.language, article_topics.c.topic)))
    conn.execute(insert(feed_daily_counts).from_select(
        ["day", "feed_id", "topic", "articles"],
        select(day, sightings.c.feed_id, literal(ALL_TOPICS), func.count())
        .select_from(sightings.join(articles, articles.c.num == sightings.c.article_num))
        .group_by(day, sightings.c.feed_id)))
    conn.execute(insert(feed_daily_counts).from_select(
        ["day", "feed_id", "topic", "articles"],
        select(topic_day, sightings.c.feed_id, article_topics.c.topic, func.count())
        .select_from(sightings.join(article_topics, article_topics.c.article_num == sightings.c.article_num))
        .group_by(topic_day, sightings.c.feed_id, article_topics.c.topic)))


def _m2_rollups(conn: Connection) -> None:
    # Filled by migration 6, which rebuilds them for the tables' new keys (rebuild_rollups
    # speaks only the current schema).
    daily_counts.create(conn, checkfirst=True)
    feed_daily_counts.create(conn, checkfirst=True)


def _m3_stories(conn: Connection) -> None:
    from sqlalchemy import inspect, text

    if "story_id" not in {c["name"] for c in inspect(conn).get_columns("articles")}:
        conn.execute(text("ALTER TABLE articles ADD COLUMN story_id VARCHAR(64)"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_articles_story ON articles (story_id)"))
    for table in (stories, story_topics, daily_story_counts):
        table.create(conn, checkfirst=True)
    # Every existing article is pending; the next poll (or `tracker stories`) clusters them.


def _m4_feed_topic_counts(conn: Connection) -> None:
    # The feed rollup gains a topic: recreated in its new shape here, filled by migration 6.
    feed_daily_counts.drop(conn, checkfirst=True)
    feed_daily_counts.create(conn)


def _m5_drop_source_index(conn: Connection) -> None:
    # No query could use it: the outlet filter is "source_id IN (...) OR EXISTS (a sighting)",
    # which neither engine answers from an index on source_id; it only slowed every insert.
    from sqlalchemy import text

    conn.execute(text("DROP INDEX IF EXISTS ix_articles_source_published"))


# Version 5's article columns, spelled out: this migration must not follow later changes to the table.
_ARTICLE_COLUMNS = ("id, link, guid, title, summary, published, published_is_fallback, language, "
                    "source_id, first_seen, story_id")


def _m6_integer_article_keys(conn: Connection) -> None:
    """Give articles an integer key in order of arrival and key topics and sightings by it."""
    from sqlalchemy import inspect, text

    if "num" not in {c["name"] for c in inspect(conn).get_columns("articles")}:
        old = ("articles", "article_topics", "sightings")
        # Index and constraint names are global: free them before the new tables take them.
        for index in ("ix_articles_published", "ix_articles_story", "ix_article_topics_topic_published",
                      "ix_sightings_feed"):
            conn.execute(text(f"DROP INDEX IF EXISTS {index}"))
        for name in old:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT IF EXISTS {name}_pkey"))
            conn.execute(text(f"ALTER TABLE {name} RENAME TO {name}_v5"))
        for table in (articles, article_topics, sightings):
            table.create(conn)
        conn.execute(text(f"INSERT INTO articles ({_ARTICLE_COLUMNS}) SELECT {_ARTICLE_COLUMNS} "
                          "FROM articles_v5 ORDER BY first_seen, published, id"))
        conn.execute(text("INSERT INTO article_topics (article_num, topic, terms, taxonomy_version, published) "
                          "SELECT a.num, t.topic, t.terms, t.taxonomy_version, t.published "
                          "FROM article_topics_v5 t JOIN articles a ON a.id = t.article_id ORDER BY a.num"))
        conn.execute(text("INSERT INTO sightings (article_num, feed_id, seen_at) "
                          "SELECT a.num, s.feed_id, s.seen_at "
                          "FROM sightings_v5 s JOIN articles a ON a.id = s.article_id ORDER BY a.num"))
        for name in old:
            conn.execute(text(f"DROP TABLE {name}_v5"))
    rebuild_rollups(conn)


def _m7_story_topics_by_time(conn: Connection) -> None:
    # The timeline lists the newest tagged stories of all topics: without this index SQLite sorted
    # every (story, topic) row first (0.8 s at 1M articles; 0.1 s with it).
    from sqlalchemy import text

    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_story_topics_first_seen ON story_topics (first_seen)"))


# Numbered migrations: append, never change what one leaves behind once it has shipped.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial schema", _m1_initial),
    (2, "daily rollups for charts and counts", _m2_rollups),
    (3, "stories", _m3_stories),
    (4, "feed rollup per topic", _m4_feed_topic_counts),
    (5, "drop the unused index on articles (source_id, published)", _m5_drop_source_index),
    (6, "integer article keys for topics and sightings", _m6_integer_article_keys),
    (7, "index stories' topics by time", _m7_story_topics_by_time),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    """The schema version of an open database (0 for an empty one)."""
    if not conn.dialect.has_table(conn, "meta"):
        return 0
    value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    return int(value) if value is not None else 0
