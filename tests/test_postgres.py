"""PostgreSQL as the shared store: copying a store over, and several watchers sharing the feeds.

Real PostgreSQL (started by the pg_server fixture), real `tracker` processes, feeds served by a
real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tracker import cli, poller, queries, store_copy
from tracker.config import Settings
from tracker.errors import StoreError
from tracker.models import FeedSource
from tracker.store import WRITE_ATTEMPTS, open_store

from .test_faults import rss_feed
from .test_store import FEED_A, NOW, item, store_feed, tagged

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TRACKER = str(Path(sys.executable).with_name("tracker"))


def export_digest(db: str, *extra: str) -> str:
    result = CliRunner().invoke(cli.main, ["export", "--db", db, *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return hashlib.sha256(result.output.encode()).hexdigest()


def test_copy_demo_store_to_postgres_and_back(pg_server, demo_db: str, tmp_path: Path) -> None:
    url = pg_server.url()
    result = CliRunner().invoke(cli.main, ["db", "copy", "--from", demo_db, "--to", url])
    assert result.exit_code == 0, result.output
    assert store_copy.row_counts(open_store(url)) == store_copy.row_counts(open_store(demo_db))
    for extra in ((), ("--stories",), ("--index",)):
        assert export_digest(url, *extra) == export_digest(demo_db, *extra)
    # Copying again would duplicate rows: refused.
    again = CliRunner().invoke(cli.main, ["db", "copy", "--from", demo_db, "--to", url])
    assert again.exit_code == 1 and "already holds articles" in again.output
    # And back to SQLite, row for row.
    back = str(tmp_path / "back.sqlite")
    assert CliRunner().invoke(cli.main, ["db", "copy", "--from", url, "--to", back]).exit_code == 0
    assert store_copy.row_counts(open_store(back)) == store_copy.row_counts(open_store(demo_db))
    assert export_digest(back) == export_digest(demo_db)
    # New articles take keys after the copied ones on both engines: a reused key would lose them.
    for location in (url, back):
        target = open_store(location)
        target.sync_feeds([FEED_A], NOW)
        assert store_feed(target, FEED_A, [tagged(item(10**6))]) == (1, 0)


def test_every_command_works_on_postgres(pg_server, tmp_path: Path) -> None:
    url = pg_server.url()
    feed = str(Path(__file__).parent / "data" / "poll" / "basic.rss")
    for args in (["db", "upgrade"], ["poll", "--feed", feed], ["stats"], ["feeds", "list", "--format", "json"],
                 ["retag", "--force"], ["export", "--topic", "taiwan"], ["export", "--stories"]):
        result = CliRunner().invoke(cli.main, [*args, "--db", url])
        assert result.exit_code == 0, (args, result.output)
    assert open_store(url).article_count() == 3


# --- several watchers -------------------------------------------------------------------------

FEEDS = 30
ITEMS = 4


def feed_xml(n: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {n} story {k} about the Taiwan Strait</title>"
        f"<link>https://feed{n}.example/{k}</link><guid>f{n}-{k}</guid>"
        f"<pubDate>Mon, {10 + k:02d} Jun 2024 08:00:00 +0000</pubDate>"
        f"<description>Item {k} of feed {n}.</description></item>" for k in range(ITEMS))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>'
            f"<link>https://feed{n}.example/</link><description>x</description>{items}</channel></rss>").encode()


class SlowFeeds:
    """Serves FEEDS feeds, each answer after ``delay`` seconds, counting requests per feed."""

    def __init__(self, httpserver: HTTPServer, delay: float) -> None:
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.delay = delay
        for n in range(FEEDS):
            httpserver.expect_request(f"/feed{n}").respond_with_handler(self.handler)

    def handler(self, request: Request) -> Response:
        with self.lock:
            self.hits[request.path] += 1
        time.sleep(self.delay)
        return Response(feed_xml(int(request.path.removeprefix("/feed"))), content_type="application/rss+xml")


def write_feeds(httpserver: HTTPServer, folder: Path) -> Path:
    path = folder / "feeds.toml"
    path.write_text("".join(f'[[feeds]]\nid = "feed{n}"\nurl = "{httpserver.url_for(f"/feed{n}")}"\n\n'
                            for n in range(FEEDS)))
    return path


def start_watchers(count: int, url: str, feeds: Path, lease: float) -> list[subprocess.Popen]:
    env = {**os.environ, "TRACKER_DB": url, "TRACKER_FEEDS": str(feeds), "TRACKER_ALLOW_PRIVATE_NETWORKS": "1",
           "TRACKER_LEASE_SECONDS": str(lease), "TRACKER_MAX_WORKERS": "2"}
    return [subprocess.Popen([TRACKER, "watch", "--interval", "10m"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True) for _ in range(count)]


def wait_until_all_polled(url: str, timeout: float) -> None:
    from sqlalchemy import text

    store = open_store(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.engine.connect() as conn:
            done = conn.execute(text("SELECT count(*) FROM feeds WHERE last_success IS NOT NULL")).scalar()
        if done == FEEDS:
            return
        time.sleep(0.3)
    raise AssertionError(f"only {done} of {FEEDS} feeds were polled in {timeout} s")


def stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=30)
        if worker.stderr:
            worker.stderr.close()


@pytest.fixture
def feed_server():
    """A threaded server: several watchers fetch at once, as from real outlets."""
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def check_store(url: str) -> None:
    from sqlalchemy import text

    with open_store(url).engine.connect() as conn:
        articles = conn.execute(text("SELECT count(*), count(DISTINCT link) FROM articles")).one()
        sightings = conn.execute(text("SELECT count(*) FROM sightings")).scalar()
        per_feed = conn.execute(text("SELECT min(n), max(n) FROM (SELECT feed_id, count(*) AS n FROM sightings "
                                     "GROUP BY feed_id) AS s")).one()
    assert tuple(articles) == (FEEDS * ITEMS, FEEDS * ITEMS)  # nothing lost, nothing twice
    assert sightings == FEEDS * ITEMS and tuple(per_feed) == (ITEMS, ITEMS)


def test_three_watchers_poll_each_feed_exactly_once(pg_server, feed_server: HTTPServer, tmp_path: Path) -> None:
    httpserver = feed_server
    url = pg_server.url()
    open_store(url)
    feeds = SlowFeeds(httpserver, delay=0.2)
    workers = start_watchers(3, url, write_feeds(httpserver, tmp_path), lease=60)
    try:
        wait_until_all_polled(url, timeout=90)
        time.sleep(1.0)  # a double fetch would show up now
        assert sorted(feeds.hits.values()) == [1] * FEEDS, feeds.hits
        check_store(url)
        from sqlalchemy import text

        with open_store(url).engine.connect() as conn:
            runs = conn.execute(text("SELECT count(DISTINCT worker) FROM poll_runs WHERE feeds > 0")).scalar()
        assert runs >= 2  # the work was shared
    finally:
        stop(workers)


def test_a_killed_watcher_loses_nothing(pg_server, feed_server: HTTPServer, tmp_path: Path) -> None:
    httpserver = feed_server
    url = pg_server.url()
    open_store(url)
    feeds = SlowFeeds(httpserver, delay=1.5)
    workers = start_watchers(3, url, write_feeds(httpserver, tmp_path), lease=4)
    try:
        time.sleep(2.5)  # everyone has claimed a batch and is mid-fetch
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=10)
        wait_until_all_polled(url, timeout=120)
        check_store(url)
        # Only the feeds the dead worker held were fetched twice; every feed at least once.
        assert min(feeds.hits.values()) >= 1 and len(feeds.hits) == FEEDS
    finally:
        stop(workers)


def test_sqlite_takes_one_watcher(tmp_path: Path) -> None:
    db = str(tmp_path / "one.sqlite")
    feeds = tmp_path / "feeds.toml"
    feeds.write_text("")
    env = {**os.environ, "TRACKER_DB": db, "TRACKER_FEEDS": str(feeds)}
    first = subprocess.Popen([TRACKER, "watch"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
    try:
        time.sleep(3)
        second = subprocess.run([TRACKER, "watch"], env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert "another `tracker watch`" in second.stderr and "Traceback" not in second.stderr
    finally:
        stop([first])


def _conflicting_inserts(url: str, table: str, sqlstate: str, times: int) -> Callable[[], int]:
    """Make the first ``times`` INSERT statements on ``table`` fail as PostgreSQL fails a transaction it
    ends to break a conflict; returns a function counting the statements so far. The counter is a
    sequence: unlike a table, it keeps counting through rolled-back transactions."""
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SEQUENCE {table}_inserts")
        conn.execute(f"""CREATE FUNCTION {table}_conflict() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('{table}_inserts') <= {times} THEN
                    RAISE EXCEPTION 'conflict made by the test' USING ERRCODE = '{sqlstate}';
                END IF;
                RETURN NULL;
            END $$""")
        conn.execute(f"CREATE TRIGGER {table}_conflict AFTER INSERT ON {table} "
                     f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_conflict()")

    def count() -> int:
        with psycopg.connect(conninfo) as conn:
            row = conn.execute(f"SELECT last_value, is_called FROM {table}_inserts").fetchone()
            assert row is not None
            return int(row[0]) if row[1] else 0

    return count


def _local_feeds(folder: Path, count: int, items: int) -> list[FeedSource]:
    folder.mkdir()
    sources = []
    for n in range(count):
        (folder / f"c{n}.rss").write_bytes(rss_feed(f"c{n}", items))
        sources.append(FeedSource(f"c{n}", str(folder / f"c{n}.rss"), allow_local=True))
    return sources


def test_a_poll_runs_a_write_again_when_postgres_ends_it_to_break_a_conflict(pg_server, tmp_path: Path) -> None:
    """A deadlock or serialization failure between pollers costs a retry, not the poll (nor `tracker watch`)."""
    url = pg_server.url()
    store = open_store(url)
    articles_written = _conflicting_inserts(url, "articles", "40P01", times=1)  # deadlock detected
    stories_written = _conflicting_inserts(url, "stories", "40001", times=2)  # serialization failure
    sources = _local_feeds(tmp_path / "feeds", 3, 4)
    report = poller.poll(store, sources, settings=Settings.from_env(db=url, allow_private_networks=True))
    assert (report.errors, report.new, report.clustered) == (0, 12, 12)
    assert queries.count_articles(url) == 12
    assert articles_written() >= 3 + 1 and stories_written() >= 1 + 2  # the refused attempts ran again


def test_a_write_that_keeps_failing_or_fails_otherwise_stops_the_poll(pg_server, tmp_path: Path) -> None:
    sources = _local_feeds(tmp_path / "feeds", 2, 3)
    for sqlstate, attempts in (("40P01", WRITE_ATTEMPTS), ("23514", 1)):  # a check violation is no conflict
        url = pg_server.url()
        store = open_store(url)
        articles_written = _conflicting_inserts(url, "articles", sqlstate, times=1000)
        with pytest.raises(StoreError, match="conflict made by the test"):
            poller.poll(store, sources, settings=Settings.from_env(db=url, allow_private_networks=True))
        assert articles_written() == attempts
        assert queries.count_articles(url) == 0
