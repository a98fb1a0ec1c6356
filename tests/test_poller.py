"""The whole pipeline against feeds served by a real HTTP server on 127.0.0.1 and real SQLite files."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tracker import poller, queries
from tracker.config import Settings
from tracker.errors import StoreError
from tracker.models import FeedSource
from tracker.store import SQLITE_FEEDS_PER_TRANSACTION, open_store

from .conftest import POLL_DATA
from .test_faults import rss_feed

NOW = dt.datetime(2024, 5, 23, 12, 0, tzinfo=dt.UTC)


def settings(db: str, **overrides: object) -> Settings:
    return Settings.from_env(db=db, allow_private_networks=True, **overrides)


def serve(httpserver: HTTPServer, path: str, filename: str, **headers: str) -> FeedSource:
    body = (POLL_DATA / filename).read_bytes()
    httpserver.expect_request(path).respond_with_data(body, content_type="application/rss+xml", headers=headers)
    return FeedSource(path.strip("/").replace("/", "-"), httpserver.url_for(path))


def test_local_file_twice_adds_items_once(db_path: str) -> None:
    source = FeedSource("basic", str(POLL_DATA / "basic.rss"), allow_local=True)
    store = open_store(db_path)
    first = poller.poll(store, [source], settings=settings(db_path))
    second = poller.poll(store, [source], settings=settings(db_path))
    assert (first.new, first.seen) == (3, 0)
    assert (second.new, second.seen) == (0, 3)
    # The report says what story clustering did and took: only the new articles needed it.
    assert (first.clustered, second.clustered) == (3, 0)
    assert 0 < first.clustering_seconds < (first.finished - first.started).total_seconds()
    frame = queries.articles_frame(db_path)
    assert len(frame) == 3
    tagged = frame.set_index("title")["topics"]
    assert "taiwan" in tagged["PLA aircraft cross the Taiwan Strait median line during drills"]
    assert "talks" in tagged["US and Chinese defence chiefs hold first call in a year"]
    assert tagged["Local bakery wins regional bread contest"] == ""


def test_same_story_in_two_feeds_is_one_article(db_path: str, httpserver: HTTPServer) -> None:
    feeds = [serve(httpserver, "/basic", "basic.rss"), serve(httpserver, "/overlap", "overlap.rss")]
    report = poller.poll(open_store(db_path), feeds, settings=settings(db_path))
    assert report.errors == 0
    assert report.new + report.seen == 5 and report.new == 4
    frame = queries.articles_frame(db_path, queries.Filters(sources=("overlap",)))
    assert len(frame) == 2  # the shared story counts for both feeds
    shared = frame[frame["title"].str.contains("median line")].iloc[0]
    assert shared["link"] == "https://harbour-wire.example/2024/05/23/strait-drills"


def test_conditional_get_304_is_not_parsed_again(db_path: str, httpserver: HTTPServer) -> None:
    body = (POLL_DATA / "basic.rss").read_bytes()
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(body, content_type="application/rss+xml",
                        headers={"ETag": '"v1"', "Last-Modified": "Wed, 22 May 2024 10:00:00 GMT"})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    store = open_store(db_path)
    source = FeedSource("cond", httpserver.url_for("/feed"))
    poller.poll(store, [source], settings=settings(db_path))
    version = queries.data_version(db_path)
    second = poller.poll(store, [source], settings=settings(db_path))
    assert second.feeds[0].outcome == "not_modified" and second.new == second.seen == 0
    assert seen[1]["If-None-Match"] == '"v1"'
    assert seen[1]["If-Modified-Since"] == "Wed, 22 May 2024 10:00:00 GMT"
    assert "TensionTracker/" in seen[0]["User-Agent"]
    health = queries.feed_health(db_path).iloc[0]
    assert health["http_status"] == 304 and health["consecutive_failures"] == 0
    assert queries.count_articles(db_path) == 3
    assert queries.data_version(db_path) > version  # health changed; articles did not


def test_broken_feed_is_recorded_and_others_succeed(db_path: str, httpserver: HTTPServer) -> None:
    good = serve(httpserver, "/good", "basic.rss")
    html = FeedSource("html", httpserver.url_for("/html"))
    httpserver.expect_request("/html").respond_with_data((POLL_DATA / "not-a-feed.html").read_bytes(),
                                                         content_type="text/html")
    missing = FeedSource("missing", httpserver.url_for("/gone"))
    httpserver.expect_request("/gone").respond_with_data("gone", status=404)
    report = poller.poll(open_store(db_path), [html, good, missing], settings=settings(db_path))
    outcomes = {f.source_id: f for f in report.feeds}
    assert outcomes["good"].outcome == "updated" and outcomes["good"].new == 3
    assert outcomes["html"].outcome == "error" and "html" in outcomes["html"].error.lower()
    assert outcomes["missing"].outcome == "error" and outcomes["missing"].http_status == 404
    health = queries.feed_health(db_path).set_index("id")
    assert health.loc["html", "consecutive_failures"] == 1 and "html" in health.loc["html", "last_error"].lower()
    assert health.loc["missing", "http_status"] == 404
    assert health.loc["good", "consecutive_failures"] == 0
    assert queries.count_articles(db_path) == 3


def test_a_failing_feed_keeps_its_articles(db_path: str, httpserver: HTTPServer) -> None:
    store = open_store(db_path)
    source = serve(httpserver, "/flaky", "basic.rss")
    poller.poll(store, [source], settings=settings(db_path))
    httpserver.clear()
    httpserver.expect_request("/flaky").respond_with_data("", content_type="application/rss+xml")
    report = poller.poll(store, [source], settings=settings(db_path))
    assert report.feeds[0].outcome == "error"  # an empty body is not "an empty feed"
    assert queries.count_articles(db_path) == 3


def test_retry_after_sets_the_next_attempt(db_path: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/busy").respond_with_data("slow down", status=429, headers={"Retry-After": "3600"})
    store = open_store(db_path)
    source = FeedSource("busy", httpserver.url_for("/busy"))
    before = dt.datetime.now(dt.UTC)
    poller.poll(store, [source], settings=settings(db_path))
    next_poll = store.feed_states()["busy"].next_poll
    assert next_poll is not None
    assert dt.timedelta(seconds=3590) < next_poll - before < dt.timedelta(seconds=3700)
    # A one-off poll respects it too: the feed is skipped, not hammered.
    again = poller.poll(store, [source], settings=settings(db_path))
    assert again.feeds[0].outcome == "skipped"
    assert len(httpserver.log) == 1


def test_demo_and_real_stores_never_mix(db_path: str, tmp_path) -> None:
    local = FeedSource("basic", str(POLL_DATA / "basic.rss"), allow_local=True)
    own = open_store(db_path)
    poller.poll(own, [local], settings=settings(db_path))
    with pytest.raises(StoreError, match="holds your own articles"):
        poller.build_demo(own, settings=settings(db_path))
    demo = open_store(str(tmp_path / "demo.sqlite"))
    report = poller.build_demo(demo, settings=settings(str(tmp_path / "demo.sqlite")))
    assert report.errors == 0 and report.new >= 200
    assert queries.is_demo(demo.location)
    with pytest.raises(StoreError, match="is the demo database"):
        poller.poll(demo, [local], settings=settings(demo.location))


def test_backoff_grows_caps_and_honours_retry_after() -> None:
    rng = random.Random(7)
    delays = [(poller.next_poll_after_failure(NOW, n, 900, 86400, rng=rng) - NOW).total_seconds()
              for n in range(1, 12)]
    assert 800 < delays[0] < 1000 and 1600 < delays[1] < 2000
    assert all(b >= a * 0.8 for a, b in zip(delays, delays[1:], strict=False))
    assert max(delays) <= 86400 * 1.1 and delays[-1] > 70000  # capped, never stopped
    assert poller.next_poll_after_failure(NOW, 1, 900, 86400, retry_after=120) == NOW + dt.timedelta(seconds=120)
    jittered = {poller.next_poll_after_success(NOW, 900, rng) for _ in range(5)}
    assert len(jittered) == 5 and all(810 <= (t - NOW).total_seconds() <= 990 for t in jittered)


def test_dead_local_owners() -> None:
    alive = {101: True, 102: False}.get
    owners = ["here:101", "here:102", "there:102", "here:notapid", "here:103"]
    assert poller.dead_local_owners(owners, "here", lambda pid: bool(alive(pid))) == ["here:102", "here:103"]


def test_a_failed_group_write_leaves_every_feed_whole_or_absent(tmp_path: Path) -> None:
    """On SQLite feeds are written several to a transaction: a write that fails takes its whole group with it,
    never part of a feed, leaves no claim behind, and the next poll completes the rest."""
    folder = tmp_path / "feeds"
    folder.mkdir()
    count, items = 3 * SQLITE_FEEDS_PER_TRANSACTION, 5
    sources = []
    for n in range(count):
        (folder / f"g{n}.rss").write_bytes(rss_feed(f"g{n}", items))
        sources.append(FeedSource(f"g{n}", str(folder / f"g{n}.rss"), allow_local=True))
    db = str(tmp_path / "groups.sqlite")
    store = open_store(db)
    with sqlite3.connect(db) as conn:  # the database refuses one feed's articles, as a full disk might
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON articles WHEN NEW.link LIKE 'https://g5.example/%' "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
    with pytest.raises(StoreError):
        poller.poll(store, sources, settings=settings(db))

    def per_feed() -> dict[str, tuple[int, bool, bool]]:
        with sqlite3.connect(db) as conn:
            stored = dict(conn.execute("SELECT feed_id, count(*) FROM sightings GROUP BY feed_id"))
            return {feed: (stored.get(feed, 0), success is not None, owner is not None)
                    for feed, success, owner in conn.execute("SELECT id, last_success, lease_owner FROM feeds")}

    after_failure = per_feed()
    assert after_failure["g5"] == (0, False, False)
    for feed, (sighted, healthy, claimed) in after_failure.items():
        assert (sighted, healthy) in ((0, False), (items, True)), feed  # whole, with its health, or absent
        assert not claimed, feed
    assert sum(1 for sighted, _, _ in after_failure.values() if sighted == 0) >= 1
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER refuse")
    report = poller.poll(store, sources, settings=settings(db))
    assert report.errors == 0
    assert all(value == (items, True, False) for value in per_feed().values())
    assert queries.count_articles(db) == count * items
