"""The fake server's HTTP plumbing: a threading server that can close every connection, and raw output.

Standard library only: one daemon thread per connection, HTTP/1.1 keep-alive, ``Content-Length`` for
JSON and chunked transfer-encoding for server-sent events. :class:`Connection` is the base request
handler; the routes live in :mod:`symposia.testing.handler`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import sys
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Abort", "Connection", "HTTPServer", "first", "json_bytes", "retry_after_headers"]


class Abort(Exception):
    """The server is stopping or the client went away: end this response without another byte."""


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def retry_after_headers(seconds: float | None) -> list[tuple[str, str]]:
    """``Retry-After`` (whole seconds when it can) and ``retry-after-ms``, or nothing."""
    if seconds is None:
        return []
    value = str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
    return [("Retry-After", value), ("retry-after-ms", str(round(seconds * 1000)))]


class HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its owner and can close every live connection."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], handler: type[Connection], owner: Any,
                 tls: ssl.SSLContext | None = None) -> None:
        self.owner = owner
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self.accepted = 0
        super().__init__(address, handler)
        if tls is not None:  # HTTPS: the handshake happens in the connection's own thread, on its first read
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def track(self, conn: socket.socket) -> None:
        with self._conns_lock:
            self._conns.add(conn)
            self.accepted += 1

    def untrack(self, conn: socket.socket) -> None:
        with self._conns_lock:
            self._conns.discard(conn)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response are normal here (timeouts, drops); stay quiet about them.
        # Anything else still prints a traceback (never request headers).
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError | Abort):
            return
        super().handle_error(request, client_address)


class Connection(BaseHTTPRequestHandler):
    """One client connection: raw writes, JSON and SSE framing, pauses that end when the server stops."""

    protocol_version = "HTTP/1.1"
    server_version = "symposia-fake/1"

    def setup(self) -> None:
        super().setup()
        # Small SSE writes must leave at once: Nagle + delayed ACK would add ~40 ms per event.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.httpd().track(self.connection)
        self._buf: list[bytes] = []

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.httpd().untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Log nothing: request lines and headers may carry API keys."""

    def httpd(self) -> HTTPServer:
        assert isinstance(self.server, HTTPServer)
        return self.server

    @property
    def stopping(self) -> threading.Event:
        event = self.httpd().owner.stopping
        assert isinstance(event, threading.Event)
        return event

    # -- raw output ------------------------------------------------------------------------------

    def head(self, status: int, headers: list[tuple[str, str]]) -> bytes:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Site Overloaded" if status == 529 else "Error"
        lines = [f"HTTP/1.1 {status} {phrase}", f"Server: {self.server_version}",
                 f"Date: {self.date_time_string()}"]
        lines += [f"{k}: {v}" for k, v in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
        except OSError as exc:
            raise Abort from exc

    def send_json(self, status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> None:
        self.send_bytes(status, json_bytes(obj), "application/json", headers)

    def send_bytes(self, status: int, body: bytes, content_type: str,
                   headers: list[tuple[str, str]] | None = None) -> None:
        head = self.head(status, [("Content-Type", content_type),
                                  ("Content-Length", str(len(body))), *(headers or [])])
        self.write(head + body)

    def event(self, payload: bytes) -> None:
        """Queue one SSE event as one HTTP chunk; it goes out at the next flush."""
        self._buf.append(b"%X\r\n%s\r\n" % (len(payload), payload))

    def start_chunked(self, headers: list[tuple[str, str]]) -> None:
        """Queue the head of a chunked response."""
        self._buf.append(self.head(200, [*headers, ("Transfer-Encoding", "chunked")]))

    def flush(self) -> None:
        if self._buf:
            data = b"".join(self._buf)
            self._buf.clear()
            self.write(data)

    def pause(self, seconds: float) -> None:
        """Flush what is queued and wait (no-op for 0 s, so undelayed events share one write).

        Raises Abort when the server is stopping."""
        if seconds > 0:
            self.flush()
            if self.stopping.wait(seconds):
                raise Abort
        if self.stopping.is_set():
            raise Abort

    def hard_close(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def hang_forever(self) -> None:
        """Send nothing until the server stops (which closes the socket)."""
        self.stopping.wait()
        raise Abort

    # -- input -----------------------------------------------------------------------------------

    def lower_headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def read_body(self) -> bytes:
        """The request body, by Content-Length or chunked transfer-encoding."""
        try:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                parts: list[bytes] = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return b"".join(parts)
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:  # unreadable framing: answer (400) and drop the connection
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""


def first(mapping: Mapping[str, list[str]], name: str) -> str | None:
    """The first value of a query parameter, or None."""
    values = mapping.get(name)
    return values[0] if values else None
