"""A reverse proxy that buffers like nginx with ``proxy_buffering on``.

Relays the upstream body in blocks of ``buffer_size`` bytes; ``0`` relays every
chunk at once (``proxy_buffering off``). The upstream is read with Tornado's
``AsyncHTTPClient`` (``header_callback`` for the head, ``streaming_callback``
for each body piece as it arrives: :mod:`sse_lab.server.fetch`); this module
keeps only the relaying.
"""

from __future__ import annotations

import asyncio

import tornado.httpserver
import tornado.netutil
import tornado.web
from tornado.httpclient import HTTPRequest
from tornado.iostream import StreamClosedError
from tornado.log import app_log

from sse_lab.server.fetch import FetchFailed, StreamedFetch
from sse_lab.server.threaded import ThreadedServer
from sse_lab.server.tornado_internals import headers_written

__all__ = ["BufferingProxy", "start_buffering_proxy"]

# -- the buffering proxy ----------------------------------------------------------------

# Connection-level headers a proxy must not pass on (RFC 9110 section 7.6.1);
# Tornado sets its own framing for the relayed body.
_HOP_BY_HOP = frozenset(
    {
        "Connection",
        "Keep-Alive",
        "Proxy-Connection",
        "Te",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Content-Length",
        "Date",
        "Server",
    }
)
_FORWARDED_REQUEST_HEADERS = (
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Cache-Control",
    "Last-Event-ID",
    "Origin",
    "User-Agent",
)


class _ProxyHandler(tornado.web.RequestHandler):
    """Relay one GET to the upstream, holding the body back in blocks."""

    def initialize(self, proxy: BufferingProxy) -> None:
        self.proxy = proxy
        self._task: asyncio.Task[None] | None = None
        self._gone = False

    def compute_etag(self) -> None:
        return None

    async def get(self) -> None:
        proxy = self.proxy
        proxy.requests += 1
        self._task = asyncio.ensure_future(self._relay())
        proxy._tasks.add(self._task)
        try:
            await self._task
        except (asyncio.CancelledError, StreamClosedError):
            pass
        except (FetchFailed, asyncio.TimeoutError) as exc:
            # Connection refused, reset, timed out: a gateway error if the
            # client has not seen a head yet, else cut the relayed body short.
            if not headers_written(self) and not self._gone:
                why = type(exc.__cause__ or exc).__name__
                self.send_error(502, reason=f"Bad Gateway: {why}")
            else:
                self.request.connection.close()
        except Exception:  # pragma: no cover - a bug, not a network event
            app_log.exception("proxy relay failed")
            self.request.connection.close()
        finally:
            proxy._tasks.discard(self._task)

    async def _relay(self) -> None:
        proxy = self.proxy
        headers = {
            name: value
            for name in _FORWARDED_REQUEST_HEADERS
            if (value := self.request.headers.get(name)) is not None
        }
        if "Accept" not in headers:
            headers["Accept"] = "*/*"
        fetch = StreamedFetch(
            HTTPRequest(
                proxy.upstream_url + self.request.uri,
                headers=headers,
                decompress_response=False,  # relay the bytes as they are
                follow_redirects=False,
                connect_timeout=proxy.connect_timeout,
                request_timeout=proxy.request_timeout,
            ),
            idle_timeout=proxy.request_timeout,
        )
        try:
            await self._forward(fetch)
        finally:
            fetch.close()  # a client that left: the upstream sees it leave too

    async def _forward(self, fetch: StreamedFetch) -> None:
        """The lesson: pass the head on at once, hold the body back in blocks."""
        proxy = self.proxy
        head = await fetch.head()
        self.set_status(head.code, head.reason or None)
        self.clear_header("Content-Type")
        for name, value in head.headers.get_all():
            if name not in _HOP_BY_HOP:
                self.add_header(name, value)
        size = proxy.buffer_size
        if proxy.honor_x_accel_buffering and (
            head.headers.get("X-Accel-Buffering", "").lower() == "no"
        ):
            size = 0
        # nginx sends the response head at once, then buffers the body.
        await self.flush()
        held = bytearray()
        async for data in fetch.body():
            if size <= 0:
                self.write(data)
                proxy.blocks_sent += 1
                await self.flush()
                continue
            held += data
            while len(held) >= size:
                self.write(bytes(held[:size]))
                del held[:size]
                proxy.blocks_sent += 1
                await self.flush()
        if held:
            self.write(bytes(held))
            proxy.blocks_sent += 1
        if not self._gone:
            self.finish()

    def on_connection_close(self) -> None:
        self._gone = True
        if self._task is not None:
            self._task.cancel()


class BufferingProxy(ThreadedServer):
    """A running buffering reverse proxy; get one from :func:`start_buffering_proxy`.

    Forwards every ``GET`` to ``upstream_url`` + the request's path and query,
    passes the status and end-to-end headers back at once, and relays the
    body in blocks of ``buffer_size`` bytes (the remainder when the upstream
    ends); ``buffer_size=0`` relays each piece as it comes. The upstream is
    read as a stream, never whole; a client that leaves closes the upstream
    connection too (so the lab server stops generating).

    Runs its own Tornado server on its own event loop in a daemon thread.
    Works as a context manager (stops on exit).

    Attributes:
        upstream_url: Base URL requests are forwarded to.
        buffer_size: Block size in bytes, 0 for no buffering.
        honor_x_accel_buffering: Relay unbuffered when the upstream response
            says ``X-Accel-Buffering: no``, as nginx does by default. Off by
            default: the lab server sends that header on every stream, and the
            point here is to show a proxy that buffers anyway (nginx with
            ``proxy_ignore_headers X-Accel-Buffering``, or another proxy).
        requests, blocks_sent: Counters (requests relayed, writes to clients).
        connect_timeout, request_timeout: Seconds to reach the upstream, and
            for a whole relayed response (a stream longer than that is cut).
    """

    thread_name = "sse_lab-proxy"

    def __init__(
        self,
        upstream_url: str,
        buffer_size: int = 4096,
        host: str = "127.0.0.1",
        port: int = 0,
        honor_x_accel_buffering: bool = False,
    ) -> None:
        if buffer_size < 0:
            raise ValueError("buffer_size must not be negative")
        super().__init__(host, port)
        self.upstream_url = upstream_url.rstrip("/")
        self.buffer_size = int(buffer_size)
        self.honor_x_accel_buffering = honor_x_accel_buffering
        self.requests = 0
        self.blocks_sent = 0
        self.connect_timeout = 10.0
        self.request_timeout = 3600.0
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        buffering = f"{self.buffer_size} B blocks" if self.buffer_size else "unbuffered"
        return f"<BufferingProxy {self.url} -> {self.upstream_url} {buffering} {state}>"

    def make_application(self) -> tornado.web.Application:
        return tornado.web.Application([(r"/.*", _ProxyHandler, {"proxy": self})])

    async def on_shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()


def start_buffering_proxy(
    upstream_url: str,
    buffer_size: int = 4096,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    honor_x_accel_buffering: bool = False,
) -> BufferingProxy:
    """Start a buffering reverse proxy in front of ``upstream_url``.

    Args:
        upstream_url: Base URL of the upstream (``server.url``).
        buffer_size: Relay the body in blocks of this many bytes, like nginx's
            ``proxy_buffering``; ``0`` relays every chunk at once (the fix).
        host, port: Where the proxy listens; port ``0`` picks a free one.
        honor_x_accel_buffering: Turn buffering off for responses that carry
            ``X-Accel-Buffering: no`` (nginx's default behaviour).

    Example::

        with start_buffering_proxy(server.url, 4096) as proxy:
            rec = record_sync(proxy.url + "/chat?prompt=hi")

    Raises:
        OSError: The port is taken (raised here, in the caller).
    """
    proxy = BufferingProxy(
        upstream_url,
        buffer_size,
        host=host,
        port=port,
        honor_x_accel_buffering=honor_x_accel_buffering,
    )
    proxy.start()
    return proxy


# -- measuring ------------------------------------------------------------------------
