"""What breaks streaming: a forgotten flush, compression, a buffering proxy.

Every path below serves the same ``/chat`` answer; only what sits between the
model and the reader changes. :func:`buffering_xray` records the answer
through each of them and returns the server's emit times next to each
client's receive times: on an emit-vs-receive chart
(:func:`sse_lab.plots.emit_vs_receive`) a healthy stream follows the
diagonal, a buffered one runs flat and then jumps.

* ``/chat-noflush`` -- :class:`NoFlushChatHandler`, the classic Tornado
  mistake: ``self.write(...)`` for every token but never
  ``await self.flush()``. Tornado's ``RequestHandler.write`` only appends to
  an in-memory buffer; nothing (not even the status line and headers) goes to
  the socket until ``flush()`` or ``finish()``. There is no size threshold
  and no auto-flush, so the whole answer leaves at once when the handler
  ends, and since the headers were never sent, ``finish()`` even sends it
  with a ``Content-Length`` instead of chunked encoding. Measured (Tornado
  6.6, ``prompt=why stream``, speed 10): status line, headers and all 63
  events (62 tokens and ``[DONE]``) arrive in one read at the very end, 0.69
  s after the request; time to first byte = total time.
* ``/chat-gzip`` -- :class:`GzipChatHandler`, a typical compression
  middleware: one ``zlib`` gzip compressor fed every event with plain
  ``compress()`` and no sync flush. Deflate keeps its input until an
  internal block fills (about 16 K symbols, far more than a chat answer), so
  the client gets the 10-byte gzip header at once and then nothing until the
  final ``flush()`` when the answer ends. ``?sync_flush=1`` is the fix: a
  ``Z_SYNC_FLUSH`` after each event (a few bytes dearer per event).
  Tornado's own ``compress_response=True`` (``GZipContentEncoding``) does
  exactly that fix: its ``transform_chunk`` calls ``GzipFile.flush()``, i.e.
  ``Z_SYNC_FLUSH``, on every ``RequestHandler.flush()``. Measured with
  ``/chat`` behind ``compress_response=True`` (speed 5): 62 distinct arrival
  times for 63 events, so Tornado's compression keeps the stream streaming; the
  failure here is the middleware's missing sync flush, not gzip itself. Like
  real middleware, ``/chat-gzip`` compresses only for a client that sends
  ``Accept-Encoding: gzip`` (every browser does; :func:`sse_lab.client.record`
  does not, so it sees a healthy plain stream -- "works with curl, not in
  the browser").
* :func:`start_buffering_proxy` -- a reverse proxy (own Tornado server on its
  own thread) that relays the upstream body to the client in blocks of
  ``buffer_size`` bytes, as nginx does with ``proxy_buffering on``; the rest
  goes out when the upstream response ends. ``buffer_size=0`` relays every
  chunk at once (``proxy_buffering off`` / ``X-Accel-Buffering: no``).

:func:`record_stream` is the measuring client for all of them: like
:func:`sse_lab.client.record` but it sends ``Accept-Encoding: gzip`` and
decompresses the body (``zlib.decompressobj(16 + MAX_WBITS)``) before the
:class:`~sse_lab.protocol.EventParser` sees it.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import tornado.httpserver
import tornado.netutil
import tornado.web
from tornado.iostream import StreamClosedError
from tornado.log import app_log

from .client import HTTPError, _open, run_sync
from .model import Plan, SimulatedLLM
from .protocol import DONE, EventParser
from .recording import Arrival, Recording
from .server import ChatHandler, _Lab
from .threaded import ThreadedServer
from .transports import WireRecording

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "NoFlushChatHandler",
    "GzipChatHandler",
    "BufferingProxy",
    "start_buffering_proxy",
    "record_stream",
    "BufferingXRay",
    "XRAY_PATHS",
    "buffering_xray",
    "buffering_xray_sync",
    "routes",
]


# -- server-side mistakes -------------------------------------------------------------


class NoFlushChatHandler(ChatHandler):
    """``/chat-noflush``: ``/chat`` written by a handler that never flushes.

    ``send_bytes`` calls ``self.write(payload)`` and returns: no
    ``await self.flush()``. Tornado keeps everything (headers included) in the
    handler's write buffer until ``finish()``, so the client receives the
    whole answer in one piece at the end. Heartbeats and the lifetime notice
    are written the same way (unflushed), as such a handler would. Events
    still count in ``events_sent`` when written; the client going away still
    cancels the generation.
    """

    async def send_bytes(self, payload: bytes, *, is_event: bool = True) -> None:
        if self._gone:
            raise StreamClosedError()
        self.write(payload)  # the mistake: no `await self.flush()` after it
        self._last_write = time.monotonic()
        if is_event:
            self.lab.events_sent += 1

    def _write_nowait(self, payload: bytes) -> None:
        if not self._gone:
            self.write(payload)
            self._last_write = time.monotonic()


class GzipChatHandler(ChatHandler):
    """``/chat-gzip``: ``/chat`` through a gzip layer that never sync-flushes.

    With ``Accept-Encoding: gzip`` the response gets ``Content-Encoding: gzip``
    and every event goes through one ``zlib.compressobj`` (level 6, gzip
    container) with plain ``compress()``: deflate holds the data back until
    its block buffer fills, which a chat answer never does, so only the gzip
    header leaves at once and the rest at the final ``flush()``. Each
    Tornado ``flush()`` still happens, but has (almost) nothing to send.

    ``?sync_flush=1`` adds ``Z_SYNC_FLUSH`` after every event (what Tornado's
    ``compress_response=True`` does): the stream streams again. Without
    ``gzip`` in ``Accept-Encoding`` the stream is sent uncompressed.
    """

    def initialize(self, lab: _Lab) -> None:  # type: ignore[override]
        super().initialize(lab)
        self._z: Any = None
        self._sync = False

    def parse_arguments(self) -> None:
        super().parse_arguments()
        self._sync = self.get_argument("sync_flush", "0").lower() in ("1", "true", "yes")
        self.set_header("Vary", "Accept-Encoding")
        if "gzip" in self.request.headers.get("Accept-Encoding", ""):
            self.set_header("Content-Encoding", "gzip")
            self._z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def _compress(self, payload: bytes) -> bytes:
        out = self._z.compress(payload)
        if self._sync:
            out += self._z.flush(zlib.Z_SYNC_FLUSH)
        return bytes(out)

    async def send_bytes(self, payload: bytes, *, is_event: bool = True) -> None:
        if self._z is None:
            await super().send_bytes(payload, is_event=is_event)
            return
        out = self._compress(payload)
        if out:
            await super().send_bytes(out, is_event=is_event)
            return
        # Swallowed by the compressor: the application wrote, nothing left.
        if self._gone:
            raise StreamClosedError()
        self._last_write = time.monotonic()
        if is_event:
            self.lab.events_sent += 1

    def _write_nowait(self, payload: bytes) -> None:
        if self._z is None:
            super()._write_nowait(payload)
            return
        out = self._compress(payload)
        if out:
            super()._write_nowait(out)
        else:
            self._last_write = time.monotonic()

    def finish(self, chunk: Any = None) -> Any:
        z, self._z = self._z, None
        if z is not None and not self._gone:
            self.write(z.flush())  # the held-back answer, all at once
        return super().finish(chunk)


def routes(lab: _Lab) -> list[tuple[Any, ...]]:
    """Tornado routes this module adds to the lab server."""
    kw = {"lab": lab}
    return [
        (r"/chat-noflush", NoFlushChatHandler, kw),
        (r"/chat-gzip", GzipChatHandler, kw),
    ]


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
        self._upstream: Any = None
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
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            if not self._headers_written and not self._gone:
                self.send_error(502, reason=f"Bad Gateway: {type(exc).__name__}")
            else:
                self.request.connection.close()
        except Exception:  # pragma: no cover - a bug, not a network event
            app_log.exception("proxy relay failed")
            self.request.connection.close()
        finally:
            proxy._tasks.discard(self._task)
            if self._upstream is not None:
                self._upstream.close()

    async def _relay(self) -> None:
        proxy = self.proxy
        headers = {
            name: value
            for name in _FORWARDED_REQUEST_HEADERS
            if (value := self.request.headers.get(name)) is not None
        }
        if "Accept" not in headers:
            headers["Accept"] = "*/*"
        upstream = await _open(proxy.upstream_url + self.request.uri, headers=headers)
        self._upstream = upstream
        await upstream.read_head()
        self.set_status(upstream.status, upstream.reason or None)
        self.clear_header("Content-Type")
        for name, value in upstream.headers.items():
            if name not in _HOP_BY_HOP:
                self.set_header(name, value)
        size = proxy.buffer_size
        if proxy.honor_x_accel_buffering and (
            upstream.headers.get("X-Accel-Buffering", "").lower() == "no"
        ):
            size = 0
        # nginx sends the response head at once, then buffers the body.
        await self.flush()
        held = bytearray()
        while True:
            data = await upstream.read_some()
            if data is None:
                break
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


async def record_stream(
    url: str,
    *,
    accept_gzip: bool = True,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> WireRecording:
    """Read an SSE stream to ``[DONE]``, decompressing gzip if the server used it.

    Like :func:`sse_lab.client.record` (one connection, arrival times since the
    request started, each read's events stamped with its time) but it offers
    ``Accept-Encoding: gzip`` and inflates a gzip body piece by piece, so a
    compressed stream is measured as a browser would see it.

    Returns:
        A :class:`~sse_lab.transports.WireRecording`: ``bytes_received`` counts
        every byte received (head, chunked framing, compressed body);
        ``extra`` holds ``content_encoding``, ``decoded_bytes`` (the body
        after decompression) and ``reads`` (socket reads that carried body).

    Raises:
        HTTPError: The answer is not a ``200`` event stream.
    """
    rec = WireRecording(url=url, transport="sse", requests=1)
    all_headers = dict(headers or {})
    if accept_gzip:
        all_headers.setdefault("Accept-Encoding", "gzip")
    t0 = time.perf_counter()
    resp = await asyncio.wait_for(_open(url, headers=all_headers), timeout)
    decoded = reads = 0
    try:
        await asyncio.wait_for(resp.read_head(), timeout)
        rec.connect_time = time.perf_counter() - t0
        rec.status, rec.headers, rec.header_bytes = resp.status, resp.headers, resp.header_bytes
        ctype = resp.headers.get("Content-Type", "")
        if resp.status != 200 or not ctype.startswith("text/event-stream"):
            raise HTTPError(resp.status, resp.reason or ctype)
        encoding = resp.headers.get("Content-Encoding", "").lower()
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
        parser = EventParser()
        done = False
        while not done:
            data = await asyncio.wait_for(resp.read_some(), timeout)
            if data is None:
                if inflater is not None:
                    plain = inflater.flush()
                    decoded += len(plain)
                    t = time.perf_counter() - t0
                    for event in parser.feed(plain):
                        rec.arrivals.append(Arrival(t, event))
                break
            t = time.perf_counter() - t0
            reads += 1
            if rec.first_byte_time is None:
                rec.first_byte_time = t
            plain = inflater.decompress(data) if inflater is not None else data
            decoded += len(plain)
            for event in parser.feed(plain):
                rec.arrivals.append(Arrival(t, event))
                if event.data == DONE:
                    done = True
        rec.extra.update({"content_encoding": encoding or None, "decoded_bytes": decoded})
    finally:
        rec.end_time = time.perf_counter() - t0
        rec.bytes_received = resp.header_bytes + resp.wire_bytes
        rec.extra["reads"] = reads
        resp.close()
    return rec


#: The paths :func:`buffering_xray` knows, in display order.
XRAY_PATHS: tuple[str, ...] = (
    "direct",
    "noflush",
    "gzip",
    "gzip-sync",
    "proxy-buffered",
    "proxy-unbuffered",
)


@dataclass
class BufferingXRay:
    """One answer recorded through several paths, with the server's emit times.

    Attributes:
        emit_times: When the model emitted each token (seconds since the
            request), from the model's plan.
        recordings: ``{path name: Recording}`` (see :data:`XRAY_PATHS`).
        plan: The model's plan (tokens and delays) behind ``emit_times``.
        proxy_buffer: The buffered proxy's block size in bytes.
    """

    emit_times: list[float]
    recordings: dict[str, Recording]
    plan: Plan
    proxy_buffer: int = 4096
    descriptions: dict[str, str] = field(default_factory=dict)

    def lags(self, name: str) -> list[float]:
        """Receive time minus emit time of each token on path ``name``."""
        recv = self.recordings[name].token_times
        return [r - e for e, r in zip(self.emit_times, recv, strict=False)]

    def plot(self, names: Sequence[str] | None = None, ax: Any = None) -> Figure:
        """The emit-vs-receive chart of the chosen paths (all by default)."""
        from .plots import emit_vs_receive

        fig = None
        for name in names or list(self.recordings):
            fig = emit_vs_receive(
                self.emit_times,
                self.recordings[name],
                label=self.descriptions.get(name, name),
                ax=ax,
            )
            ax = fig.axes[0]
        assert fig is not None, "no path to plot"
        return fig


def _describe(name: str, proxy_buffer: int) -> str:
    return {
        "direct": "direct (flushed per event)",
        "noflush": "handler forgets flush()",
        "gzip": "gzip, no sync flush",
        "gzip-sync": "gzip + Z_SYNC_FLUSH",
        "proxy-buffered": f"proxy, {proxy_buffer} B buffers",
        "proxy-unbuffered": "proxy, buffering off",
    }[name]


async def buffering_xray(
    base_url: str,
    *,
    prompt: str = "Why stream tokens?",
    seed: int = 0,
    speed: float = 1.0,
    proxy_buffer: int = 4096,
    paths: Sequence[str] | None = None,
    concurrent: bool = True,
) -> BufferingXRay:
    """Record one ``/chat`` answer through each buffering path.

    Args:
        base_url: The lab server's base URL (``server.url``).
        prompt, seed, speed: The answer (same tokens and timing on every path).
        proxy_buffer: Block size of the buffering proxy for ``proxy-buffered``.
        paths: Which of :data:`XRAY_PATHS` to record (default: all).
        concurrent: Record all paths at once (each timed from its own request
            start); ``False`` records them one after another.

    Returns:
        A :class:`BufferingXRay`; ``emit_times`` come from
        ``SimulatedLLM(speed=speed).plan(prompt, seed)``.
    """
    names = list(paths or XRAY_PATHS)
    unknown = [n for n in names if n not in XRAY_PATHS]
    if unknown:
        raise ValueError(f"unknown paths {unknown}; choose from {XRAY_PATHS}")
    base = base_url.rstrip("/")
    plan = SimulatedLLM(speed=speed).plan(prompt, seed)
    query = urlencode({"prompt": prompt, "seed": seed, "speed": speed})
    proxies: list[BufferingProxy] = []
    try:
        urls: dict[str, str] = {}
        for name in names:
            if name == "direct":
                urls[name] = f"{base}/chat?{query}"
            elif name == "noflush":
                urls[name] = f"{base}/chat-noflush?{query}"
            elif name == "gzip":
                urls[name] = f"{base}/chat-gzip?{query}"
            elif name == "gzip-sync":
                urls[name] = f"{base}/chat-gzip?{query}&sync_flush=1"
            else:
                size = proxy_buffer if name == "proxy-buffered" else 0
                proxy = await asyncio.to_thread(start_buffering_proxy, base, size)
                proxies.append(proxy)
                urls[name] = f"{proxy.url}/chat?{query}"
        if concurrent:
            recs = await asyncio.gather(*(record_stream(u) for u in urls.values()))
        else:
            recs = [await record_stream(u) for u in urls.values()]
    finally:
        for proxy in proxies:
            await asyncio.to_thread(proxy.stop)
    recordings: dict[str, Recording] = dict(zip(urls, recs, strict=True))
    for name, rec in recordings.items():
        rec.transport = name
    return BufferingXRay(
        emit_times=plan.emit_times(),
        recordings=recordings,
        plan=plan,
        proxy_buffer=proxy_buffer,
        descriptions={n: _describe(n, proxy_buffer) for n in names},
    )


def buffering_xray_sync(base_url: str, **options: Any) -> BufferingXRay:
    """:func:`buffering_xray` for synchronous code (a plain notebook cell)."""
    return run_sync(lambda: buffering_xray(base_url, **options))
