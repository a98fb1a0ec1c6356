"""Reading documents in worker processes: the same result as in process, and no loss when a worker dies."""

from __future__ import annotations

import datetime as dt
import os
import signal
from pathlib import Path

import pytest

from tracker import poller, queries, reading, topics
from tracker.config import Settings
from tracker.models import FeedSource, FetchResult
from tracker.store import open_store

from .conftest import POLL_DATA
from .test_faults import rss_feed

FETCHED = dt.datetime(2024, 5, 23, 12, 0, tzinfo=dt.UTC)


def local_feeds(folder: Path, count: int) -> list[FeedSource]:
    """``count`` local feeds of 8 items each, and one that is not a feed at all."""
    folder.mkdir()
    sources = []
    for n in range(count):
        path = folder / f"f{n}.rss"
        path.write_bytes(rss_feed(f"f{n}", 8, summary_words=40))
        sources.append(FeedSource(f"f{n}", str(path), allow_local=True))
    broken = folder / "broken.rss"
    broken.write_bytes(b"<html><body>Not a feed</body></html>")
    return [*sources, FeedSource("broken", str(broken), allow_local=True)]


def stored(db: str) -> list[tuple[str, str, str, str]]:
    frame = queries.articles_frame(db)
    return sorted(zip(frame["id"], frame["title"], frame["topics"], frame["story_id"], strict=True))


def test_a_large_poll_reads_in_workers_and_stores_what_a_serial_poll_stores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = local_feeds(tmp_path / "feeds", poller.PARALLEL_READ_MIN_FEEDS)
    used: list[bool] = []
    real_readers = reading.Readers

    def watched(taxonomy: topics.Taxonomy, workers: int) -> reading.Readers:
        readers = real_readers(taxonomy, workers)
        used.append(readers.parallel)
        return readers

    monkeypatch.setattr(poller, "Readers", watched)
    reports = {}
    for workers in (2, 0):
        db = str(tmp_path / f"workers-{workers}.sqlite")
        reports[workers] = poller.poll(open_store(db), sources, settings=Settings(db=db, read_workers=workers))
    assert used == [True, False]
    parallel, serial = reports[2], reports[0]
    assert (parallel.new, parallel.errors) == (serial.new, serial.errors) == (8 * (len(sources) - 1), 1)
    assert [f.error for f in parallel.feeds if f.error] == [f.error for f in serial.feeds if f.error]
    assert stored(str(tmp_path / "workers-2.sqlite")) == stored(str(tmp_path / "workers-0.sqlite"))


def test_a_small_poll_reads_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[bool] = []
    real_readers = reading.Readers
    monkeypatch.setattr(poller, "Readers", lambda taxonomy, workers: used.append(workers >= 2)
                        or real_readers(taxonomy, workers))
    db = str(tmp_path / "small.sqlite")
    poller.poll(open_store(db), local_feeds(tmp_path / "feeds", 3), settings=Settings(db=db, read_workers=2))
    assert used == [False]


def test_documents_of_a_dead_worker_are_read_in_process() -> None:
    taxonomy = topics.load_taxonomy()
    source = FeedSource("basic", str(POLL_DATA / "basic.rss"), allow_local=True)
    result = FetchResult(source, source.url, 200, (POLL_DATA / "basic.rss").read_bytes())
    expected = reading.read_document(result, taxonomy, FETCHED)
    with reading.Readers(taxonomy, 2) as readers:
        assert readers.parallel
        assert readers.reading(readers.submit(result, FETCHED)) == expected  # the pool works
        for pid in list(readers._pool._processes):  # type: ignore[union-attr]  # kill its workers outright
            os.kill(pid, signal.SIGKILL)
        pending = [readers.submit(result, FETCHED) for _ in range(5)]
        assert [readers.reading(p) for p in pending] == [expected] * 5
        assert not readers.parallel  # and the rest of the poll reads in process
        assert readers.reading(readers.submit(result, FETCHED)) == expected
    assert expected.parsed is not None and len(expected.tagged) == 3
