"""Reading fetched documents (parse, then tag), in this process or in worker processes.

Reading is the part of a poll that needs the CPU: feedparser, our plain-text pass and the tagger.
Fetching waits on the network and storing on the database, so a large poll reads its documents
in a pool of worker processes, one per core, while the main process stores what has been read.
A small poll reads in process: starting workers costs more than it saves there.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import pickle
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType

from tracker import fetch, parse, topics
from tracker.errors import ParseError
from tracker.models import ParsedFeed, TaggedItem

__all__ = ["Reading", "Readers", "read_document"]


@dataclass(frozen=True)
class Reading:
    """A fetched document parsed and tagged, or the reason it could not be."""

    parsed: ParsedFeed | None = None
    tagged: tuple[TaggedItem, ...] = ()
    error: str | None = None


def read_document(result: fetch.FetchResult, taxonomy: topics.Taxonomy, fetched_at: dt.datetime) -> Reading:
    """Parse and tag one fetched document. Never raises: a bad feed is a Reading with an error."""
    try:
        parsed = parse.parse_feed(result.source, result.content or b"", fetched_at=fetched_at, url=result.url,
                                  headers=result.headers)
        return Reading(parsed, tuple(TaggedItem(item, topics.tag(taxonomy, item.title, item.summary, item.language))
                                     for item in parsed.items))
    except ParseError as exc:
        return Reading(error=exc.reason)
    except Exception as exc:  # a feed must never take the poll down; record it and go on
        return Reading(error=f"unexpected {type(exc).__name__} while reading the feed: {exc}")


# --- worker processes -----------------------------------------------------------------------------

_worker_taxonomy: topics.Taxonomy | None = None


def _start_worker(taxonomy: bytes, poller: int) -> None:
    global _worker_taxonomy
    threading.Thread(target=_exit_with, args=(poller,), name="exit-with-poller", daemon=True).start()
    _worker_taxonomy = pickle.loads(taxonomy)


def _exit_with(poller: int) -> None:
    # A poller killed outright (SIGKILL, OOM) cannot stop its workers, and they would wait for work
    # forever, holding its terminal's pipes open. A worker whose parent is gone has been handed to
    # another process (init), so each worker watches its parent's pid change.
    while os.getppid() == poller:
        time.sleep(0.5)
    os._exit(0)


def _read_in_worker(result: fetch.FetchResult, fetched_at: dt.datetime) -> Reading:
    assert _worker_taxonomy is not None, "the worker was started without a taxonomy"
    return read_document(result, _worker_taxonomy, fetched_at)


def _context() -> multiprocessing.context.BaseContext:
    # Spawned, never forked: the poller may run in a threaded process (the dashboard's "Poll now"),
    # and a forked copy of another thread's held lock never comes free. A worker is then a child of
    # the poller itself, which is what lets it notice the poller's death (_exit_with).
    return multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class PendingReading:
    result: fetch.FetchResult
    fetched_at: dt.datetime
    future: Future[Reading]

    def done(self) -> bool:
        return self.future.done()


class Readers:
    """Reads documents in ``workers`` processes, or in this process when ``workers`` < 2.

    If a worker dies (the pool breaks), the documents it had not read are read here instead, and so
    is every later one: the poll goes on either way.
    """

    def __init__(self, taxonomy: topics.Taxonomy, workers: int) -> None:
        self._taxonomy = taxonomy
        self._pool = (ProcessPoolExecutor(workers, mp_context=_context(), initializer=_start_worker,
                                          initargs=(pickle.dumps(taxonomy), os.getpid())) if workers >= 2 else None)

    @property
    def parallel(self) -> bool:
        return self._pool is not None

    def submit(self, result: fetch.FetchResult, fetched_at: dt.datetime) -> PendingReading:
        if self._pool is not None:
            try:
                return PendingReading(result, fetched_at, self._pool.submit(_read_in_worker, result, fetched_at))
            except BrokenProcessPool:
                self._give_up_pool()
        future: Future[Reading] = Future()
        future.set_result(read_document(result, self._taxonomy, fetched_at))
        return PendingReading(result, fetched_at, future)

    def reading(self, pending: PendingReading) -> Reading:
        """The document's Reading, waiting for its worker if need be."""
        try:
            return pending.future.result()
        except Exception as exc:  # the worker died, or its answer could not come back: read it here
            if isinstance(exc, BrokenProcessPool):
                self._give_up_pool()
            return read_document(pending.result, self._taxonomy, pending.fetched_at)

    def _give_up_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Readers:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
