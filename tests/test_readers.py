"""Reading a large poll's documents on several cores: the same store as reading on one, workers
that die are replaced by reading in the poll's own process, and no fork where it is unsafe.

Forking happens in `tracker` subprocesses (single-threaded, as the CLI is), never in the test
process, whose fixtures run threads.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterable
from pathlib import Path

import pytest

from tracker import readers

from .conftest import DATA
from .test_faults import TRACKER, db_rows, tracker_env


def write_listing(path: Path, feeds: Iterable[tuple[str, str]]) -> Path:
    """A feeds.toml of (id, url) pairs."""
    path.write_text("".join(f'[[feeds]]\nid = "{i}"\nurl = "{url}"\n\n' for i, url in feeds), encoding="utf-8")
    return path


def poll_listing(listing: Path, db: Path | str, processes: int, *, timeout: float = 120, **variables: str) -> str:
    """`tracker poll` over a listing with TRACKER_READ_PROCESSES=``processes``; its output."""
    done = subprocess.run([TRACKER, "poll", "--feeds", str(listing), "--db", str(db)], capture_output=True,
                          text=True, timeout=timeout,
                          env=tracker_env(TRACKER_READ_PROCESSES=str(processes), **variables))
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def stored(db: Path) -> dict[str, object]:
    """What a poll leaves, apart from times and arrival order. An article in several feeds keeps
    the text of the feed that arrived first, which varies from poll to poll (fetches finish in any
    order), so only its id is compared."""
    sightings = sorted(db_rows(str(db), "SELECT a.id, s.feed_id FROM sightings s "
                                        "JOIN articles a ON a.num = s.article_num"))
    feeds_of = collections.Counter(article for article, _ in sightings)
    return {
        "articles": sorted(row if feeds_of[row[0]] == 1 else row[:1] for row in
                           db_rows(str(db), "SELECT id, title, summary, link, language FROM articles")),
        "topics": sorted(row for row in db_rows(str(db), "SELECT a.id, t.topic, t.terms FROM article_topics t "
                                                         "JOIN articles a ON a.num = t.article_num")
                         if feeds_of[row[0]] == 1),
        "sightings": sightings,
        "feeds": sorted(db_rows(str(db), "SELECT id, last_error, last_success IS NOT NULL FROM feeds")),
    }


def test_a_poll_read_on_two_cores_stores_exactly_what_one_core_stores(tmp_path: Path) -> None:
    # Every file of the parser's test data: good feeds, broken ones, HTML pages, an entity bomb.
    files = sorted(p for p in (DATA / "feeds").iterdir() if p.suffix in {".xml", ".json", ".html", ".txt"})
    assert len(files) >= readers.MIN_FEEDS_FOR_PROCESSES
    listing = write_listing(tmp_path / "feeds.toml", ((f"f{n}", str(p)) for n, p in enumerate(files)))
    one, two = poll_listing(listing, tmp_path / "one.sqlite", 1), poll_listing(listing, tmp_path / "two.sqlite", 2)
    assert "parsed in" not in one
    assert "parsed in 2 processes" in two
    on_one, on_two = stored(tmp_path / "one.sqlite"), stored(tmp_path / "two.sqlite")
    assert on_two == on_one
    failed = [error for _, error, _ in on_one["feeds"] if error]  # type: ignore[attr-defined]
    assert len(on_one["articles"]) > 20 and len(failed) >= 5  # type: ignore[arg-type]


WORKER_DIES = textwrap.dedent("""
    import datetime as dt, json, os, signal, sys
    from tracker import readers
    from tracker.models import FeedSource, FetchResult, ParsedFeed
    path = sys.argv[1]
    result = FetchResult(FeedSource(id="f", url=path, allow_local=True), path, 200, open(path, "rb").read())
    now = dt.datetime.now(dt.timezone.utc)
    pool = readers.Readers(2)
    first = pool.outcome(pool.submit(result, now), result, now)
    for worker in list(pool._pool._processes.values()):
        os.kill(worker.pid, signal.SIGKILL)
    after = [pool.outcome(pool.submit(result, now), result, now) for _ in range(3)]
    pool.close()
    print(json.dumps([len(d.items) if isinstance(d, ParsedFeed) else d for d in [first, *after]]))
""")


def test_documents_are_still_read_when_a_worker_process_dies(tmp_path: Path) -> None:
    feed = DATA / "feeds" / "atom10.xml"
    done = subprocess.run([sys.executable, "-c", WORKER_DIES, str(feed)], capture_output=True, text=True,
                          timeout=60, env=tracker_env())
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert counts[0] > 0 and counts == [counts[0]] * 4


def test_small_polls_and_threaded_processes_read_in_their_own_process() -> None:
    assert readers.processes_for(readers.MIN_FEEDS_FOR_PROCESSES - 1, 0) == 0
    assert readers.processes_for(500, 1) == 0  # asked for one process
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:  # forking copies only this thread: a lock the other holds would stay held in the child
        assert readers.processes_for(500, 0) == 0
    finally:
        stop.set()
        thread.join()


@pytest.mark.skipif(sys.platform != "linux" or len(os.sched_getaffinity(0)) < 2, reason="needs Linux, 2 cores")
def test_a_large_poll_in_a_single_threaded_process_reads_on_every_core() -> None:
    script = "from tracker import readers; print(readers.processes_for(500, 0), readers.processes_for(500, 3))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    cores = len(os.sched_getaffinity(0))
    assert done.stdout.split() == [str(min(cores, readers.MAX_AUTO_PROCESSES)), "3"]


DUE_ROUND = textwrap.dedent("""
    import datetime as dt, sys
    from sqlalchemy import update
    from tracker import poller, sources
    from tracker.config import Settings
    from tracker.schema import feeds
    from tracker.store import open_store
    store = open_store(sys.argv[2])
    chosen = list(sources.load_sources(sys.argv[1]))
    first = poller.poll(store, chosen, settings=Settings(db=sys.argv[2]))
    with store.transaction() as conn:  # two feeds come due, as in a round of `tracker watch`
        conn.execute(update(feeds).where(feeds.c.id.in_(["f0", "f1"])).values(
            next_poll=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)))
    later = poller.poll(store, chosen, settings=Settings(db=sys.argv[2]), respect_schedule=True)
    print(first.read_processes, len([f for f in later.feeds if f.outcome == "updated"]), later.read_processes)
""")


@pytest.mark.skipif(sys.platform != "linux" or len(os.sched_getaffinity(0)) < 2, reason="needs Linux, 2 cores")
def test_a_round_with_few_feeds_due_reads_in_its_own_process(tmp_path: Path) -> None:
    for n in range(12):
        shutil.copy(DATA / "feeds" / "atom10.xml", tmp_path / f"f{n}.xml")
    listing = write_listing(tmp_path / "feeds.toml", ((f"f{n}", f"f{n}.xml") for n in range(12)))
    done = subprocess.run([sys.executable, "-c", DUE_ROUND, str(listing), str(tmp_path / "t.sqlite")],
                          capture_output=True, text=True, timeout=60, env=tracker_env())
    assert done.returncode == 0, done.stderr
    cores = len(os.sched_getaffinity(0))
    assert done.stdout.split() == [str(min(cores, readers.MAX_AUTO_PROCESSES)), "2", "0"]
