"""The store: connections, migrations and every write. The only module that writes.

SQLite is the default (WAL, a busy timeout, BEGIN IMMEDIATE for writers so two
writers queue instead of failing); a PostgreSQL URL works with the same code.
Every write for one feed lies within one transaction (a poll writes several feeds per transaction,
see `record_updates`), and every write bumps `data_version`
so readers can cache cheaply.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Text,
    and_,
    case,
    cast,
    create_engine,
    event,
    func,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from tracker import rollups, schema
from tracker.errors import StoreError
from tracker.models import FeedSource, FeedState, FeedUpdate, ParsedFeed, TaggedItem, Validators
from tracker.schema import BATCH, article_topics, articles, feeds, meta, poll_runs, sightings
from tracker.store_ingest import Writer, store_document


def database_url(location: str) -> str:
    """A SQLAlchemy URL for a database URL or a SQLite file path."""
    location = str(location).strip()
    if "://" in location:
        return location
    return "sqlite:///" + str(Path(location).expanduser().resolve())


def _check_sqlite_path(url: str) -> None:
    """Turn the usual path mistakes into one clear message before SQLite does something odd."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return
    path = Path(database)
    if path.is_dir():
        raise StoreError("is a directory, not a database file", resource=str(path))
    parent = path.parent
    if not parent.exists():
        try:
            parent.mkdir(parents=True)
        except OSError as exc:
            raise StoreError(f"cannot create folder {parent}: {exc.strerror}", resource=str(path)) from exc


def _missing_sqlite_file(location: str) -> bool:
    try:
        url = make_url(database_url(location))
    except ArgumentError:
        return False  # _create_engine says what is wrong with it
    database = url.database
    return (url.get_backend_name() == "sqlite" and database is not None and database not in ("", ":memory:")
            and not Path(database).exists())


def engine_for(location: str) -> Engine:
    """One shared engine per database location (cached, thread-safe)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(location)
        if engine is None:
            engine = _ENGINES[location] = _create_engine(location)
        return engine


def _create_engine(location: str) -> Engine:
    url = database_url(location)
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError as exc:
        raise StoreError(f"not a database URL or path: {exc}", resource=location) from exc
    if backend == "sqlite":
        _check_sqlite_path(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _tune_sqlite(engine)
        return engine
    try:
        # Sessions run in UTC so date() and date_trunc() mean UTC days on both engines.
        return create_engine(url, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"})
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use this database URL: {exc}", resource=location) from exc


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (for tests and tools)."""
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # We issue BEGIN ourselves (below), so the driver must not.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        # A bigger page cache and rarer checkpoints: ingest writes many small transactions.
        cur.execute("PRAGMA cache_size = -65536")
        cur.execute("PRAGMA wal_autocheckpoint = 10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that upgrades
        # later can fail with "database is locked" instead of waiting its turn.
        write = conn.get_execution_options().get("tracker_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


T = TypeVar("T")

# PostgreSQL ends one of two conflicting transactions to break a deadlock (40P01) or a serialization
# conflict (40001) and expects the client to run it again. SQLite, one writer at a time, never does.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})
WRITE_ATTEMPTS = 4


def _is_transient(exc: BaseException | None) -> bool:
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in _TRANSIENT_SQLSTATES


def _translate(exc: Exception, location: str) -> StoreError:
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if "file is not a database" in message:
        message = "not a SQLite database (the file exists but holds something else)"
    elif "readonly" in message or "unable to open" in message:
        message = f"cannot write the database ({message}); check the path and its permissions"
    return StoreError(message, resource=location)


# On SQLite a poll writes its read feeds this many to a transaction. Each feed is still wholly in the
# store or not at all; the group pays one commit, which is most of the cost of writing a feed there
# (benchmark ingest: 21k -> 28k articles/s at 8), and the lock is taken only once the group is read, never
# while waiting on the network. SQLite takes its one write lock at BEGIN, so a group cannot deadlock.
# 16 rather than 8 for large stores: the new articles' random ids then share more index pages
# per commit (20,000 into 100k articles: 25.7k -> 27.9k/s; into 1M: 16.8k -> 18.9k/s; 32 gains no more).
# On PostgreSQL pollers write side by side: one feed a transaction keeps row locks few and short.
SQLITE_FEEDS_PER_TRANSACTION = 16

class Store:
    """A tracker database. Open with :func:`open_store`."""

    def __init__(self, location: str) -> None:
        self.location = str(location)
        self.engine = engine_for(self.location)

    # --- transactions -------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """One transaction; every store error comes out as StoreError."""
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(tracker_write=write)
                if not write and conn.dialect.name == "postgresql":
                    # One snapshot for every statement of a read, as SQLite's read transactions give.
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield conn
        except StoreError:
            raise
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            raise _translate(exc, self.location) from exc

    def write(self, work: Callable[[Connection], T]) -> T:
        """``work`` in one write transaction, run again from the start (up to WRITE_ATTEMPTS times) when
        PostgreSQL ends it to break a deadlock or a serialization conflict between pollers. ``work`` must
        only read and write the database, so running it again is safe."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self.transaction() as conn:
                    return work(conn)
            except StoreError as exc:
                if attempt == WRITE_ATTEMPTS or not _is_transient(exc.__cause__):
                    raise
                time.sleep(random.uniform(0.02, 0.1) * attempt)  # let the other transaction finish first
        raise AssertionError("unreachable")

    def upgrade(self) -> tuple[int, int]:
        """Apply pending migrations. Returns (version before, version after)."""
        with self.transaction() as conn:
            before = schema.current_version(conn)
            if before > schema.SCHEMA_VERSION:
                raise StoreError(f"database schema v{before} is newer than this program "
                                 f"(v{schema.SCHEMA_VERSION}); upgrade tension-tracker", resource=self.location)
            for number, _name, migrate in schema.MIGRATIONS:
                if number > before:
                    migrate(conn)
                    _set_meta(conn, "schema_version", str(number))
        return before, schema.SCHEMA_VERSION

    def schema_version(self) -> int:
        with self.transaction(write=False) as conn:
            return schema.current_version(conn)

    # --- meta ---------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self.transaction(write=False) as conn:
            return conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            _set_meta(conn, key, value)
            _bump(conn)

    # --- feeds --------------------------------------------------------------------------

    def sync_feeds(self, sources: Iterable[FeedSource], now: dt.datetime) -> None:
        """Insert new feeds and refresh the name, URL, language and tags of known ones. A feed whose
        URL changed starts afresh: the old address's ETag and Last-Modified would get a 304 from the
        new one (which then is never read), and its failures and back-off were the old address's."""
        rows = [{"id": s.id, "url": s.url, "name": s.label, "language": s.language,
                 "tags": ";".join(s.tags), "added_at": now} for s in sources]
        if not rows:
            return
        with self.transaction() as conn:
            stmt = _insert(conn, feeds)
            moved = feeds.c.url != stmt.excluded.url
            afresh = {c: case((moved, reset), else_=feeds.c[c]) for c, reset in (
                ("etag", null()), ("last_modified", null()), ("next_poll", null()), ("consecutive_failures", 0))}
            # A feed named by its address keeps the title its document gave (see store_ingest's feed_ok).
            titled = and_(stmt.excluded.name == stmt.excluded.url, feeds.c.title.is_not(None))
            stmt = stmt.on_conflict_do_update(
                index_elements=["id"],
                set_={**afresh, "name": case((titled, feeds.c.title), else_=stmt.excluded.name),
                      **{c: stmt.excluded[c] for c in ("url", "language", "tags")}},
            )
            conn.execute(stmt, rows)
            _bump(conn)

    def feed_states(self) -> dict[str, FeedState]:
        with self.transaction(write=False) as conn:
            rows = conn.execute(select(feeds.c.id, feeds.c.etag, feeds.c.last_modified,
                                       feeds.c.consecutive_failures, feeds.c.next_poll))
            return {r.id: FeedState(Validators(r.etag, r.last_modified), r.consecutive_failures or 0,
                                    r.next_poll) for r in rows}

    def claim_feeds(self, feed_ids: list[str], *, worker: str, now: dt.datetime, lease_seconds: float,
                    respect_schedule: bool, force: bool = False, limit: int | None = None) -> list[str]:
        """Claim the feeds that are due for this worker, so no other poller fetches them now.

        Due: never polled, or next_poll reached; a one-off poll also takes
        healthy feeds early, and ``force`` takes every feed. Feeds leased by another worker
        whose lease has not expired are never taken. On PostgreSQL concurrent claims skip each
        other's locked rows (FOR UPDATE SKIP LOCKED); on SQLite the write lock serialises them.
        ``limit`` claims at most that many, so several pollers share the work.
        """
        if not feed_ids:
            return []
        free = or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now, feeds.c.lease_owner == worker)
        due = or_(feeds.c.next_poll.is_(None), feeds.c.next_poll <= now)
        if not respect_schedule:
            due = or_(due, feeds.c.consecutive_failures == 0)
        conditions = [feeds.c.id.in_(feed_ids), free] + ([] if force else [due])
        with self.transaction() as conn:
            claimed = list(conn.execute(select(feeds.c.id).where(*conditions).order_by(feeds.c.id)
                                        .limit(limit).with_for_update(skip_locked=True)).scalars())
            if claimed:
                conn.execute(update(feeds).where(feeds.c.id.in_(claimed)).values(
                    lease_owner=worker, lease_until=now + dt.timedelta(seconds=lease_seconds)))
        return claimed

    def lease_owners(self, now: dt.datetime) -> list[str]:
        """The pollers holding unexpired claims right now."""
        with self.transaction(write=False) as conn:
            return sorted(conn.execute(select(func.distinct(feeds.c.lease_owner)).where(
                feeds.c.lease_owner.is_not(None), feeds.c.lease_until >= now)).scalars())

    def release_owners(self, owners: list[str]) -> None:
        """Drop every claim held by these pollers (they are known to be gone)."""
        if owners:
            with self.transaction() as conn:
                conn.execute(update(feeds).where(feeds.c.lease_owner.in_(owners))
                             .values(lease_owner=None, lease_until=None))

    def release_feeds(self, feed_ids: list[str], *, worker: str) -> None:
        """Give back claims this worker did not use (e.g. a poll stopped early)."""
        if feed_ids:
            with self.transaction() as conn:
                conn.execute(update(feeds).where(feeds.c.id.in_(feed_ids), feeds.c.lease_owner == worker)
                             .values(lease_owner=None, lease_until=None))

    def record_update(self, source: FeedSource, parsed: ParsedFeed, tagged: list[TaggedItem], *,
                      status: int, validators: Validators, taxonomy_version: str,
                      now: dt.datetime, next_poll: dt.datetime) -> tuple[int, int]:
        """Store one fetched feed in one transaction. Returns (new articles, already known)."""
        return self.record_updates([FeedUpdate(source, parsed, tagged, status, validators, taxonomy_version,
                                               now, next_poll)])[0]

    @property
    def feeds_per_transaction(self) -> int:
        """How many read feeds a poll writes per transaction (see SQLITE_FEEDS_PER_TRANSACTION)."""
        return SQLITE_FEEDS_PER_TRANSACTION if self.engine.dialect.name == "sqlite" else 1

    def record_updates(self, updates: Sequence[FeedUpdate]) -> list[tuple[int, int]]:
        """Store several fetched feeds in one transaction: each feed is wholly in the store or not at
        all, with its health row, and the commit is paid once. Returns (new, already known) per feed."""
        def work(conn: Connection) -> list[tuple[int, int]]:
            counts = []
            w = Writer(conn)
            for u in updates:
                new = store_document(w, u.source.id, u.tagged, u.taxonomy_version, u.now)
                conn.execute(w.sql.feed_ok, {
                    "feed": u.source.id, "title": u.parsed.title or None, "now": u.now, "status": u.status,
                    "next_poll": u.next_poll, "etag": u.validators.etag,
                    "last_modified": u.validators.last_modified, "warning": u.parsed.malformed})
                counts.append((new, len(u.tagged) - new))
            if updates:
                _bump(conn)
            return counts

        return self.write(work)

    def record_not_modified(self, source: FeedSource, *, now: dt.datetime, next_poll: dt.datetime) -> None:
        """A 304: the feed is healthy and nothing else changes."""
        def work(conn: Connection) -> None:
            conn.execute(update(feeds).where(feeds.c.id == source.id).values(
                last_attempt=now, last_success=now, last_error=None, http_status=304,
                consecutive_failures=0, next_poll=next_poll, lease_owner=None, lease_until=None))
            _bump(conn)

        self.write(work)

    def record_error(self, source: FeedSource, error: str, *, status: int | None, now: dt.datetime,
                     next_poll: dt.datetime) -> None:
        """A failed fetch or parse: recorded against the feed; its articles are untouched."""
        def work(conn: Connection) -> None:
            conn.execute(update(feeds).where(feeds.c.id == source.id).values(
                last_attempt=now, last_error=error[:2000], http_status=status,
                consecutive_failures=feeds.c.consecutive_failures + 1, next_poll=next_poll,
                lease_owner=None, lease_until=None))
            _bump(conn)

        self.write(work)

    # --- poll runs ----------------------------------------------------------------------

    def start_run(self, now: dt.datetime, worker: str) -> int:
        with self.transaction() as conn:
            result = conn.execute(poll_runs.insert().values(started=now, worker=worker[:128]))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def finish_run(self, run_id: int, *, now: dt.datetime, feeds_polled: int, new: int, errors: int) -> None:
        with self.transaction() as conn:
            conn.execute(update(poll_runs).where(poll_runs.c.id == run_id).values(
                finished=now, feeds=feeds_polled, new_articles=new, errors=errors))
            _bump(conn)

    # --- retagging ----------------------------------------------------------------------

    def retag(self, tag: Callable[[str, str, str], list[tuple[str, tuple[str, ...]]]], version: str,
              *, batch: int = 2000, force: bool = False) -> tuple[int, int]:
        """Re-tag articles whose tags came from another taxonomy version.

        ``tag(title, summary, language)`` returns (topic, terms) pairs. Each batch is one
        transaction, so an interrupted retag leaves every article consistently tagged
        and the next run carries on. Returns (articles checked, articles whose topics changed).
        """
        checked = changed = 0
        last = 0
        while True:
            with self.transaction() as conn:
                rows = conn.execute(
                    select(articles.c.num, articles.c.title, articles.c.summary, articles.c.language,
                           articles.c.published).where(articles.c.num > last)
                    .order_by(articles.c.num).limit(batch)).all()
                if not rows:
                    break
                last = rows[-1].num
                old: dict[int, dict[str, tuple[str, str]]] = {}
                for t in conn.execute(select(article_topics.c.article_num, article_topics.c.topic,
                                             article_topics.c.terms, article_topics.c.taxonomy_version)
                                      .where(article_topics.c.article_num.between(rows[0].num, last))):
                    old.setdefault(t.article_num, {})[t.topic] = (t.terms, t.taxonomy_version)
                stale = []
                counts: Counter[rollups.DayKey] = Counter()
                for r in rows:
                    previous = old.get(r.num, {})
                    if not force and previous and all(v == version for _, v in previous.values()):
                        continue
                    new = {topic: json.dumps(list(terms), ensure_ascii=False)
                           for topic, terms in tag(r.title, r.summary, r.language)}
                    if {t: terms for t, (terms, _) in previous.items()} != new:
                        changed += 1
                    counts.subtract(rollups.article_keys(r.published, r.language, previous))
                    counts.update(rollups.article_keys(r.published, r.language, new))
                    stale.append((r, new))
                checked += len(rows)
                if stale:
                    stale_nums = [r.num for r, _ in stale]
                    conn.execute(article_topics.delete().where(article_topics.c.article_num.in_(stale_nums)))
                    topic_rows = [{"article_num": r.num, "topic": t, "terms": terms, "taxonomy_version": version,
                                   "published": r.published} for r, new in stale for t, terms in new.items()]
                    if topic_rows:
                        conn.execute(article_topics.insert(), topic_rows)
                    rollups.add_daily(Writer(conn), counts)
                    _recount_feed_topics(conn, [(r, old.get(r.num, {}), new) for r, new in stale])
                    _refresh_stories_of(conn, stale_nums)
                    _bump(conn)
        return checked, changed

    # --- deleting ---------------------------------------------------------------------------

    def prune(self, before: dt.date) -> int:
        """Delete articles published before ``before`` (UTC day), with their topics, sightings
        and rollup rows, in one transaction. Returns the number of articles deleted."""
        cutoff = dt.datetime(before.year, before.month, before.day, tzinfo=dt.UTC)
        old = select(articles.c.num).where(articles.c.published < cutoff)
        with self.transaction() as conn:
            touched = set(conn.execute(select(func.distinct(articles.c.story_id)).where(
                articles.c.published < cutoff, articles.c.story_id.is_not(None))).scalars())
            conn.execute(article_topics.delete().where(article_topics.c.article_num.in_(old)))
            conn.execute(sightings.delete().where(sightings.c.article_num.in_(old)))
            deleted = conn.execute(articles.delete().where(articles.c.published < cutoff)).rowcount
            # Rollup days are UTC publication days, so whole days before the cutoff go with them.
            conn.execute(schema.daily_counts.delete().where(schema.daily_counts.c.day < before))
            conn.execute(schema.feed_daily_counts.delete().where(schema.feed_daily_counts.c.day < before))
            from tracker import store_stories  # stories build on the store, not the other way round

            store_stories.rebuild(conn, touched)
            _bump(conn)
        return int(deleted or 0)

    def rebuild_rollups(self) -> None:
        """Recompute the rollup tables from the articles (a repair tool; never needed in normal use)."""
        with self.transaction() as conn:
            schema.rebuild_rollups(conn)
            _bump(conn)

    # --- reads the writers need -----------------------------------------------------------

    def data_version(self) -> int:
        return int(self.get_meta("data_version") or 0)

    def article_count(self) -> int:
        with self.transaction(write=False) as conn:
            return int(conn.execute(select(func.count()).select_from(articles)).scalar() or 0)


def open_store(location: str, *, upgrade: bool = True) -> Store:
    """Open (and by default create or migrate) the store at a path or database URL. Without
    ``upgrade``, the store must exist and be of this program's schema: a reader never migrates."""
    if not upgrade and _missing_sqlite_file(location):  # a reader must not leave folders or a file behind
        raise StoreError("no tracker database here yet; run `tracker poll` or `tracker demo` first "
                         "(or check the path)", resource=location)
    store = Store(location)
    if upgrade:
        store.upgrade()
        return store
    version = store.schema_version()
    if version == 0:
        raise StoreError("no tracker database here yet; run `tracker poll` or `tracker demo` first",
                         resource=location)
    if version < schema.SCHEMA_VERSION:
        raise StoreError(f"the database has schema v{version}, older than this program's "
                         f"v{schema.SCHEMA_VERSION}; run `tracker db upgrade` first", resource=location)
    return store


# --- helpers inside a transaction -------------------------------------------------------------

def _insert(conn: Connection, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on both engines."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _set_meta(conn: Connection, key: str, value: str) -> None:
    stmt = _insert(conn, meta).values(key=key, value=value)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


_BUMP = update(meta).where(meta.c.key == "data_version").values(value=cast(cast(meta.c.value, BigInteger) + 1, Text))


def _bump(conn: Connection) -> None:
    """Tell cached readers that something changed."""
    conn.execute(_BUMP)


def _recount_feed_topics(conn: Connection, changes: list[tuple[Any, dict[str, Any], dict[str, Any]]]) -> None:
    """Move each feed's per-topic rollup from an article's old topics to its new ones."""
    by_num = {r.num: (r, previous, new) for r, previous, new in changes}
    counts: Counter[rollups.FeedKey] = Counter()
    nums = list(by_num)
    for start in range(0, len(nums), BATCH):
        for num, feed_id in conn.execute(select(sightings.c.article_num, sightings.c.feed_id)
                                         .where(sightings.c.article_num.in_(nums[start:start + BATCH]))):
            r, previous, new = by_num[num]
            counts.subtract(rollups.feed_keys(r.published, feed_id, previous)[1:])
            counts.update(rollups.feed_keys(r.published, feed_id, new)[1:])
    rollups.add_feed_daily(Writer(conn), counts)


def _refresh_stories_of(conn: Connection, nums: list[int]) -> None:
    """After articles' topics changed, their stories' topics (the union) change too."""
    from tracker import store_stories  # stories build on the store, not the other way round

    touched: set[str] = set()
    for start in range(0, len(nums), BATCH):
        touched.update(conn.execute(select(func.distinct(articles.c.story_id)).where(
            articles.c.num.in_(nums[start:start + BATCH]), articles.c.story_id.is_not(None))).scalars())
    store_stories.rebuild(conn, touched)
