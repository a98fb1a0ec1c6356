"""The network layer under fetch.py: which addresses we connect to, and for how long.

httpx cannot be told which addresses to refuse, so the client built by
``tracker.fetch.make_client`` runs on a small httpx transport over an httpcore
connection pool with our own network backend. The backend resolves the host,
vets every address it got, and connects to a vetted address itself, so what was
checked is what is connected to (no DNS-rebinding gap between check and connect).
It also enforces a whole-request deadline: every socket read and write gets at
most the time left, so a server trickling one byte a second cannot hold a worker.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefix that NAT64 gateways (and DNS64 resolvers) use to embed an IPv4 address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class BlockedAddress(Exception):
    """A host resolved to an address we refuse to connect to."""

    def __init__(self, host: str, address: str, kind: str) -> None:
        shown = host if host == address else f"{host} ({address})"
        super().__init__(
            f"refusing to connect to {shown}: {kind} address "
            "(set TRACKER_ALLOW_PRIVATE_NETWORKS=1 to allow private networks)"
        )
        self.address = address


def forbidden_kind(address: Address) -> str | None:
    """What makes ``address`` unfit for fetching a public feed, or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return forbidden_kind(embedded)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        # Left: shared (carrier-grade NAT) space and other special-purpose blocks.
        ("non-public", not address.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


# The deadline of the request the current thread is making (sync httpx does its I/O
# in the calling thread, so a thread-local reaches the socket calls of that request).
_local = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bound every connect, read and write in this thread to end within ``seconds``."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.deadline = previous


def _time_left(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    end = getattr(_local, "deadline", None)
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise expired("whole-request deadline exceeded")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, _time_left(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolve, vet, then connect to the vetted address; streams obey the deadline.

    ``treat_as_public`` lists addresses to accept anyway. It exists for tests, which
    can only serve from loopback but need one "public" hop to redirect from.
    """

    def __init__(self, *, allow_private: bool, treat_as_public: Collection[str] = ()) -> None:
        self._inner = httpcore.SyncBackend()
        self._allow_private = allow_private
        self._public = {ipaddress.ip_address(a) for a in treat_as_public}

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Iterable[Any] | None = None,
                    ) -> httpcore.NetworkStream:
        addresses = self._vetted(host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    address, port, _time_left(timeout, httpcore.ConnectTimeout), local_address,
                    socket_options,
                )
            except httpcore.ConnectError as exc:  # try the next address, as create_connection does
                failure = exc
                continue
            return _DeadlineStream(stream)
        assert failure is not None  # _vetted never returns an empty list
        raise failure

    def _vetted(self, host: str, port: int) -> list[str]:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"DNS lookup failed for {host!r} ({exc})") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise httpcore.ConnectError(f"DNS lookup failed for {host!r} (no addresses)")
        if not self._allow_private:
            # Refuse the host if any of its addresses is private: a name that mixes
            # public and private answers is not one we want to half-trust.
            for text in addresses:
                address = ipaddress.ip_address(text.split("%", 1)[0])
                kind = None if address in self._public else forbidden_kind(address)
                if kind:
                    raise BlockedAddress(host, text, kind)
        return addresses

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for fetching feeds")


# httpcore's exceptions, as the httpx ones callers of an httpx.Client expect.
# Leaf classes first: the first isinstance match wins.
_HTTPX_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core_type, httpx_type in _HTTPX_ERRORS:
            if isinstance(exc, core_type):
                raise httpx_type(str(exc), request=request) from exc
        raise


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, response: httpcore.Response, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors(self._request):
            yield from self._response.iter_stream()

    def close(self) -> None:
        self._response.close()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~15 ms, and a poll makes a client per batch of feeds: one context,
    # safe to share between threads, serves every connection of the process.
    return httpx.create_ssl_context()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport over an httpcore pool that connects through GuardedBackend."""

    def __init__(self, backend: GuardedBackend, *, max_keepalive: int) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=None,  # fetch_many bounds concurrency with its workers
            max_keepalive_connections=max_keepalive,
            keepalive_expiry=5.0,
            network_backend=backend,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,  # type: ignore[arg-type]  # a SyncByteStream is iterable
            extensions=request.extensions,
        )
        with _httpx_errors(request):
            response = self._pool.handle_request(core_request)
        return httpx.Response(
            response.status,
            headers=response.headers,
            stream=_ResponseStream(response, request),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()
