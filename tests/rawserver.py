"""A socket server on 127.0.0.1 in a thread, for peers that stall, trickle or break off: things a
well-behaved HTTP server library will not do on purpose."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Callable

Handler = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """Accepts connections, reads one request head, then lets the path's handler misbehave.

    ``handlers``: one handler for every path, or a dict of path -> handler (others get ``missing``).
    ``url`` is the root plus "/feed"; ``requests`` counts requests per path.
    """

    def __init__(self, handlers: Handler | dict[str, Handler], *, missing: Handler | None = None,
                 timeout: float = 30) -> None:
        self._handlers = handlers
        self._missing = missing
        self._timeout = timeout
        self.requests: Counter[str] = Counter()
        self.stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.root = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.url = self.root + "/feed"
        self._threads = [threading.Thread(target=self._accept)]
        self._threads[0].start()

    def url_for(self, path: str) -> str:
        return self.root + path

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,))
            self._threads.append(thread)
            thread.start()

    def _handler_for(self, path: str) -> Handler | None:
        if isinstance(self._handlers, dict):
            return self._handlers.get(path, self._missing)
        return self._handlers

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(self._timeout)
            try:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = conn.recv(4096)
                    if not data:
                        return
                    head += data
                path = head.split(b" ", 2)[1].decode("latin-1")
                self.requests[path] += 1
                handler = self._handler_for(path)
                if handler is not None:
                    handler(conn, self.stop)
            except OSError:  # the client gave up, as it should
                pass

    def close(self) -> None:
        self.stop.set()
        for thread in list(self._threads):
            thread.join(10)
        self._listener.close()
