"""Orchestration only: sources -> fetch -> parse -> tag -> store, returning a PollReport.

The decisions (is a feed due, when to try again) are pure functions below; `poll`
only sequences the I/O. One feed's failure is recorded against that feed and the
poll goes on; only a store failure stops it.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import dataclass

from tracker import fetch, readers, store_stories, topics
from tracker.config import Settings
from tracker.errors import FetchError, StoreError
from tracker.models import (
    FeedReport,
    FeedSource,
    FeedState,
    FeedUpdate,
    ParsedFeed,
    PollReport,
    TaggedItem,
    Validators,
)
from tracker.store import Store

Progress = Callable[[FeedReport], None]
CLAIM_BATCH_PER_WORKER = 4  # feeds claimed per fetch thread at a time


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def dead_local_owners(owners: Sequence[str], host: str, alive: Callable[[int], bool] = _process_alive) -> list[str]:
    """Lease owners ("host:pid") on this host whose process is gone: a poller killed mid-poll.

    Their claims can be dropped at once instead of waiting for the lease to expire; owners on
    other hosts cannot be checked from here and keep their leases until they expire.
    """
    dead = []
    for owner in owners:
        owner_host, _, pid = owner.rpartition(":")
        if owner_host == host and pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            dead.append(owner)
    return dead


# --- pure decisions ---------------------------------------------------------------------------

def next_poll_after_success(now: dt.datetime, interval: float, rng: random.Random | None = None) -> dt.datetime:
    """The next slot, jittered by ±10 % so feeds on one host do not synchronise."""
    rng = rng or random.Random()
    return now + dt.timedelta(seconds=interval * rng.uniform(0.9, 1.1))


def next_poll_after_failure(now: dt.datetime, failures: int, interval: float, max_backoff: float,
                            retry_after: float | None = None, rng: random.Random | None = None) -> dt.datetime:
    """Exponential backoff with a cap, never stopping for good.

    A server's Retry-After (429/503) sets the next attempt instead, up to the same cap.
    """
    if retry_after is not None:
        return now + dt.timedelta(seconds=min(max(retry_after, 1.0), max_backoff))
    rng = rng or random.Random()
    delay = min(interval * 2 ** max(failures - 1, 0), max_backoff) * rng.uniform(0.9, 1.1)
    return now + dt.timedelta(seconds=delay)


# --- the pipeline -----------------------------------------------------------------------------

def poll(store: Store, sources: Sequence[FeedSource], *, settings: Settings | None = None,
         taxonomy: topics.Taxonomy | None = None, respect_schedule: bool = False, force: bool = False,
         progress: Progress | None = None, demo: bool = False) -> PollReport:
    """Poll the feeds once and store what is new. Raises StoreError only.

    ``demo`` marks the store as the demo store; demo and real feeds never share a store.
    """
    settings = settings or Settings.from_env()
    taxonomy = taxonomy or topics.load_taxonomy(settings.topics_file)
    _check_store_kind(store, demo)
    started = _now()
    worker = worker_name()
    store.sync_feeds(sources, started)
    states = store.feed_states()
    run_id = store.start_run(started, worker)
    reports: list[FeedReport] = []

    def finish(report: FeedReport) -> None:
        reports.append(report)
        if progress:
            progress(report)

    # Claim feeds a batch at a time, so several pollers sharing one store share the work.
    store.release_owners(dead_local_owners(store.lease_owners(started), socket.gethostname()))
    pending = {s.id: s for s in sources}
    processes = _poll_batches(store, pending, states, settings, worker, taxonomy, respect_schedule, force, finish)
    for source in pending.values():  # not due yet, or another poller has it right now
        finish(FeedReport(source.id, source.url, "skipped"))
    # Group the new articles into stories (and any left pending by an interrupted poll).
    clustering_started = time.perf_counter()
    clustered = store_stories.cluster_pending(store)
    report = PollReport(started=started, finished=_now(), feeds=tuple(reports), clustered=clustered,
                        clustering_seconds=time.perf_counter() - clustering_started, read_processes=processes)
    polled = sum(1 for r in reports if r.outcome != "skipped")
    store.finish_run(run_id, now=report.finished, feeds_polled=polled, new=report.new, errors=report.errors)
    return report


def _poll_batches(store: Store, pending: dict[str, FeedSource], states: dict[str, FeedState], settings: Settings,
                  worker: str, taxonomy: topics.Taxonomy, respect_schedule: bool, force: bool,
                  finish: Progress) -> int:
    """Claim, fetch, read and store feeds a batch at a time; returns the reader processes used."""
    reading_pool: readers.Readers | None = None
    try:
        while pending:
            claimed = store.claim_feeds(list(pending), worker=worker, now=_now(), lease_seconds=settings.lease_seconds,
                                        respect_schedule=respect_schedule, force=force,
                                        limit=settings.max_workers * CLAIM_BATCH_PER_WORKER)
            if not claimed:
                break
            if reading_pool is None:  # sized by the first claim: a watch round with two feeds due does not fork
                reading_pool = readers.Readers(readers.processes_for(len(claimed), settings.read_processes))
            jobs = [(pending.pop(i), (states.get(i) or FeedState()).validators) for i in claimed]
            _poll_batch(store, jobs, states, settings, worker, taxonomy, reading_pool, finish)
        return reading_pool.processes if reading_pool else 0
    finally:
        if reading_pool is not None:
            reading_pool.close()


def _poll_batch(store: Store, jobs: Sequence[tuple[FeedSource, Validators | None]], states: dict[str, FeedState],
                settings: Settings, worker: str, taxonomy: topics.Taxonomy, reading_pool: readers.Readers,
                finish: Progress) -> None:
    """Fetch, read and store one batch of claimed feeds; documents are read while others download."""
    unused = {source.id for source, _ in jobs}
    ready: list[tuple[FeedSource, fetch.FetchResult, Reading]] = []  # read, not yet written
    reading: dict[Future[ParsedFeed | str], tuple[FeedSource, fetch.FetchResult, dt.datetime]] = {}

    def take(future: Future[ParsedFeed | str]) -> None:
        nonlocal ready
        source, outcome, fetched_at = reading.pop(future)
        document = tag_document(reading_pool.outcome(future, outcome, fetched_at), taxonomy)
        if document.parsed is None or document.error is not None:
            finish(_store_outcome(store, source, outcome, document, states.get(source.id) or FeedState(), settings))
            unused.discard(source.id)
            return
        ready.append((source, outcome, document))
        if len(ready) == store.feeds_per_transaction:
            unused.difference_update(_store_updates(store, ready, settings, taxonomy.version, finish))
            ready = []

    try:
        for source, outcome in fetch.fetch_many(jobs, settings=settings):
            if isinstance(outcome, fetch.FetchResult) and not outcome.not_modified:
                fetched_at = _now()
                reading[reading_pool.submit(outcome, fetched_at)] = (source, outcome, fetched_at)
            else:
                finish(_store_outcome(store, source, outcome, None, states.get(source.id) or FeedState(), settings))
                unused.discard(source.id)
            for future in [f for f in reading if f.done()]:
                take(future)
        for future in as_completed(list(reading)):
            take(future)
        unused.difference_update(_store_updates(store, ready, settings, taxonomy.version, finish))
    finally:
        store.release_feeds(sorted(unused), worker=worker)  # claims an interrupted poll did not use


@dataclass(frozen=True)
class Reading:
    """A fetched document parsed and tagged, or the reason it could not be."""

    parsed: ParsedFeed | None = None
    tagged: tuple[TaggedItem, ...] = ()
    error: str | None = None


def tag_document(parsed: ParsedFeed | str, taxonomy: topics.Taxonomy) -> Reading:
    """Tag a parsed document's items; a string is the reason the document could not be read."""
    if isinstance(parsed, str):
        return Reading(error=parsed)
    try:
        return Reading(parsed, tuple(TaggedItem(item, topics.tag(taxonomy, item.title, item.summary, item.language))
                                     for item in parsed.items))
    except Exception as exc:  # a feed must never take the poll down; record it and go on
        return Reading(error=f"unexpected {type(exc).__name__} while tagging the feed: {exc}")


def _store_updates(store: Store, ready: list[tuple[FeedSource, fetch.FetchResult, Reading]], settings: Settings,
                   taxonomy_version: str, finish: Progress) -> list[str]:
    """Write these read feeds in one transaction; returns their ids."""
    if not ready:
        return []
    now = _now()
    updates = []
    for source, result, reading in ready:
        assert reading.parsed is not None
        updates.append(FeedUpdate(source, reading.parsed, reading.tagged, result.status,
                                  Validators(result.etag, result.last_modified), taxonomy_version, now,
                                  next_poll_after_success(now, settings.poll_interval)))  # jittered per feed
    for update, (new, seen), (_, result, _) in zip(updates, store.record_updates(updates), ready, strict=True):
        finish(FeedReport(update.source.id, update.source.url, "updated", new=new, seen=seen,
                          skipped=update.parsed.skipped, http_status=result.status, elapsed=result.elapsed,
                          warning=update.parsed.malformed))
    return [update.source.id for update in updates]


def _store_outcome(store: Store, source: FeedSource, outcome: fetch.FetchResult | FetchError,
                   reading: Reading | None, state: FeedState, settings: Settings) -> FeedReport:
    """Record a failed fetch, a 304 Not Modified (no reading), or a document that could not be read."""
    now = _now()
    if isinstance(outcome, FetchError):
        return _record_failure(store, source, state, settings, now, outcome.reason, outcome.status,
                               outcome.retry_after)
    if reading is not None:
        return _record_failure(store, source, state, settings, now, reading.error or "unreadable", outcome.status)
    store.record_not_modified(source, now=now, next_poll=next_poll_after_success(now, settings.poll_interval))
    return FeedReport(source.id, source.url, "not_modified", http_status=outcome.status, elapsed=outcome.elapsed)


def _record_failure(store: Store, source: FeedSource, state: FeedState, settings: Settings, now: dt.datetime,
                    reason: str, status: int | None, retry_after: float | None = None) -> FeedReport:
    failures = state.consecutive_failures + 1
    next_poll = next_poll_after_failure(now, failures, settings.poll_interval, settings.max_backoff, retry_after)
    store.record_error(source, reason, status=status, now=now, next_poll=next_poll)
    return FeedReport(source.id, source.url, "error", http_status=status, error=reason)


def _check_store_kind(store: Store, demo: bool) -> None:
    """Keep demo articles out of a user's store, and real feeds out of the demo store."""
    is_demo_store = store.get_meta("demo") == "1"
    if demo and not is_demo_store:
        if store.article_count():
            raise StoreError("holds your own articles; build the demo in a separate database "
                             "(`tracker demo` uses data/demo.sqlite by default)", resource=store.location)
        store.set_meta("demo", "1")
    elif not demo and is_demo_store:
        raise StoreError("is the demo database; poll your feeds into another database (--db)",
                         resource=store.location)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- demo and watch -----------------------------------------------------------------------------

def build_demo(store: Store, *, settings: Settings | None = None, taxonomy: topics.Taxonomy | None = None,
               feeds_file: str | None = None) -> PollReport:
    """Fill a (new or demo) store from the demo feeds under data/demo/, marking it as demo."""
    from tracker import config, sources  # local: only the demo needs the default paths

    demo_sources = sources.load_sources(feeds_file or config.DEMO_DIR / "feeds.toml")
    return poll(store, demo_sources, settings=settings, taxonomy=taxonomy, force=True, demo=True)


def watch(store: Store, load_sources: Callable[[], Sequence[FeedSource]], *, settings: Settings,
          on_report: Callable[[PollReport], None], should_stop: Callable[[float], bool]) -> None:
    """Poll on a schedule until ``should_stop(seconds)`` (which waits) returns True.

    The feed list and taxonomy are re-read every round, so edits take effect without a
    restart. Failing feeds back off (see next_poll_after_failure) and recover on their own.
    """
    with _single_watcher(store):
        while True:
            taxonomy = topics.load_taxonomy(settings.topics_file)
            report = poll(store, load_sources(), settings=settings, taxonomy=taxonomy, respect_schedule=True)
            on_report(report)
            states = store.feed_states().values()
            upcoming = [s.next_poll for s in states if s.next_poll is not None]
            wait = settings.poll_interval
            if upcoming:
                wait = (min(upcoming) - _now()).total_seconds()
            # Never spin, never sleep past the interval; a little jitter spreads restarts.
            wait = min(max(wait, 5.0), settings.poll_interval) * random.uniform(1.0, 1.05)
            if should_stop(wait):
                return


class _single_watcher:
    """On SQLite, one watcher per database file (an OS lock, released if the process dies)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.handle: object = None

    def __enter__(self) -> _single_watcher:
        database = self.store.engine.url.database
        if self.store.engine.dialect.name != "sqlite" or not database:
            return self
        import fcntl

        lock_path = database + ".watch.lock"
        handle = open(lock_path, "a+")  # noqa: SIM115 - held open for the watcher's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StoreError(f"another `tracker watch` ({holder}) is already polling this database; "
                             "SQLite takes one watcher (use PostgreSQL for several)",
                             resource=self.store.location) from None
        handle.truncate(0)
        handle.write(worker_name())
        handle.flush()
        self.handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()  # type: ignore[attr-defined]
