"""What breaks streaming: a forgotten flush, compression, a buffering proxy.

Every path below serves the same ``/chat`` answer; only what sits between the
model and the reader changes. :func:`buffering_xray` records the answer
through each of them and returns the server's emit times next to each
client's receive times: on an emit-vs-receive chart
(:func:`sse_lab.lab.plots.emit_vs_receive`) a healthy stream follows the
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

from sse_lab.client import STREAM_HEADERS, HTTPError, open_request, run_sync
from sse_lab.i18n import N_, tr
from sse_lab.lab.plots import emit_vs_receive
from sse_lab.model import Plan, SimulatedLLM
from sse_lab.protocol import DONE, EventParser
from sse_lab.recording import Arrival, Recording, WireRecording
from sse_lab.server.proxy import BufferingProxy, start_buffering_proxy

if TYPE_CHECKING:
    from matplotlib.figure import Figure


__all__ = [
    "record_stream",
    "BufferingXRay",
    "XRAY_PATHS",
    "buffering_xray",
    "buffering_xray_sync",
]


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
        A :class:`~sse_lab.recording.WireRecording`: ``bytes_received`` counts
        every byte received (head, chunked framing, compressed body);
        ``extra`` holds ``content_encoding``, ``decoded_bytes`` (the body
        after decompression) and ``reads`` (socket reads that carried body).

    Raises:
        HTTPError: The answer is not a ``200`` event stream.
    """
    rec = WireRecording(url=url, transport="sse", requests=1)
    all_headers = {**STREAM_HEADERS, **(headers or {})}
    if accept_gzip:
        all_headers.setdefault("Accept-Encoding", "gzip")
    t0 = time.perf_counter()
    resp = await asyncio.wait_for(open_request(url, headers=all_headers), timeout)
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
    """A path's display name, in the learner's language at the time of the recording."""
    if name == "proxy-buffered":
        return tr("proxy, {size} B buffers", size=proxy_buffer)
    return tr({
        "direct": N_("direct (flushed per event)"),
        "noflush": N_("handler forgets flush()"),
        "gzip": N_("gzip, no sync flush"),
        "gzip-sync": N_("gzip + Z_SYNC_FLUSH"),
        "proxy-unbuffered": N_("proxy, buffering off"),
    }[name])


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
        base_url: The lab server's base URL (``server.url``); the ``noflush``
            and ``gzip`` paths need a server started with
            ``ServerConfig(teaching_routes=True)``.
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
