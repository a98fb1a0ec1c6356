"""fetch.py against real servers on loopback: pytest-httpserver for well-behaved HTTP,
RawServer (a socket server in a thread) for servers that stall, trickle or break off.

Loopback is private, so most tests allow private networks; the guard's own tests
turn that off. For the redirect-to-private case one loopback address (127.0.0.2)
is declared public through make_client's test-only ``treat_as_public``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import ipaddress
import socket
import struct
import threading
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.rawserver import Handler, RawServer
from tracker import fetch as fetch_module
from tracker.config import Settings
from tracker.errors import FetchError
from tracker.fetch import ACCEPT, USER_AGENT, fetch, fetch_many, make_client, parse_retry_after
from tracker.models import FeedSource, Validators
from tracker.netguard import forbidden_kind

DATA = Path(__file__).parent / "data" / "fetch"
FEED = (DATA / "feed.xml").read_bytes()
CAP = 64 * 1024

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        connect_timeout=2, read_timeout=5, total_timeout=5, max_bytes=CAP, allow_private_networks=True
    )


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> HTTPServer:
    return httpserver_ipv4


def source(url: str, **kwargs: object) -> FeedSource:
    return FeedSource(id="test", url=url, **kwargs)  # type: ignore[arg-type]


def fetch_error(url: str, settings: Settings, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(source(url), settings=settings, **kwargs)  # type: ignore[arg-type]
    assert info.value.resource == url
    return info.value


# --- a raw server for misbehaving peers ------------------------------------------

@pytest.fixture
def raw_server() -> Iterator[Callable[[Handler], RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Handler) -> RawServer:
        servers.append(RawServer(handler, timeout=10))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def never_answers(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(15)


def trickles_body(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100\r\n\r\n")
    for byte in FEED[:100]:
        conn.sendall(bytes([byte]))
        if stop.wait(1):
            return


def trickles_headers(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for byte in b"X-Slow: " + b"a" * 100:
        conn.sendall(bytes([byte]))
        if stop.wait(1):
            return


def closes_mid_body(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + FEED[:10])


def resets_mid_body(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + FEED[:10])
    time.sleep(0.1)  # let the head arrive first
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST


def chunked_endless(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 8192
    for _ in range(2 * CAP // len(chunk)):
        conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    conn.sendall(b"0\r\n\r\n")


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzipped (about 1000 : 1) without holding them all."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * CAP
    return b"".join(compressor.compress(block) for _ in range(size // CAP)) + compressor.flush()


def gzip_bomb_until_close(conn: socket.socket, stop: threading.Event) -> None:
    bomb = gzip_bomb(100 * CAP)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n" + bomb)


# --- success and conditional GET -------------------------------------------------


def test_200_returns_content_headers_and_validators(server: HTTPServer, settings: Settings) -> None:
    server.expect_request("/feed").respond_with_data(
        FEED,
        content_type="application/rss+xml; charset=utf-8",
        headers={"ETag": '"v1"', "Last-Modified": "Mon, 03 Mar 2025 08:00:00 GMT", "Content-Language": "en"},
    )
    url = server.url_for("/feed")
    result = fetch(source(url), settings=settings)
    assert (result.status, result.content, result.url) == (200, FEED, url)
    assert (result.etag, result.last_modified) == ('"v1"', "Mon, 03 Mar 2025 08:00:00 GMT")
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert result.headers["content-language"] == "en"
    assert all(name == name.lower() for name in result.headers)
    assert isinstance(result.headers, dict) and not result.not_modified


def test_request_headers(server: HTTPServer, settings: Settings) -> None:
    server.expect_request("/feed").respond_with_data(FEED)
    fetch(source(server.url_for("/feed")), settings=settings)
    request, _ = server.log[-1]
    assert request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("TensionTracker/") and "(+https://" in USER_AGENT
    assert request.headers["Accept"] == ACCEPT
    assert request.headers["Accept-Encoding"] == "gzip, deflate"
    assert "If-None-Match" not in request.headers


def test_conditional_get_gets_304_and_keeps_validators(server: HTTPServer, settings: Settings) -> None:
    old = Validators(etag='"v1"', last_modified="Mon, 03 Mar 2025 08:00:00 GMT")
    server.expect_request(
        "/feed", headers={"If-None-Match": '"v1"', "If-Modified-Since": "Mon, 03 Mar 2025 08:00:00 GMT"}
    ).respond_with_data(b"", status=304)
    result = fetch(source(server.url_for("/feed")), old, settings=settings)
    server.check_assertions()
    assert result.status == 304 and result.content is None and result.not_modified
    assert (result.etag, result.last_modified) == (old.etag, old.last_modified)


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # headerless, as old servers send it
    ],
)
def test_compressed_body_is_decoded(server: HTTPServer, settings: Settings, encoding: str,
                                    compress: Callable[[bytes], bytes]) -> None:
    server.expect_request("/feed").respond_with_data(compress(FEED), headers={"Content-Encoding": encoding})
    result = fetch(source(server.url_for("/feed")), settings=settings)
    assert result.content == FEED
    assert "content-encoding" not in result.headers and "content-length" not in result.headers


# --- time limits -----------------------------------------------------------------


@pytest.mark.parametrize("handler", [never_answers, trickles_headers, trickles_body])
def test_whole_request_deadline(raw_server: Callable[[Handler], RawServer], settings: Settings,
                                handler: Handler) -> None:
    server = raw_server(handler)
    quick = Settings(read_timeout=10, total_timeout=1.5, allow_private_networks=True)
    started = time.monotonic()
    error = fetch_error(server.url, quick)
    assert time.monotonic() - started < 3
    assert "within 1.5 s (total_timeout)" in error.reason and error.status is None


def test_read_timeout(raw_server: Callable[[Handler], RawServer]) -> None:
    server = raw_server(never_answers)
    error = fetch_error(server.url, Settings(read_timeout=0.5, total_timeout=10, allow_private_networks=True))
    assert "nothing for 0.5 s (read_timeout)" in error.reason


# --- size cap --------------------------------------------------------------------


def test_body_at_the_cap_is_accepted(server: HTTPServer, settings: Settings) -> None:
    server.expect_request("/feed").respond_with_data(b"x" * CAP)
    assert fetch(source(server.url_for("/feed")), settings=settings).content == b"x" * CAP


def test_content_length_over_the_cap(server: HTTPServer, settings: Settings) -> None:
    server.expect_request("/feed").respond_with_data(b"x" * (CAP + 1))
    error = fetch_error(server.url_for("/feed"), settings)
    assert "larger than the 65536 byte limit (Content-Length: 65537)" in error.reason


def test_gzip_inflating_past_the_cap(server: HTTPServer, settings: Settings) -> None:
    bomb = gzip_bomb(100 * CAP)
    assert len(bomb) < CAP
    server.expect_request("/feed").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    assert "larger than the 65536 byte limit" in fetch_error(server.url_for("/feed"), settings).reason


@pytest.mark.parametrize(
    ("encoding", "chunks"),
    [("gzip", [gzip_bomb(500 * CAP)]), ("identity", [b"x" * CAP] * 500)],  # 32 MiB either way
)
def test_decoding_stops_at_the_cap(encoding: str, chunks: list[bytes]) -> None:
    def peak_while_decoding() -> int:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match="larger than the 65536 byte limit"):
                fetch_module._decode_body(iter(chunks), encoding, CAP, resource="test")
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # tracemalloc counts every thread, and a server thread of an earlier test may be
    # draining its socket with a 10 MB buffer (werkzeug does), so keep the quieter run.
    peak = min(peak_while_decoding(), peak_while_decoding())
    assert peak < 8 * CAP  # httpx's own decoder would hold the whole 32 MiB at once


@pytest.mark.parametrize("handler", [chunked_endless, gzip_bomb_until_close])
def test_body_without_content_length_over_the_cap(raw_server: Callable[[Handler], RawServer],
                                                  settings: Settings, handler: Handler) -> None:
    error = fetch_error(raw_server(handler).url, settings)
    assert "larger than the 65536 byte limit" in error.reason


def test_unsupported_or_corrupt_encoding(server: HTTPServer, settings: Settings) -> None:
    server.expect_request("/br").respond_with_data(b"??", headers={"Content-Encoding": "br"})
    server.expect_request("/bad").respond_with_data(b"not gzip", headers={"Content-Encoding": "gzip"})
    assert "unsupported Content-Encoding 'br'" in fetch_error(server.url_for("/br"), settings).reason
    assert "cannot decompress" in fetch_error(server.url_for("/bad"), settings).reason


# --- redirects -------------------------------------------------------------------


def redirect_chain(server: HTTPServer, hops: int) -> str:
    for n in range(hops):
        # Relative and absolute Locations, and the various redirect statuses.
        target = f"/hop{n + 1}" if n % 2 else server.url_for(f"/hop{n + 1}")
        status = (301, 302, 303, 307, 308)[n % 5]
        server.expect_request(f"/hop{n}").respond_with_data(b"", status=status, headers={"Location": target})
    server.expect_request(f"/hop{hops}").respond_with_data(FEED)
    return server.url_for("/hop0")


def test_redirects_within_the_limit(server: HTTPServer, settings: Settings) -> None:
    result = fetch(source(redirect_chain(server, 5)), settings=settings)
    assert result.url == server.url_for("/hop5") and result.content == FEED


def test_too_many_redirects(server: HTTPServer, settings: Settings) -> None:
    assert "more than 5 redirects" in fetch_error(redirect_chain(server, 6), settings).reason


def test_redirect_loop(server: HTTPServer, settings: Settings) -> None:
    server.expect_request("/a").respond_with_data(b"", status=302, headers={"Location": "/b"})
    server.expect_request("/b").respond_with_data(b"", status=302, headers={"Location": "/a"})
    assert "redirect loop" in fetch_error(server.url_for("/a"), settings).reason


@pytest.mark.parametrize("target", ["ftp://example.org/feed", "file:///etc/passwd"])
def test_redirect_to_another_scheme(server: HTTPServer, settings: Settings, target: str) -> None:
    server.expect_request("/feed").respond_with_data(b"", status=302, headers={"Location": target})
    with pytest.raises(FetchError, match="unsupported URL scheme"):
        fetch(source(server.url_for("/feed"), allow_local=True), settings=settings)


# --- HTTP errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [(404, "HTTP 404 Not Found"), (410, "HTTP 410 Gone"), (500, "HTTP 500 Internal Server Error"),
     (302, "HTTP 302 Found"), (599, "HTTP 599")],  # a 302 without Location; an unknown status
)
def test_http_errors(server: HTTPServer, settings: Settings, status: int, reason: str) -> None:
    server.expect_request("/feed").respond_with_data(b"oops", status=status)
    error = fetch_error(server.url_for("/feed"), settings)
    assert (error.reason, error.status, error.retry_after) == (reason, status, None)


def http_date(seconds_from_now: float) -> str:
    return email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now),
                                       usegmt=True)


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("120", 120.0), (None, None), ("soon", None), ("-5", None), (http_date(-3600), 0.0)],
)
def test_retry_after(server: HTTPServer, settings: Settings, status: int, retry_after: str | None,
                     expected: float | None) -> None:
    headers = {"Retry-After": retry_after} if retry_after else {}
    server.expect_request("/feed").respond_with_data(b"", status=status, headers=headers)
    error = fetch_error(server.url_for("/feed"), settings)
    assert (error.status, error.retry_after) == (status, expected)


def test_retry_after_as_http_date(server: HTTPServer, settings: Settings) -> None:
    server.expect_request("/feed").respond_with_data(b"", status=503, headers={"Retry-After": http_date(90)})
    error = fetch_error(server.url_for("/feed"), settings)
    assert error.retry_after is not None and 85 <= error.retry_after <= 90


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0.0), (" 30 ", 30.0), ("1.5", None), ("", None),
     ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0), ("Wed, 21 Oct 2015 07:28:00 -0000", 60.0),
     ("Wed, 21 Oct 2015 07:26:00 GMT", 0.0), ("Wed, 32 Oct 2015 07:28:00 GMT", None)],
)
def test_parse_retry_after(value: str, expected: float | None) -> None:
    now = dt.datetime(2015, 10, 21, 7, 27, tzinfo=dt.UTC)
    assert parse_retry_after(value, now=now) == expected


# --- broken connections ----------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "reason"),
    [(closes_mid_body, "server broke off the response"), (resets_mid_body, "connection failed")],
)
def test_connection_lost_mid_body(raw_server: Callable[[Handler], RawServer], settings: Settings,
                                  handler: Handler, reason: str) -> None:
    assert reason in fetch_error(raw_server(handler).url, settings).reason


def test_connection_refused(settings: Settings) -> None:
    with socket.socket() as unused:  # bound but not listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}/feed"
        assert "cannot connect" in fetch_error(url, settings).reason


def test_tls_error(server: HTTPServer, settings: Settings) -> None:
    url = server.url_for("/feed").replace("http://", "https://")
    assert fetch_error(url, settings).reason.startswith("TLS error")


def test_dns_failure(settings: Settings) -> None:
    # .invalid never resolves (RFC 6761).
    error = fetch_error("http://feeds.invalid/rss", settings)
    assert "cannot connect: DNS lookup failed for 'feeds.invalid'" in error.reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [("http://", "invalid URL"), ("http:///feed", "invalid URL"), ("http://[::1", "invalid URL"),
     ("https://\x00/", "invalid URL"), ("http://xn--a-.com/", "invalid URL"),
     ("http://a..b/", "DNS lookup failed"), ("file://server/feed.xml", "file URL on another host")],
)
def test_malformed_urls(settings: Settings, url: str, reason: str) -> None:
    with pytest.raises(FetchError, match=reason):
        fetch(source(url, allow_local=True), settings=settings)


# --- private networks and schemes ------------------------------------------------


def test_private_address_refused(server: HTTPServer, settings: Settings) -> None:
    server.expect_request("/feed").respond_with_data(FEED)
    public_only = Settings(allow_private_networks=False)
    error = fetch_error(server.url_for("/feed"), public_only)
    assert "refusing to connect to 127.0.0.1: loopback address" in error.reason
    # Checked after DNS resolution, so a name does not help.
    error = fetch_error(server.url_for("/feed").replace("127.0.0.1", "localhost"), public_only)
    assert "localhost (127.0.0.1): loopback" in error.reason
    assert not server.log  # refused before connecting
    fetch(source(server.url_for("/feed")), settings=settings)  # allowed when settings say so


@pytest.mark.parametrize("private_host", ["127.0.0.1", "localhost"])
def test_redirect_to_private_address_refused(server: HTTPServer, private_host: str) -> None:
    server.expect_request("/feed").respond_with_data(FEED)
    target = server.url_for("/feed").replace("127.0.0.1", private_host)
    public_only = Settings(allow_private_networks=False)
    with HTTPServer(host="127.0.0.2", port=0) as hop, make_client(
        public_only, treat_as_public={"127.0.0.2"}
    ) as client:
        hop.expect_request("/ok").respond_with_data(FEED)
        hop.expect_request("/feed").respond_with_data(b"", status=302, headers={"Location": target})
        # The "public" hop itself is fetched ...
        assert fetch(source(hop.url_for("/ok")), settings=public_only, client=client).content == FEED
        # ... but its redirect into loopback is not.
        with pytest.raises(FetchError, match="refusing to connect to .*loopback address"):
            fetch(source(hop.url_for("/feed")), settings=public_only, client=client)
    assert not server.log


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
     "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.0.1", "198.18.0.1",
     "::1", "::", "fe80::1", "fc00::1", "ff02::1", "::127.0.0.1",
     # IPv4 inside IPv6: mapped, 6to4, NAT64.
     "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::1", "64:ff9b::a00:1"],
)
def test_forbidden_addresses(address: str) -> None:
    assert forbidden_kind(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses(address: str) -> None:
    assert forbidden_kind(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url", ["ftp://example.org/feed.xml", "javascript:alert(1)", "data:text/xml,<rss/>", "gopher://x/"]
)
def test_other_schemes_refused(settings: Settings, url: str) -> None:
    with pytest.raises(FetchError, match="unsupported URL scheme"):
        fetch(source(url, allow_local=True), settings=settings)


def test_client_must_come_from_make_client(settings: Settings) -> None:
    with httpx.Client() as client, pytest.raises(ValueError, match="make_client"):
        fetch(source("http://127.0.0.1:9/"), settings=settings, client=client)


# --- local files -----------------------------------------------------------------


@pytest.mark.parametrize("as_url", [False, True])
def test_local_file_with_allow_local(settings: Settings, as_url: bool) -> None:
    path = DATA / "feed.xml"
    url = path.as_uri() if as_url else str(path)
    result = fetch(source(url, allow_local=True), settings=settings)
    assert (result.status, result.content, result.url) == (200, FEED, str(path.resolve()))
    assert result.headers == {"content-type": "application/xml"}


@pytest.mark.parametrize("url", [str(DATA / "feed.xml"), (DATA / "feed.xml").as_uri(), "feeds/local.xml"])
def test_local_file_without_allow_local(settings: Settings, url: str) -> None:
    error = fetch_error(url, settings)
    assert "local files are only accepted from the local feeds file or the command line" in error.reason


def test_local_file_missing_or_too_large(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="no such file"):
        fetch(source(str(tmp_path / "missing.xml"), allow_local=True), settings=settings)
    big = tmp_path / "big.rss"
    big.write_bytes(b"x" * (CAP + 1))
    with pytest.raises(FetchError, match="larger than the 65536 byte limit"):
        fetch(source(str(big), allow_local=True), settings=settings)


# --- fetch_many ------------------------------------------------------------------


def test_fetch_many_bounds_concurrency_per_host(settings: Settings) -> None:
    lock = threading.Lock()
    running: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    peak_total = 0

    def slow(request: Request) -> Response:
        nonlocal peak_total
        host = request.host.split(":")[0]
        with lock:
            running[host] += 1
            peak[host] = max(peak[host], running[host])
            peak_total = max(peak_total, running.total())
        time.sleep(0.3)
        with lock:
            running[host] -= 1
        return Response(FEED)

    with HTTPServer(host="127.0.0.1", port=0, threaded=True) as server:
        server.expect_request("/feed").respond_with_handler(slow)
        urls = [server.url_for("/feed"), server.url_for("/feed").replace("127.0.0.1", "localhost")]
        jobs = [(FeedSource(id=f"{n}", url=urls[n % 2]), None) for n in range(12)]
        outcomes = list(fetch_many(jobs, settings=settings))
    assert sorted(s.id for s, _ in outcomes) == sorted(s.id for s, _ in jobs)
    assert all(getattr(result, "content", None) == FEED for _, result in outcomes)
    assert peak == {"127.0.0.1": 2, "localhost": 2}
    assert peak_total == 4  # the two hosts ran side by side


def test_fetch_many_mixes_good_and_bad_feeds(server: HTTPServer, settings: Settings) -> None:
    server.expect_request("/good").respond_with_data(FEED)
    server.expect_request("/gone").respond_with_data(b"", status=410)
    server.expect_request("/busy").respond_with_data(b"", status=429, headers={"Retry-After": "60"})
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        jobs = [
            (FeedSource(id="good", url=server.url_for("/good")), None),
            (FeedSource(id="gone", url=server.url_for("/gone")), None),
            (FeedSource(id="busy", url=server.url_for("/busy")), None),
            (FeedSource(id="refused", url=f"http://127.0.0.1:{unused.getsockname()[1]}/"), None),
            (FeedSource(id="ftp", url="ftp://example.org/feed"), None),
            (FeedSource(id="local", url=str(DATA / "feed.xml")), None),
            (FeedSource(id="local-ok", url=str(DATA / "feed.xml"), allow_local=True), None),
        ]
        outcomes = {s.id: outcome for s, outcome in fetch_many(iter(jobs), settings=settings)}
    assert set(outcomes) == {s.id for s, _ in jobs}
    ok = {key for key, outcome in outcomes.items() if not isinstance(outcome, FetchError)}
    assert ok == {"good", "local-ok"}
    assert outcomes["gone"].status == 410  # type: ignore[union-attr]
    assert outcomes["busy"].retry_after == 60  # type: ignore[union-attr]

