"""Fetch feed documents: the only module that speaks HTTP.

Bytes and response headers go on to ``parse.py``; every failure becomes a
``FetchError`` naming the feed's URL. Guarantees: connect/read timeouts and a
whole-request deadline, a size cap counted after decompression, redirects
followed by hand (each hop re-checked), conditional GET, Retry-After on 429/503,
and no connections to private networks unless settings allow them (see netguard).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ssl
import time
import weakref
import zlib
from collections import Counter, defaultdict, deque
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

import tracker
from tracker import config, netguard
from tracker.config import Settings
from tracker.errors import FetchError
from tracker.models import FeedSource, FetchResult, Validators

USER_AGENT = f"TensionTracker/{tracker.__version__} (+{config.HOMEPAGE})"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
# Only what _decode_body can inflate with a bound on the output.
ACCEPT_ENCODING = "gzip, deflate"

_LOCAL_ONLY = "local files are only accepted from the local feeds file or the command line"
_REDIRECTS = {301, 302, 303, 307, 308}
_RETRY_AFTER_STATUSES = {429, 503}
_LOCAL_TYPES = {
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
}
_MAX_VALIDATOR = 1024  # characters of an ETag or Last-Modified worth keeping
# Headers that describe the bytes on the wire, not the decoded content we return.
_WIRE_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}

# Clients built by make_client: the only ones that carry the network guard.
_guarded_clients: weakref.WeakSet[httpx.Client] = weakref.WeakSet()


def make_client(settings: Settings, *, treat_as_public: Collection[str] = ()) -> httpx.Client:
    """An httpx client for ``fetch``, safe to share between threads; close it when done.

    Its connections go through the private-network guard (unless
    ``settings.allow_private_networks``) and use the settings' connect and read
    timeouts. ``treat_as_public`` lists IP addresses the guard should accept
    anyway; it is for tests only.
    """
    backend = netguard.GuardedBackend(
        allow_private=settings.allow_private_networks, treat_as_public=treat_as_public
    )
    client = httpx.Client(
        transport=netguard.GuardedTransport(backend, max_keepalive=settings.max_workers),
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.total_timeout,
        ),
        follow_redirects=False,
        trust_env=False,  # an environment proxy would bypass the guard
    )
    _guarded_clients.add(client)
    return client


def fetch(
    source: FeedSource,
    validators: Validators | None = None,
    *,
    settings: Settings | None = None,
    client: httpx.Client | None = None,
) -> FetchResult:
    """Fetch one feed document, conditionally when ``validators`` are given.

    Returns a FetchResult (``content`` None on 304 Not Modified); raises FetchError
    for anything else, with ``status`` set for HTTP errors and ``retry_after`` for
    429/503. ``headers`` are the final response's, names lower-cased, without the
    wire-only Content-Encoding, Content-Length and Transfer-Encoding (``content``
    is already decoded). Local paths and file:// URLs are read only when
    ``source.allow_local`` is set.

    ``client`` must come from ``make_client`` (without one, a client is made for
    this call); its settings decide the network guard and the connect/read
    timeouts, while ``settings`` decide the deadline, size cap and redirects.
    """
    if settings is None:
        settings = Settings.from_env()
    started = time.monotonic()
    local = _local_path(source.url)
    if local is not None:
        if not source.allow_local:
            raise FetchError(f"not an http(s) URL; {_LOCAL_ONLY}", resource=source.url)
        return _fetch_local(source, local, settings, started)
    if client is None:
        with make_client(settings) as own_client:
            return _fetch_http(source, validators, settings, own_client, started)
    if client not in _guarded_clients:
        raise ValueError("fetch() needs a client made by tracker.fetch.make_client()")
    return _fetch_http(source, validators, settings, client, started)


def fetch_many(
    jobs: Iterable[tuple[FeedSource, Validators | None]], *, settings: Settings | None = None
) -> Iterator[tuple[FeedSource, FetchResult | FetchError]]:
    """Fetch many feeds on threads, yielding ``(source, result or error)`` as each completes.

    At most ``settings.max_workers`` fetches run at once, and at most
    ``settings.per_host`` against one host (counted by each feed's first URL).
    One feed's failure is yielded as its FetchError, never raised.
    """
    if settings is None:
        settings = Settings.from_env()
    queues: dict[str, deque[tuple[FeedSource, Validators | None]]] = defaultdict(deque)
    for source, validators in jobs:
        queues[_host_key(source.url)].append((source, validators))
    running: dict[Future[FetchResult], tuple[FeedSource, str]] = {}
    busy: Counter[str] = Counter()

    with make_client(settings) as client, ThreadPoolExecutor(
        max_workers=settings.max_workers, thread_name_prefix="tracker-fetch"
    ) as pool:

        def start_ready() -> None:
            for host, queue in queues.items():
                while queue and busy[host] < settings.per_host and len(running) < settings.max_workers:
                    source, validators = queue.popleft()
                    future = pool.submit(fetch, source, validators, settings=settings, client=client)
                    running[future] = (source, host)
                    busy[host] += 1

        start_ready()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                source, host = running.pop(future)
                busy[host] -= 1
                try:
                    yield source, future.result()
                except FetchError as exc:
                    yield source, exc
            start_ready()


# --- local files -----------------------------------------------------------------


def _local_path(url: str) -> Path | None:
    """The path a feed URL names, or None for a URL with a (non-file) scheme."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise FetchError(f"invalid URL: {exc}", resource=url) from exc
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise FetchError(f"file URL on another host ({parts.netloc})", resource=url)
        return Path(url2pathname(parts.path))
    # No scheme, or a one-letter one: a Windows drive such as C:\feeds\a.xml.
    if len(parts.scheme) <= 1:
        return Path(url)
    return None


def _fetch_local(source: FeedSource, path: Path, settings: Settings, started: float) -> FetchResult:
    try:
        resolved = path.expanduser().resolve()
        with resolved.open("rb") as file:
            content = file.read(settings.max_bytes + 1)
    except FileNotFoundError as exc:
        raise FetchError(f"no such file: {path}", resource=source.url) from exc
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}", resource=source.url) from exc
    if len(content) > settings.max_bytes:
        raise FetchError(f"file is larger than the {settings.max_bytes} byte limit", resource=source.url)
    content_type = _LOCAL_TYPES.get(resolved.suffix.lower())
    return FetchResult(
        source=source,
        url=str(resolved),
        status=200,
        content=content,
        headers={"content-type": content_type} if content_type else {},
        elapsed=time.monotonic() - started,
    )


# --- HTTP ------------------------------------------------------------------------


def _fetch_http(
    source: FeedSource,
    validators: Validators | None,
    settings: Settings,
    client: httpx.Client,
    started: float,
) -> FetchResult:
    validators = validators or Validators()
    conditional = {}
    sent_etag, sent_last_modified = _validator(validators.etag), _validator(validators.last_modified)
    if sent_etag:
        conditional["If-None-Match"] = sent_etag
    if sent_last_modified:
        conditional["If-Modified-Since"] = sent_last_modified
    try:
        with netguard.deadline(settings.total_timeout):
            response, content = _follow(source, conditional, settings, client)
    except FetchError:
        raise
    except (httpx.HTTPError, httpx.InvalidURL, netguard.BlockedAddress, UnicodeError) as exc:
        raise FetchError(_describe(exc, settings, started), resource=source.url) from exc
    except OSError as exc:  # not expected past httpx, but nothing else may escape
        raise FetchError(f"{type(exc).__name__}: {exc}", resource=source.url) from exc

    headers = {name: value for name, value in response.headers.items() if name not in _WIRE_HEADERS}
    status = response.status_code
    etag, last_modified = _validator(headers.get("etag")), _validator(headers.get("last-modified"))
    if status == 304:  # a 304 may update the validators; otherwise the old ones stand
        etag, last_modified = etag or validators.etag, last_modified or validators.last_modified
    return FetchResult(
        source=source,
        url=str(response.url),
        status=status,
        content=content,
        headers=headers,
        etag=etag,
        last_modified=last_modified,
        elapsed=time.monotonic() - started,
    )


def _validator(value: str | None) -> str | None:
    """An ETag or Last-Modified we can send back: printable ASCII, of a sane length.

    A server that sent other bytes would otherwise have them stored and sent with every
    later request, which httpx refuses: the feed would fail for good.
    """
    if value and len(value) <= _MAX_VALIDATOR and value.isascii() and value.isprintable():
        return value
    return None


def _follow(
    source: FeedSource, conditional: dict[str, str], settings: Settings, client: httpx.Client
) -> tuple[httpx.Response, bytes | None]:
    """GET the feed, following redirects by hand; return the final response and body."""
    url = httpx.URL(source.url)
    seen = {str(url)}
    for _hop in range(settings.max_redirects + 1):
        if url.scheme not in ("http", "https"):
            raise FetchError(
                f"unsupported URL scheme {url.scheme!r} in {url} (only http and https)",
                resource=source.url,
            )
        response = client.send(client.build_request("GET", url, headers=conditional), stream=True)
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                url = response.url.join(location)
                if str(url) in seen:
                    raise FetchError(f"redirect loop at {url}", resource=source.url)
                seen.add(str(url))
                continue
            _raise_for_status(source, response)
            if response.status_code == 304:
                return response, None
            return response, _read_body(source, response, settings.max_bytes)
        finally:
            response.close()
    raise FetchError(f"more than {settings.max_redirects} redirects", resource=source.url)


def _raise_for_status(source: FeedSource, response: httpx.Response) -> None:
    status = response.status_code
    if status < 300 or status == 304:
        return
    try:
        reason = f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        reason = f"HTTP {status}"
    retry_after = None
    if status in _RETRY_AFTER_STATUSES:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
    raise FetchError(reason, resource=source.url, status=status, retry_after=retry_after)


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no zone claimed
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _read_body(source: FeedSource, response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(
            f"body is larger than the {limit} byte limit (Content-Length: {declared})", resource=source.url
        )
    encoding = response.headers.get("content-encoding", "identity")
    return _decode_body(response.iter_raw(), encoding, limit, resource=source.url)


def _decode_body(chunks: Iterable[bytes], encoding: str, limit: int, *, resource: str) -> bytes:
    """Join raw body chunks, decoding gzip/deflate, and fail as soon as ``limit`` is passed.

    We decode rather than httpx because httpx inflates each network chunk in one go
    (a 64 KiB gzip chunk can become 64 MiB) and stacks encodings ("gzip, gzip");
    here no step produces more than ``limit + 1`` bytes.
    """
    too_large = f"body is larger than the {limit} byte limit"
    encoding = encoding.strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise FetchError(f"unsupported Content-Encoding {encoding!r}", resource=resource)
    # wbits 32+15 accepts both gzip and zlib headers; headerless deflate is the fallback below.
    inflater = None if encoding == "identity" else zlib.decompressobj(32 + zlib.MAX_WBITS)
    headerless = False
    body = bytearray()
    for chunk in chunks:
        pending = chunk
        while pending:
            if inflater is None:
                body += pending
                pending = b""
            else:
                try:
                    body += inflater.decompress(pending, limit + 1 - len(body))
                except zlib.error as exc:
                    if encoding == "deflate" and not body and not headerless:
                        # Old servers send "deflate" without the zlib header.
                        inflater, headerless = zlib.decompressobj(-zlib.MAX_WBITS), True
                        continue
                    raise FetchError(f"cannot decompress the {encoding} body", resource=resource) from exc
                pending = inflater.unconsumed_tail
            if len(body) > limit:
                raise FetchError(too_large, resource=resource)
    if inflater is not None:
        body += inflater.flush()
    if len(body) > limit:
        raise FetchError(too_large, resource=resource)
    return bytes(body)


def _describe(exc: BaseException, settings: Settings, started: float) -> str:
    """A short reason for a failed request, for people reading the poll report."""
    if isinstance(exc, netguard.BlockedAddress):
        return str(exc)
    if isinstance(exc, httpx.TimeoutException):
        if time.monotonic() - started >= settings.total_timeout:
            return f"no complete response within {settings.total_timeout:g} s (total_timeout)"
        if isinstance(exc, httpx.ConnectTimeout):
            return f"connection timed out after {settings.connect_timeout:g} s (connect_timeout)"
        if isinstance(exc, httpx.ReadTimeout):
            return f"server sent nothing for {settings.read_timeout:g} s (read_timeout)"
        return f"timed out: {exc}"
    tls = _tls_error(exc)
    if tls is not None:
        detail = getattr(tls, "verify_message", None) or tls.reason or str(tls)
        return f"TLS error: {detail}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {exc}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"server broke off the response: {exc}"
    if isinstance(exc, httpx.NetworkError):
        return f"connection failed: {exc}"
    if isinstance(exc, httpx.InvalidURL | UnicodeError | httpx.UnsupportedProtocol):
        return f"invalid URL: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _tls_error(exc: BaseException | None) -> ssl.SSLError | None:
    """The SSLError behind an httpx error (httpx -> httpcore -> ssl), if any."""
    for _ in range(5):
        if exc is None or isinstance(exc, ssl.SSLError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _host_key(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
