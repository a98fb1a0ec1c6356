"""Faults around the poller, end to end: misbehaving HTTP servers (a socket server on 127.0.0.1),
the private-network guard, readers racing a writer, a poll killed with SIGKILL, unusable
database paths and malformed feeds files (the real `tracker` command in a subprocess).

Whatever goes wrong, a feed's failure is that feed's error in its health row, the other feeds
still update, and the store holds each feed's update entirely or not at all.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from sqlalchemy import event

from tests.rawserver import Handler, RawServer
from tracker import cli, fetch, poller, queries, sources, topics
from tracker.config import PROJECT_ROOT, Settings
from tracker.models import FeedSource, Validators
from tracker.store import Store, open_store

from .conftest import POLL_DATA
from .test_hostile import consistency_problems, db_rows

TRACKER = str(Path(sys.executable).with_name("tracker"))
CAP = 64 * 1024
# Words for headlines that share nothing but "Taiwan Strait" (which gives them a topic): near-identical
# headlines would all be compared with each other when stories are clustered, which is slow.
WORDS = ["amber", "basil", "cedar", "delta", "ember", "falcon", "garnet", "harbor", "indigo", "juniper",
         "kestrel", "lagoon", "marble", "nickel", "orchid", "pepper", "quartz", "raven", "saffron", "timber",
         "umber", "violet", "walnut", "yarrow", "zephyr", "anchor", "beacon", "canyon", "dune", "estuary",
         "fjord", "glacier", "heron", "island", "jetty", "kelp", "lantern", "meadow", "nectar", "oasis",
         "pebble", "quiver", "reef", "summit", "tundra", "upland", "valley", "willow", "yucca", "zenith",
         "copper", "silver", "cobalt", "granite", "meteor", "comet", "nebula", "orbit", "prism"]


def headline(prefix: str, n: int) -> str:
    return f"Taiwan Strait {' '.join(random.Random(f'{prefix}-{n}').sample(WORDS, 6))} ({prefix} {n})"


def rss_feed(prefix: str, count: int, *, start: int = 0, summary_words: int = 12) -> bytes:
    """A feed of ``count`` distinct items that the tagger gives topics (headlines name the Taiwan Strait)."""
    items = "".join(
        f"<item><title>{headline(prefix, n)}</title>"
        f"<link>https://{prefix}.example/{n}</link><guid isPermaLink=\"false\">{prefix}-{n}</guid>"
        f"<pubDate>Wed, 22 May 2024 {n % 24:02d}:{n % 60:02d}:00 GMT</pubDate><description>Item {n} of {prefix}: "
        f"{' '.join(random.Random(f'{prefix}/{n}').choices(WORDS, k=summary_words))}</description></item>"
        for n in range(start, start + count))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{prefix}</title>'
            f"<link>https://{prefix}.example/</link>{items}</channel></rss>").encode()


# --- a server that misbehaves on purpose ---------------------------------------------------------

Behaviour = Handler


class MisbehavingServer(RawServer):
    """Does what each path's behaviour says; unknown paths get a 404."""

    def __init__(self, behaviours: dict[str, Behaviour]) -> None:
        super().__init__(behaviours, missing=answer(404))


@pytest.fixture
def misbehaving() -> Iterator[Callable[[dict[str, Behaviour]], MisbehavingServer]]:
    servers: list[MisbehavingServer] = []

    def start(behaviours: dict[str, Behaviour]) -> MisbehavingServer:
        servers.append(MisbehavingServer(behaviours))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def answer(status: int, body: bytes = b"", **headers: str) -> Behaviour:
    def respond(conn: socket.socket, stop: threading.Event) -> None:
        lines = [f"HTTP/1.1 {status} Whatever", f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    return respond


def never_answers(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(60)


def one_byte_a_second(conn: socket.socket, stop: threading.Event) -> None:
    body = rss_feed("trickle", 1)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: %d\r\n\r\n" % len(body))
    for byte in body:
        conn.sendall(bytes([byte]))
        if stop.wait(1):
            return


def declared_over_cap(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (4 * CAP) + b"x" * 4 * CAP)


def undeclared_over_cap(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"<rss>" + b"x" * 4 * CAP)


def chunked_over_cap(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(4 * CAP // 8192):
        conn.sendall(b"2000\r\n" + b"x" * 8192 + b"\r\n")
    conn.sendall(b"0\r\n\r\n")


def gzip_over_cap(conn: socket.socket, stop: threading.Event) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join(compressor.compress(b"\0" * CAP) for _ in range(200)) + compressor.flush()  # 12.5 MiB inflated
    assert len(bomb) < CAP
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb)


def closes_at_once(conn: socket.socket, stop: threading.Event) -> None:
    pass  # the connection closes without a response


def resets_mid_body(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n<rss version=")
    time.sleep(0.1)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST


def not_http(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")


def endless_headers(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for n in range(20_000):  # 1 MB of headers and no end to them
        conn.sendall(b"X-Padding-%d: %s\r\n" % (n, b"a" * 40))


def raw(response: bytes) -> Behaviour:
    return lambda conn, stop: conn.sendall(response)


def http_date(seconds_from_now: float) -> str:
    return email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now), usegmt=True)


# Path on the server -> (behaviour, what the recorded error must say, the HTTP status recorded).
FAULTS: dict[str, tuple[Behaviour, str, int | None]] = {
    "/never": (never_answers, "server sent nothing for 2 s (read_timeout)", None),
    "/trickle": (one_byte_a_second, "no complete response within 3.5 s (total_timeout)", None),
    "/declared-over-cap": (declared_over_cap, "larger than the 65536 byte limit (Content-Length: 262144)", None),
    "/undeclared-over-cap": (undeclared_over_cap, "larger than the 65536 byte limit", None),
    "/chunked-over-cap": (chunked_over_cap, "larger than the 65536 byte limit", None),
    "/gzip-over-cap": (gzip_over_cap, "larger than the 65536 byte limit", None),
    "/loop-a": (answer(302, Location="/loop-b"), "redirect loop", None),
    "/loop-b": (answer(302, Location="/loop-a"), "redirect loop", None),
    "/hops": (answer(301, Location="/hop1"), "more than 5 redirects", None),
    "/to-file": (answer(302, Location="file:///etc/passwd"), "unsupported URL scheme 'file'", None),
    "/404": (answer(404, b"gone"), "HTTP 404 Not Found", 404),
    "/410": (answer(410), "HTTP 410 Gone", 410),
    "/500": (answer(500, b"oops"), "HTTP 500 Internal Server Error", 500),
    "/429": (answer(429, Retry_After="120"), "HTTP 429 Too Many Requests", 429),
    "/503": (answer(503), "HTTP 503 Service Unavailable", 503),  # Retry-After set per test (an HTTP date)
    "/closes": (closes_at_once, "server broke off the response", None),
    "/resets": (resets_mid_body, "connection failed", None),
    "/not-http": (not_http, "server broke off the response", None),
    "/endless-headers": (endless_headers, "server broke off the response", None),
    "/bad-length": (raw(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n<rss/>"), "server broke off the response", None),
    "/two-lengths": (raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\n<rss>"),
                     "server broke off the response", None),
    "/bad-status": (raw(b"HTTP/1.1 9999 Odd\r\nContent-Length: 0\r\n\r\n"), "server broke off the response", None),
    "/retry-forever": (answer(429, Retry_After="9" * 400), "HTTP 429 Too Many Requests", 429),
}


def fault_settings(db: str, **overrides: object) -> Settings:
    # A byte a second never trips the 2 s read timeout: only the whole-request deadline stops it.
    values: dict[str, object] = {"db": db, "allow_private_networks": True, "connect_timeout": 1,
                                 "read_timeout": 2, "total_timeout": 3.5, "max_bytes": CAP, "max_workers": 32,
                                 "per_host": 32, "max_redirects": 5}
    return Settings.from_env(**(values | overrides))


def test_misbehaving_servers_are_each_their_feeds_error(misbehaving: Callable[..., MisbehavingServer],
                                                        db_path: str) -> None:
    behaviours = {path: behaviour for path, (behaviour, _, _) in FAULTS.items()}
    behaviours["/503"] = answer(503, Retry_After=http_date(300))
    behaviours |= {f"/hop{n}": answer(302, Location=f"/hop{n + 1}") for n in range(1, 10)}
    behaviours |= {"/good-1": answer(200, rss_feed("good-one", 2)), "/good-2": answer(200, rss_feed("good-two", 3))}
    server = misbehaving(behaviours)
    with socket.socket() as unused:  # bound, not listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{unused.getsockname()[1]}/feed"
        feeds = [FeedSource(path.strip("/"), server.url_for(path)) for path in FAULTS if path != "/loop-b"]
        feeds += [FeedSource("refused", refused), FeedSource("good-1", server.url_for("/good-1")),
                  FeedSource("good-2", server.url_for("/good-2"))]
        random.Random(7).shuffle(feeds)  # good feeds anywhere among the bad ones
        store = open_store(db_path)
        started = time.monotonic()
        report = poller.poll(store, feeds, settings=fault_settings(db_path))
        seconds = time.monotonic() - started
    assert seconds < 3.5 + 3, f"the poll took {seconds:.1f} s"  # every fault bounded by the deadline
    outcomes = {f.source_id: f for f in report.feeds}
    assert (outcomes["good-1"].outcome, outcomes["good-1"].new) == ("updated", 2)
    assert (outcomes["good-2"].outcome, outcomes["good-2"].new) == ("updated", 3)
    expected = {path.strip("/"): (reason, status) for path, (_, reason, status) in FAULTS.items()}
    expected["refused"] = ("cannot connect", None)
    expected.pop("loop-b")
    health = queries.feed_health(db_path).set_index("id")
    for feed_id, (reason, status) in expected.items():
        feed = outcomes[feed_id]
        assert feed.outcome == "error" and reason in (feed.error or ""), (feed_id, feed.error)
        assert feed.http_status == status, feed_id
        row = health.loc[feed_id]
        assert row["last_error"] == feed.error and row["consecutive_failures"] == 1 and pd.isna(row["last_success"])
        assert (None if pd.isna(row["http_status"]) else row["http_status"]) == status, feed_id
    assert queries.count_articles(db_path) == 5 and consistency_problems(db_path) == []

    # The same, as `tracker feeds list --format json` shows it.
    listed = {row["id"]: row for row in json.loads(
        CliRunner().invoke(cli.main, ["feeds", "list", "--db", db_path, "--format", "json"]).output)}
    for feed_id in expected:
        assert listed[feed_id]["last_error"] == outcomes[feed_id].error
        assert listed[feed_id]["consecutive_failures"] == 1 and listed[feed_id]["last_success"] is None
    assert listed["good-1"]["consecutive_failures"] == 0 and listed["good-1"]["articles"] == 2

    # Retry-After, in seconds and as an HTTP date, sets the next attempt.
    states = store.feed_states()

    def wait_asked(feed_id: str) -> float:
        return (states[feed_id].next_poll - health.loc[feed_id, "last_attempt"].to_pydatetime()).total_seconds()

    assert abs(wait_asked("429") - 120) < 0.01
    assert abs(wait_asked("503") - 300) < 5  # an HTTP date has whole seconds, and was written before the poll
    assert wait_asked("retry-forever") == 24 * 3600  # capped at max_backoff
    # Failing feeds wait their turn on the next poll; the good ones are fetched again.
    again = {f.source_id: f.outcome for f in poller.poll(store, feeds, settings=fault_settings(db_path)).feeds}
    assert {again[feed_id] for feed_id in expected} == {"skipped"}
    assert again["good-1"] == again["good-2"] == "updated"


def test_unsendable_validators_do_not_poison_a_feed(misbehaving: Callable[..., MisbehavingServer],
                                                    db_path: str) -> None:
    """An ETag or Last-Modified of bytes no request may carry is not kept: the next poll still works."""
    body = rss_feed("validators", 2)
    server = misbehaving({"/feed": raw(b"HTTP/1.1 200 OK\r\nETag: \xff\xfe\x01\"v1\"\r\nLast-Modified: \x80 May\r\n"
                                       b"Content-Length: %d\r\n\r\n" % len(body) + body)})
    store, feed = open_store(db_path), FeedSource("validators", server.url_for("/feed"))
    for _ in range(2):
        report = poller.poll(store, [feed], settings=fault_settings(db_path), force=True)
        assert report.feeds[0].outcome == "updated", report.feeds[0].error
    assert store.feed_states()["validators"].validators == Validators()
    assert server.requests["/feed"] == 2


# --- private networks, schemes and local files -------------------------------------------------

def test_private_addresses_refused_unless_allowed(httpserver: HTTPServer, db_path: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    httpserver.expect_request("/feed").respond_with_data(rss_feed("private", 2), content_type="application/rss+xml")
    port = httpserver.port
    feeds = {
        "loopback": (f"http://127.0.0.1:{port}/feed", "refusing to connect to 127.0.0.1: loopback address"),
        "localhost": (f"http://localhost:{port}/feed", "refusing to connect to localhost (127.0.0.1): loopback"),
        "ipv6-loopback": (f"http://[::1]:{port}/feed", "refusing to connect to ::1: loopback address"),
        "metadata": ("http://169.254.169.254/latest/meta-data/", "169.254.169.254: link-local address"),
        "private": ("http://10.20.30.40/feed", "10.20.30.40: private address"),
        "unspecified": (f"http://0.0.0.0:{port}/feed", "0.0.0.0: unspecified address"),
        "mapped": (f"http://[::ffff:127.0.0.1]:{port}/feed", "loopback address"),
        # Spellings of 127.0.0.1 the resolver accepts: decimal, hex, short.
        "decimal": (f"http://2130706433:{port}/feed", "2130706433 (127.0.0.1): loopback address"),
        "hex": (f"http://0x7f000001:{port}/feed", "0x7f000001 (127.0.0.1): loopback address"),
        "short": (f"http://127.1:{port}/feed", "127.1 (127.0.0.1): loopback address"),
    }
    sources_ = [FeedSource(feed_id, url) for feed_id, (url, _) in feeds.items()]
    # A local file named on the command line is not a network fetch: still allowed.
    sources_.append(FeedSource("local", str(POLL_DATA / "basic.rss"), allow_local=True))
    monkeypatch.delenv("TRACKER_ALLOW_PRIVATE_NETWORKS")  # the default: refuse
    settings = Settings.from_env(db=db_path, connect_timeout=2, total_timeout=5)
    assert settings.allow_private_networks is False
    report = poller.poll(open_store(db_path), sources_, settings=settings)
    outcomes = {f.source_id: f for f in report.feeds}
    for feed_id, (_, reason) in feeds.items():
        assert outcomes[feed_id].outcome == "error" and reason in (outcomes[feed_id].error or ""), feed_id
    assert outcomes["local"].outcome == "updated" and outcomes["local"].new == 3
    assert httpserver.log == []  # refused before connecting
    health = queries.feed_health(db_path).set_index("id")
    assert "loopback address" in health.loc["loopback", "last_error"]

    # The command line reads the variable: unset refuses, 1 allows.
    url = httpserver.url_for("/feed")
    refused = CliRunner().invoke(cli.main, ["poll", "--db", db_path, "--feed", url])
    assert refused.exit_code == 0 and "loopback address" in refused.output
    monkeypatch.setenv("TRACKER_ALLOW_PRIVATE_NETWORKS", "1")
    allowed = CliRunner().invoke(cli.main, ["poll", "--db", db_path, "--feed", url, "--force"])
    assert allowed.exit_code == 0 and "updated" in allowed.output and "2 new" in allowed.output


def test_redirect_into_a_private_network_is_refused(httpserver: HTTPServer, db_path: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A "public" server (127.0.0.2, declared public through make_client's test-only hook)
    redirects into loopback: the poller's client refuses the hop."""
    httpserver.expect_request("/feed").respond_with_data(rss_feed("inside", 1))
    monkeypatch.setattr(fetch, "make_client", functools.partial(fetch.make_client, treat_as_public={"127.0.0.2"}))
    with HTTPServer(host="127.0.0.2", port=0) as public:
        public.expect_request("/ok").respond_with_data(rss_feed("outside", 2), content_type="application/rss+xml")
        public.expect_request("/jump").respond_with_data(b"", status=302,
                                                         headers={"Location": httpserver.url_for("/feed")})
        feeds = [FeedSource("ok", public.url_for("/ok")), FeedSource("jump", public.url_for("/jump"))]
        report = poller.poll(open_store(db_path), feeds,
                             settings=Settings.from_env(db=db_path, allow_private_networks=False))
    outcomes = {f.source_id: f for f in report.feeds}
    assert outcomes["ok"].outcome == "updated" and outcomes["ok"].new == 2
    assert outcomes["jump"].outcome == "error"
    assert re.search(r"refusing to connect to \S+ \(127\.0\.0\.1\): loopback address", outcomes["jump"].error or "")
    assert httpserver.log == []


def test_other_schemes_and_unlisted_paths_are_refused(db_path: str, tmp_path: Path) -> None:
    feed_file = POLL_DATA / "basic.rss"
    feeds = {
        "ftp": ("ftp://example.org/feed.xml", False, "unsupported URL scheme 'ftp'"),
        "gopher": ("gopher://example.org/1", False, "unsupported URL scheme 'gopher'"),
        "javascript": ("javascript:alert(1)", False, "unsupported URL scheme 'javascript'"),
        "data": ("data:application/rss+xml,<rss/>", False, "unsupported URL scheme 'data'"),
        "path": (str(feed_file), False, "local files are only accepted from the local feeds file or the command"),
        "file-url": (feed_file.as_uri(), False, "local files are only accepted"),
        "passwd": ("file:///etc/passwd", False, "local files are only accepted"),
        "listed": (str(feed_file), True, None),
        "listed-passwd": ("/etc/passwd", True, "not a feed"),
    }
    report = poller.poll(open_store(db_path), [FeedSource(feed_id, url, allow_local=local)
                                               for feed_id, (url, local, _) in feeds.items()],
                         settings=Settings.from_env(db=db_path))
    outcomes = {f.source_id: f for f in report.feeds}
    for feed_id, (_, _, reason) in feeds.items():
        if reason is None:
            assert outcomes[feed_id].outcome == "updated"
        else:
            assert outcomes[feed_id].outcome == "error" and reason in (outcomes[feed_id].error or ""), feed_id
    assert queries.count_articles(db_path) == 3  # nothing of /etc/passwd is stored
    # Only the feeds file and the command line give a feed allow_local; OPML and URLs do not.
    opml = tmp_path / "in.opml"
    opml.write_text(f'<opml version="2.0"><body><outline text="x" xmlUrl="{feed_file}"/></body></opml>')
    assert sources.read_opml(opml) == ([], [str(feed_file)])
    assert sources.source_for_location(str(feed_file)).allow_local
    listing = tmp_path / "feeds.toml"
    listing.write_text(f'[[feeds]]\nid = "mine"\nurl = "{feed_file}"\n', encoding="utf-8")
    assert sources.load_sources(listing)[0].allow_local
    assert not sources.source_for_location("https://example.org/feed").url.startswith("/")


# --- readers racing a writer -------------------------------------------------------------------

PER_WAVE = 15  # every feed gains this many articles per wave, so any other count is a torn read
WAVES = 8


def read_problems(location: str) -> list[str]:
    """What one round of the dashboard's reads shows; any count off the wave size is a torn write."""
    problems = []
    health = queries.feed_health(location)
    for row in health.itertuples():
        if row.articles % PER_WAVE or (row.articles and pd.isna(row.last_success)):
            problems.append(f"feed_health: {row.id} has {row.articles} articles, last success {row.last_success}")
    frame = queries.articles_frame(location)
    per_feed = frame.groupby("source").size()
    if len(frame) % PER_WAVE or (per_feed % PER_WAVE).any():
        problems.append(f"articles_frame: {len(frame)} rows, per feed {per_feed.to_dict()}")
    if (frame["topics"] == "").any():
        problems.append("articles_frame: an article without its topics")
    if queries.count_articles(location) % PER_WAVE:
        problems.append("count_articles: not a whole number of waves")
    summary = queries.window_summary(location, queries.Filters())  # its own atomicity: see below
    if summary["articles"] % PER_WAVE:
        problems.append(f"window_summary: {summary['articles']} articles")
    with Store(location).transaction(write=False) as conn:  # one snapshot, straight from the tables
        sighted = dict(conn.exec_driver_sql("SELECT feed_id, count(*) FROM sightings GROUP BY feed_id").all())
        articles = conn.exec_driver_sql("SELECT count(*) FROM articles").scalar()
        tagged = conn.exec_driver_sql("SELECT count(DISTINCT article_num) FROM article_topics").scalar()
    if any(n % PER_WAVE for n in sighted.values()) or articles != sum(sighted.values()) or tagged != articles:
        problems.append(f"tables: sightings {sighted}, {articles} articles, {tagged} tagged")
    return problems


def read_until(location: str, stop_file: str, seconds: float = 120) -> dict[str, Any]:
    """Read in a loop until ``stop_file`` exists; report rounds, versions seen, problems, errors."""
    rounds, problems, errors, versions = 0, [], [], []
    deadline = time.monotonic() + seconds
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        try:
            version = queries.data_version(location)
            if versions and version < versions[-1]:
                problems.append(f"data_version went back from {versions[-1]} to {version}")
            versions.append(version)
            problems += read_problems(location)
        except Exception as exc:  # noqa: BLE001 - "database is locked" and the like are what we look for
            errors.append(f"{type(exc).__name__}: {exc}")
        rounds += 1
    return {"rounds": rounds, "versions": len(set(versions)), "problems": problems[:20], "errors": errors[:20]}


READER_CHILD = """
import json, sys
from tests.test_faults import read_until
print("ready", flush=True)
print(json.dumps(read_until(sys.argv[1], sys.argv[2])))
"""


@pytest.mark.slow
def test_readers_never_see_half_a_feed_update(db_path: str, tmp_path: Path) -> None:
    taxonomy = topics.load_taxonomy(Settings().topics_file)
    assert all(topics.tag(taxonomy, headline(f"f{n}", i)) for n in range(6) for i in range(WAVES * PER_WAVE)), \
        "every test headline must get a topic"
    files = [tmp_path / f"feed-{n}.rss" for n in range(6)]
    feeds = [FeedSource(f"feed-{n}", str(path), allow_local=True) for n, path in enumerate(files)]
    store = open_store(db_path)
    stop_file = tmp_path / "stop"
    child = subprocess.Popen([sys.executable, "-c", READER_CHILD, db_path, str(stop_file)], cwd=PROJECT_ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "ready\n"  # reading before the writes start
    in_thread: dict[str, Any] = {}
    reader = threading.Thread(target=lambda: in_thread.update(read_until(db_path, str(stop_file))))
    reader.start()
    try:
        for wave in range(1, WAVES + 1):  # each wave: every feed gains PER_WAVE articles, one transaction per feed
            for n, path in enumerate(files):
                path.write_bytes(rss_feed(f"f{n}", wave * PER_WAVE, summary_words=150))
            report = poller.poll(store, feeds, settings=Settings(db=db_path, allow_private_networks=True),
                                 taxonomy=taxonomy, force=True)
            assert report.errors == 0 and report.new == len(files) * PER_WAVE
    finally:
        stop_file.touch()
        reader.join(60)
        out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    for name, seen in (("reader process", json.loads(out)), ("reader thread", in_thread)):
        assert seen["errors"] == [], (name, seen["errors"])
        assert seen["problems"] == [], (name, seen["problems"])
        assert seen["rounds"] >= 10 and seen["versions"] >= 3, (name, seen)  # the reads overlapped the writes
    assert queries.count_articles(db_path) == WAVES * PER_WAVE * len(files)
    assert consistency_problems(db_path, taxonomy) == []


def test_window_summary_reads_one_snapshot(db_path: str, tmp_path: Path) -> None:
    """A writer that commits between window_summary's statements must not tear its answer:
    every article here carries the taiwan topic, so its article and taiwan counts are equal."""
    store = open_store(db_path)
    settings = Settings(db=db_path, allow_private_networks=True)
    first, second = tmp_path / "first.rss", tmp_path / "second.rss"
    first.write_bytes(rss_feed("first", PER_WAVE))
    second.write_bytes(rss_feed("second", PER_WAVE))
    poller.poll(store, [FeedSource("first", str(first), allow_local=True)], settings=settings)
    reader_thread, statements = threading.get_ident(), []

    def write_in_between(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Before the reader's second SELECT, another writer stores a whole feed and commits.
        if threading.get_ident() != reader_thread or not statement.lstrip().upper().startswith("SELECT"):
            return
        statements.append(statement)
        if len(statements) == 2:
            writer = threading.Thread(target=poller.poll, args=(
                store, [FeedSource("second", str(second), allow_local=True)]), kwargs={"settings": settings})
            writer.start()
            writer.join(30)

    event.listen(store.engine, "before_cursor_execute", write_in_between)
    try:
        summary = queries.window_summary(db_path, queries.Filters())
    finally:
        event.remove(store.engine, "before_cursor_execute", write_in_between)
    assert queries.count_articles(db_path) == 2 * PER_WAVE  # the write did happen
    assert summary["articles"] == summary["topics"]["taiwan"], summary


# --- a poll killed with SIGKILL ------------------------------------------------------------------

def feeds_file(tmp_path: Path, count: int, items: int) -> Path:
    lines = []
    for n in range(count):
        path = tmp_path / "feeds" / f"k{n}.rss"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(rss_feed(f"k{n}", items, summary_words=250))
        lines.append(f'[[feeds]]\nid = "k{n}"\nurl = "feeds/k{n}.rss"\n')
    listing = tmp_path / "feeds.toml"
    listing.write_text("\n".join(lines), encoding="utf-8")
    return listing


def tracker_env(**variables: str) -> dict[str, str]:
    """The environment for a `tracker` subprocess: no TRACKER_* settings but these."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")} | {
        "TRACKER_ALLOW_PRIVATE_NETWORKS": "1", **variables}


def kill_mid_poll(listing: Path, db: str, after_updates: int, delay: float, env: dict[str, str]) -> int:
    """Start `tracker poll`, SIGKILL it ``delay`` s after its ``after_updates``-th updated feed."""
    child = subprocess.Popen([TRACKER, "poll", "--feeds", str(listing), "--db", db], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    updated = 0
    for line in child.stdout:
        updated += line.startswith("updated")
        if updated >= after_updates:
            break
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    # Its reader processes hold its pipes too: this returns only if they die with it.
    child.communicate(timeout=30)
    return child.returncode


def wait_for_leases_to_expire(db: str, limit: float = 5) -> None:
    """A killed poller keeps its claims on feeds until their leases run out."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        (until,) = db_rows(db, "SELECT max(lease_until) FROM feeds")[0]
        if until is None or dt.datetime.fromisoformat(until).replace(tzinfo=dt.UTC) < dt.datetime.now(dt.UTC):
            return
        time.sleep(0.05)
    pytest.fail("the leases did not expire")


def assert_whole_updates(db: str, items: int, taxonomy: topics.Taxonomy) -> dict[str, int]:
    """Each feed's update is in the store entirely or not at all, and its health row agrees."""
    sighted = dict(db_rows(db, "SELECT feed_id, count(*) FROM sightings GROUP BY feed_id"))
    assert set(sighted.values()) <= {items}, sighted
    succeeded = {feed_id for (feed_id,) in db_rows(db, "SELECT id FROM feeds WHERE last_success IS NOT NULL")}
    assert succeeded == set(sighted), "a feed's health row and its articles disagree"
    assert consistency_problems(db, taxonomy) == []
    return sighted


@pytest.mark.slow
def test_sigkill_mid_poll_leaves_whole_feed_updates(tmp_path: Path) -> None:
    db = str(tmp_path / "killed.sqlite")
    feeds, items = 64, 50  # many write groups, so a poll reading on two cores is still running at the kill
    listing = feeds_file(tmp_path, feeds, items)
    taxonomy = topics.load_taxonomy(Settings().topics_file)
    env = tracker_env(TRACKER_LEASE_SECONDS="1")  # so the killed pollers' claims lapse quickly
    for after, delay in [(1, 0.0), (4, 0.05), (8, 0.2), (12, 0.02)]:
        wait_for_leases_to_expire(db) if Path(db).exists() else None
        assert kill_mid_poll(listing, db, after, delay, env) == -signal.SIGKILL
        assert len(assert_whole_updates(db, items, taxonomy)) < feeds, "the poll finished before the kill"
    # Once the dead pollers' claims lapse, the next poll completes what they left.
    wait_for_leases_to_expire(db)
    done = subprocess.run([TRACKER, "poll", "--feeds", str(listing), "--db", db], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert assert_whole_updates(db, items, taxonomy) == {f"k{n}": items for n in range(feeds)}
    assert queries.count_articles(db) == feeds * items


@pytest.mark.slow
def test_the_next_poll_completes_a_killed_poll(tmp_path: Path) -> None:
    db = str(tmp_path / "killed.sqlite")
    listing = feeds_file(tmp_path, 40, 60)
    assert kill_mid_poll(listing, db, 2, 0.0, tracker_env()) == -signal.SIGKILL
    done = subprocess.run([TRACKER, "poll", "--feeds", str(listing), "--db", db], capture_output=True, text=True,
                          timeout=300, env=tracker_env())
    assert done.returncode == 0, done.stderr
    assert not [line for line in done.stdout.splitlines() if line.startswith("skipped")], done.stdout
    assert queries.count_articles(db) == 40 * 60


# --- unusable databases and feeds files, through the real command ---------------------------------

def run_tracker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRACKER, *args], capture_output=True, text=True, timeout=120, env=tracker_env())


def assert_one_clear_line(done: subprocess.CompletedProcess[str], *phrases: str) -> str:
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    for phrase in phrases:
        assert phrase in lines[0], (phrase, lines[0])
    return lines[0]


@pytest.fixture
def immutable_db(tmp_path: Path) -> Iterator[Path]:
    """A real tracker database the file system will not let even root write (chattr +i)."""
    path = tmp_path / "immutable.sqlite"
    assert run_tracker("poll", "--db", str(path), "--feed", str(POLL_DATA / "basic.rss")).returncode == 0
    for leftover in (tmp_path / "immutable.sqlite-wal", tmp_path / "immutable.sqlite-shm"):
        leftover.unlink(missing_ok=True)
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here, and root writes through file permissions")
    try:
        yield path
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


BAD_DATABASES = {
    "directory": (lambda tmp: str(tmp), "is a directory, not a database file"),
    "not a database": (lambda tmp: _write(tmp / "notes.sqlite", b"these are my notes\n" * 50),
                       "not a SQLite database (the file exists but holds something else)"),
    "parent is a file": (lambda tmp: str(Path(_write(tmp / "plain", b"x")) / "sub" / "db.sqlite"),
                         "cannot create folder"),
    "under /proc": (lambda tmp: "/proc/tracker-test.sqlite", "cannot write the database"),
}


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("kind", BAD_DATABASES)
@pytest.mark.parametrize("command", [["poll", "--feed", str(POLL_DATA / "basic.rss")], ["stats"], ["export"],
                                     ["feeds", "list"]], ids=" ".join)
def test_unusable_database_is_one_clear_line(tmp_path: Path, kind: str, command: list[str]) -> None:
    make, reason = BAD_DATABASES[kind]
    if command[0] != "poll" and kind in ("parent is a file", "under /proc"):
        reason = "no tracker database here yet"  # a reader creates nothing, so it never gets that far
    location = make(tmp_path)
    done = run_tracker(*command, "--db", location)
    assert_one_clear_line(done, reason)
    assert done.stdout == ""


@pytest.mark.slow
def test_read_only_database_is_one_clear_line(immutable_db: Path) -> None:
    done = run_tracker("poll", "--db", str(immutable_db), "--feed", str(POLL_DATA / "overlap.rss"))
    assert_one_clear_line(done, str(immutable_db.name), "cannot write the database", "readonly")
    assert run_tracker("stats", "--db", str(immutable_db)).returncode == 0  # reading still works


MALFORMED_FEEDS = [
    ("invalid TOML", '[[feeds]]\nid = "a"\nurl = "https://a.example/rss"\n\n[[feeds]]\nid = "b\nurl = "x"\n',
     "line 6"),
    ("bad scheme", '[[feeds]]\nid = "a"\nurl = "https://a.example/rss"\n\n[[feeds]]\nid = "b"\n'
                   'url = "javascript:alert(1)"\n', "line 5"),
    ("duplicate id", '[[feeds]]\nid = "a"\nurl = "https://a.example/rss"\n\n[[feeds]]\nid = "a"\n'
                     'url = "https://b.example/rss"\n', "line 5"),
    ("missing url", '# my feeds\n\n[[feeds]]\nid = "a"\n', "line 3"),
    ("bad id", '[[feeds]]\nid = "a"\nurl = "https://a.example/rss"\n[[feeds]]\nid = "Not OK!"\nurl = "https://b.x/"\n',
     "line 4"),
    ("unknown key", '[[feeds]]\nid = "a"\nurl = "https://a.example/rss"\ncolour = "red"\n', "line 1"),
    ("bad language", '[[feeds]]\nid = "a"\nurl = "https://a.example/rss"\nlanguage = "english"\n', "line 1"),
    ("url without host", '[[feeds]]\nid = "a"\nurl = "https:///rss"\n', "line 1"),
    pytest.param("[feeds] for [[feeds]]", '# typo\n[feeds]\nid = "a"\nurl = "https://a.example/rss"\n', "line 2"),
    pytest.param("[[feeds]] inside a multi-line string",
                 '[[feeds]]\nid = "a"\nurl = "https://a.example/rss"\nname = """\n[[feeds]]\n"""\n\n'
                 '[[feeds]]\nid = "b"\nurl = "gopher://b.example/"\n', "line 8"),
    pytest.param("NUL in a local path", '[[feeds]]\nid = "a"\nurl = "feeds/a\\u0000.xml"\n', "line 1"),
    pytest.param("not UTF-8", b'[[feeds]]\nid = "a"\nname = "caf\xe9"\nurl = "https://a.example/rss"\n', "line 3"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "text", "line"), MALFORMED_FEEDS, ids=[
    case.values[0] if hasattr(case, "values") else case[0] for case in MALFORMED_FEEDS])
def test_malformed_feeds_file_is_one_clear_line(tmp_path: Path, name: str, text: str | bytes, line: str) -> None:
    listing = tmp_path / "feeds.toml"
    if isinstance(text, bytes):
        listing.write_bytes(text)
    else:
        listing.write_text(text, encoding="utf-8")
    done = run_tracker("poll", "--feeds", str(listing), "--db", str(tmp_path / "tracker.sqlite"))
    message = assert_one_clear_line(done, "feeds.toml")
    assert f"{line}:" in message or f"{line}," in message or f"{line})" in message, message
    assert done.stdout == ""
