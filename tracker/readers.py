"""Parsing fetched documents, on every core when a poll is large enough to pay for it.

Parsing (feedparser plus our clean-up) is most of a poll's CPU time, and one Python process uses
one core. `Readers` hands documents to worker processes forked at the start of the poll; the
poll's own process tags and stores what comes back. A small poll, a one-core machine, a platform
without fork, or a process already running other threads reads in the poll's own process.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import gc
import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor

from tracker import parse
from tracker.errors import ParseError
from tracker.models import FetchResult, ParsedFeed

# Below this many feeds in a poll, forking workers costs more than it saves.
MIN_FEEDS_FOR_PROCESSES = 8
# Parsing takes about four times as long as the tagging and storing left to the poll's own process
# (1.8 s against 0.5 s per 10,000 articles here): more workers than this would wait on it.
MAX_AUTO_PROCESSES = 4
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def parse_document(result: FetchResult, fetched_at: dt.datetime) -> ParsedFeed | str:
    """The parsed document, or the reason it could not be read. Never raises."""
    try:
        return parse.parse_feed(result.source, result.content or b"", fetched_at=fetched_at, url=result.url,
                                headers=result.headers)
    except ParseError as exc:
        return exc.reason
    except Exception as exc:  # a feed must never take the poll down; it is recorded and the poll goes on
        return f"unexpected {type(exc).__name__} while reading the feed: {exc}"


def _start_worker(parent: int) -> None:
    """A worker leaves Ctrl-C to the poll, and dies with it: a killed poll must not leave
    workers behind (they hold its pipes, and would wait for work for ever)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the poll died before the line above
        os._exit(1)


def processes_for(feeds: int, setting: int) -> int:
    """How many reader processes a poll of ``feeds`` feeds uses; 0 means it reads in its own process.

    ``setting`` is Settings.read_processes: 0 chooses (one per core for a large poll, at most
    MAX_AUTO_PROCESSES, none on one core), 1 never forks, N forks N.
    """
    if setting == 1 or feeds < MIN_FEEDS_FOR_PROCESSES:
        return 0
    # Forking copies only the calling thread: a lock another thread held at that moment stays held
    # for ever in the child. So only a process with no other thread forks (the CLI's polls do; the
    # dashboard's "poll now" thread does not).
    if sys.platform != "linux" or threading.active_count() > 1:
        return 0
    if setting > 1:
        return setting
    cores = min(len(os.sched_getaffinity(0)), MAX_AUTO_PROCESSES)
    return cores if cores > 1 else 0


class Readers:
    """Parses documents in ``processes`` forked workers (0: in this process, when asked)."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        if processes:
            # Frozen objects are never collected: a child must not finalise the parent's objects
            # (closing an inherited SQLite connection in a child can remove the parent's WAL file).
            gc.freeze()
            try:
                self._pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                                                 initializer=_start_worker, initargs=(os.getpid(),))
                self._pool.submit(int).result()  # a fork pool forks all its workers at the first task: now
            except (OSError, RuntimeError):  # no fork to be had (process limits): read in this process
                self._drop_pool()
                self.processes = 0
            finally:
                gc.unfreeze()

    def submit(self, result: FetchResult, fetched_at: dt.datetime) -> Future[ParsedFeed | str]:
        future: Future[ParsedFeed | str]
        if self._pool is not None:
            try:
                return self._pool.submit(parse_document, result, fetched_at)
            except RuntimeError:  # the pool broke (a worker was killed): read here from now on
                self._drop_pool()
        future = Future()
        future.set_result(parse_document(result, fetched_at))
        return future

    @staticmethod
    def outcome(future: Future[ParsedFeed | str], result: FetchResult,
                fetched_at: dt.datetime) -> ParsedFeed | str:
        """A finished future's document; read again here if its worker died under it."""
        try:
            return future.result()
        except Exception:  # BrokenProcessPool: parse_document itself never raises
            return parse_document(result, fetched_at)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def _drop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
