"""The server's front door: connection limits, body limits, the descriptor limit.

Everything here runs before a request reaches a handler, so a hostile client
is refused at the cost of a few bytes, not of a parsed request:

* :class:`ConnectionGuard` counts open connections (in total and per client
  address) and the refusals, for ``/stats``;
* :class:`GuardedHTTPServer` answers a connection over
  ``ServerConfig.max_connections`` (or ``max_connections_per_client``) with
  ``503`` and ``Retry-After``, reads headers and bodies under
  ``header_timeout``/``body_timeout`` (slowloris clients are cut), and when
  ``accept()`` fails because the process is out of file descriptors
  (``EMFILE``/``ENFILE``) pauses accepting for ``accept_pause`` seconds and logs
  once per interval, instead of Tornado's busy loop of tracebacks;
* :class:`GuardedApplication` answers a request whose body is over its
  endpoint's limit (``max_body`` on ``/v1/...``, ``max_body_other`` elsewhere)
  with ``413`` before reading the body, in the endpoint's format;
* :func:`raise_nofile_limit` raises the soft ``RLIMIT_NOFILE`` to the hard
  one at start, as servers do.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from typing import Any

import tornado.httpserver
import tornado.httputil
import tornado.web
from tornado.iostream import IOStream, StreamClosedError

from sse_lab.server.config import ServerConfig
from sse_lab.server.tornado_internals import add_guarded_sockets

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows
    resource = None  # type: ignore[assignment]

__all__ = [
    "ConnectionGuard",
    "GuardedHTTPServer",
    "GuardedApplication",
    "raise_nofile_limit",
]

log = logging.getLogger("sse_lab.server")

#: Seconds between two "out of file descriptors" log lines.
EXHAUSTED_LOG_INTERVAL = 10.0
#: Seconds between two scans for closed upgraded (WebSocket) connections.
_PRUNE_INTERVAL = 0.5


def raise_nofile_limit() -> int:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit; return the soft limit now.

    A server holds one descriptor per connection; the usual soft default of
    1,024 would refuse the 1,025th reader while the hard limit allows far more.
    """
    if resource is None:  # pragma: no cover
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        want = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError):  # pragma: no cover - e.g. a container cap
            pass
    return soft


class ConnectionGuard:
    """Counts connections and refusals; decides who is let in (server loop only).

    Attributes:
        config: The server's limits.
        open: Connections open now (HTTP and upgraded WebSocket ones).
        refused_busy: Connections answered ``503`` (``max_connections``).
        refused_client: Connections answered ``503`` (``max_connections_per_client``).
        refused_too_large: Requests answered ``413`` (body over the limit).
        fd_exhausted: Times ``accept()`` failed for lack of file descriptors.
        accept_paused_s: Seconds accepting was paused for that, in total.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._streams: dict[IOStream, str] = {}
        self._per_client: Counter[str] = Counter()
        self._upgraded: set[IOStream] = set()
        self._last_prune = 0.0
        self.refused_busy = 0
        self.refused_client = 0
        self.refused_too_large = 0
        self.fd_exhausted = 0
        self.accept_paused_s = 0.0
        self._last_exhausted_log = -EXHAUSTED_LOG_INTERVAL
        self._unlogged = 0

    @property
    def open(self) -> int:
        return len(self._streams)

    def admit(self, stream: IOStream, client: str) -> str | None:
        """Register a new connection; return why it is refused, or ``None``."""
        cfg = self.config
        if (
            len(self._streams) >= cfg.max_connections
            or self._per_client[client] >= cfg.max_connections_per_client
        ):
            self.prune()
        if len(self._streams) >= cfg.max_connections:
            self.refused_busy += 1
            return f"the server has {cfg.max_connections} connections open (max_connections)"
        if self._per_client[client] >= cfg.max_connections_per_client:
            self.refused_client += 1
            return (
                f"{client} has {cfg.max_connections_per_client} connections open "
                "(max_connections_per_client)"
            )
        self._streams[stream] = client
        self._per_client[client] += 1
        return None

    def release(self, stream: IOStream) -> None:
        """A connection's HTTP exchange ended: forget it, unless it was upgraded (WebSocket)."""
        if not stream.closed():
            self._upgraded.add(stream)  # still open, now the WebSocket's; see prune()
            return
        self._forget(stream)

    def _forget(self, stream: IOStream) -> None:
        client = self._streams.pop(stream, None)
        if client is not None:
            self._per_client[client] -= 1
            if self._per_client[client] <= 0:
                del self._per_client[client]

    def prune(self) -> None:
        """Forget upgraded connections that have closed since (at most twice a second)."""
        now = time.monotonic()
        if now - self._last_prune < _PRUNE_INTERVAL:
            return
        self._last_prune = now
        for stream in [s for s in self._upgraded if s.closed()]:
            self._upgraded.discard(stream)
            self._forget(stream)

    def exhausted(self, exc: OSError) -> float:
        """``accept()`` failed with EMFILE/ENFILE: count, log once per interval; the pause."""
        pause = self.config.accept_pause
        self.fd_exhausted += 1
        self.accept_paused_s += pause
        now = time.monotonic()
        if now - self._last_exhausted_log >= EXHAUSTED_LOG_INTERVAL:
            more = f" ({self._unlogged} more since the last message)" if self._unlogged else ""
            log.warning(
                "accept() failed: %s; pausing new connections %.1f s each time, "
                "%d connections open%s",
                exc.strerror or exc, pause, self.open, more,
            )
            self._last_exhausted_log = now
            self._unlogged = 0
        else:
            self._unlogged += 1
        return pause

    def body_limit(self, path: str) -> int:
        """The largest request body ``path`` accepts."""
        cfg = self.config
        return cfg.max_body if path.startswith("/v1/") else cfg.max_body_other

    def snapshot(self) -> dict[str, Any]:
        """The guard's counters, for ``/stats`` (``"limits"``)."""
        self.prune()
        return {
            "connections": self.open,
            "refused_busy": self.refused_busy,
            "refused_client": self.refused_client,
            "refused_too_large": self.refused_too_large,
            "fd_exhausted": self.fd_exhausted,
            "accept_paused_s": round(self.accept_paused_s, 3),
        }


class GuardedHTTPServer(tornado.httpserver.HTTPServer):
    """Tornado's ``HTTPServer`` with :class:`ConnectionGuard` at the door.

    Create it with ``GuardedHTTPServer(app, guard=guard)``; the header and body
    timeouts and size limits come from the guard's config.
    """

    def initialize(  # type: ignore[override]
        self, request_callback: Any, guard: ConnectionGuard, **kwargs: Any
    ) -> None:
        cfg = guard.config
        self.guard = guard
        kwargs.setdefault("idle_connection_timeout", cfg.header_timeout)
        kwargs.setdefault("body_timeout", cfg.body_timeout)
        kwargs.setdefault("max_header_size", cfg.max_header_size)
        # Above every endpoint's own limit: GuardedApplication answers 413
        # first; this only bounds a chunked body it lets through.
        kwargs.setdefault("max_body_size", 2 * max(cfg.max_body, cfg.max_body_other) + 1)
        super().initialize(request_callback, **kwargs)

    def add_sockets(self, sockets: Any) -> None:
        """Accept on ``sockets``, pausing (not spinning) when out of file descriptors."""
        add_guarded_sockets(self, sockets, self.guard.exhausted)

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        client = str(address[0]) if address else "?"
        refusal = self.guard.admit(stream, client)
        if refusal is None:
            super().handle_stream(stream, address)
            return
        body = f"503 Service Unavailable: {refusal}; retry later\n".encode()
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        try:
            stream.write(head + body).add_done_callback(lambda _f: stream.close())
        except StreamClosedError:  # pragma: no cover - gone already
            pass

    def on_close(self, server_conn: object) -> None:
        super().on_close(server_conn)
        stream = getattr(server_conn, "stream", None)
        if isinstance(stream, IOStream):
            self.guard.release(stream)


class GuardedApplication(tornado.web.Application):
    """A Tornado application that refuses an oversized body with ``413`` up front.

    The check happens when the request's headers arrive: a ``Content-Length``
    over the endpoint's limit is answered at once (the body is never read,
    the connection closes); a chunked body is counted as it arrives.
    """

    guard: ConnectionGuard | None = None

    def start_request(
        self, server_conn: object, request_conn: tornado.httputil.HTTPConnection
    ) -> tornado.httputil.HTTPMessageDelegate:
        delegate = super().start_request(server_conn, request_conn)
        if self.guard is None:
            return delegate
        return _BodyLimit(delegate, request_conn, self.guard)


class _BodyLimit(tornado.httputil.HTTPMessageDelegate):
    """Passes a request on to the application unless its body is over the limit."""

    def __init__(
        self,
        inner: tornado.httputil.HTTPMessageDelegate,
        conn: tornado.httputil.HTTPConnection,
        guard: ConnectionGuard,
    ) -> None:
        self.inner = inner
        self.conn = conn
        self.guard = guard
        self.limit = 0
        self.received = 0
        self.path = ""
        self.refused = False

    def headers_received(
        self,
        start_line: tornado.httputil.RequestStartLine | tornado.httputil.ResponseStartLine,
        headers: tornado.httputil.HTTPHeaders,
    ) -> Any:
        assert isinstance(start_line, tornado.httputil.RequestStartLine)
        self.path = start_line.path.split("?", 1)[0]
        self.limit = self.guard.body_limit(self.path)
        length = headers.get("Content-Length", "")
        if length.isascii() and length.isdigit() and int(length) > self.limit:
            self._refuse(f"{int(length)} bytes")
            return None
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Any:
        if self.refused:
            return None
        self.received += len(chunk)
        if self.received > self.limit:
            self.inner.on_connection_close()
            self._refuse(f"more than {self.limit} bytes")
            return None
        return self.inner.data_received(chunk)

    def finish(self) -> None:
        if not self.refused:
            self.inner.finish()

    def on_connection_close(self) -> None:
        if not self.refused:
            self.inner.on_connection_close()

    def _refuse(self, size: str) -> None:
        self.refused = True
        self.guard.refused_too_large += 1
        param = "body"
        knob = "max_body" if self.path.startswith("/v1/") else "max_body_other"
        message = (
            f"the request body ({size}) is over this endpoint's limit of "
            f"{self.limit} bytes ({knob})"
        )
        if self.path.startswith("/v1/messages"):  # Anthropic's error shape
            error: dict[str, Any] = {"type": "error", "error": {
                "type": "request_too_large", "message": message}}
            body = json.dumps(error).encode()
            ctype = "application/json"
        elif self.path.startswith("/v1/"):  # OpenAI's
            error = {"error": {"message": message, "type": "invalid_request_error",
                               "param": param, "code": "request_too_large"}}
            body = json.dumps(error).encode()
            ctype = "application/json"
        else:
            body = f"413 Content Too Large: {message}\n".encode()
            ctype = "text/plain"
        headers = tornado.httputil.HTTPHeaders({
            "Content-Type": f"{ctype}; charset=utf-8",
            "Content-Length": str(len(body)),
            "Connection": "close",
        })
        # The body is never read: once this answer is written the connection
        # closes (Tornado closes a connection finished before its request).
        set_max = getattr(self.conn, "set_max_body_size", None)
        if set_max is not None:
            set_max(1 << 62)  # so Tornado does not add its own "400" behind ours
        self.conn.write_headers(
            tornado.httputil.ResponseStartLine("HTTP/1.1", 413, "Content Too Large"),
            headers,
            body,
        )
        self.conn.finish()
