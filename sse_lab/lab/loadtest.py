"""Load and failure tools: many clients at once, frozen readers, reconnect storms.

* :func:`load_test` -- N concurrent SSE clients against ``/chat`` (each with
  its own seed), per-client time to first token, total time, tokens and
  errors, and the server's open connections and memory sampled meanwhile.
  Chart it with :func:`sse_lab.lab.plots.load_chart`.
* :class:`FirehoseHandler` -- a high-volume stream (big events, as fast as
  the reader takes them), to show what a reader that stops reading costs.
* :class:`FrozenReader` -- a raw socket with a tiny receive buffer that sends
  its request and then never reads: the stuck browser tab, on demand.
* :func:`read_raw` -- the raw bytes of a stream for a while (comments and
  ``retry:`` lines included, which an SSE parser hides).
* :func:`simulate_reconnects` -- when many clients that lost the same server
  try to come back, under a reconnection policy (the source's
  ``1000 * reconnectCount`` or capped exponential backoff with jitter); chart
  with :func:`sse_lab.lab.plots.reconnect_storm`.

Every client and server here lives on 127.0.0.1 in this process: the load is
bounded in count and in time, and stops by itself.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sse_lab.client import STREAM_HEADERS, HTTPError, SSEClient, open_request
from sse_lab.http1 import build_request, split_url
from sse_lab.i18n import tr
from sse_lab.lab.monitor import Monitor
from sse_lab.metrics import percentile
from sse_lab.recording import Recording
from sse_lab.server import SSEHandler
from sse_lab.server.args import arg_int

__all__ = [
    "DEFAULT_SPEED",
    "ClientResult",
    "FirehoseHandler",
    "FrozenReader",
    "LoadResult",
    "load_test",
    "read_raw",
    "simulate_reconnects",
    "source_delay",
    "with_query",
]

#: ``speed`` used when :func:`load_test` builds the ``/chat`` URL itself.
DEFAULT_SPEED = 20.0


def with_query(url: str, **params: Any) -> str:
    """``url`` with query parameters set (replacing existing ones of the same name)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: str(v) for k, v in params.items() if v is not None})
    return urlunsplit(parts._replace(query=urlencode(query)))


def _base(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _chat_url(target: Any) -> str:
    """A ``/chat`` URL from a LabServer, a base URL or a full stream URL."""
    url = str(getattr(target, "url", target))
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return f"{url.rstrip('/')}/chat?" + urlencode(
            {"prompt": "Why do AI chats stream?", "speed": DEFAULT_SPEED}
        )
    return url


# -- load test -------------------------------------------------------------------


@dataclass
class ClientResult:
    """What one client of a load test saw.

    Times are seconds since the load test started; :attr:`ttft` and
    :attr:`total` are relative to the client's own start.
    """

    index: int
    url: str
    start: float
    ttft: float | None = None
    total: float | None = None
    tokens: int = 0
    done: bool = False
    error: str | None = None
    recording: Recording | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """Got the whole answer (``[DONE]``) without an error."""
        return self.done and self.error is None

    @property
    def first_token_at(self) -> float | None:
        return None if self.ttft is None else self.start + self.ttft

    @property
    def end(self) -> float | None:
        return None if self.total is None else self.start + self.total


@dataclass
class LoadResult:
    """The outcome of :func:`load_test`.

    Attributes:
        url: The stream URL (before the per-client seed was set).
        clients: How many clients ran.
        ramp: Seconds over which their starts were spread.
        results: One :class:`ClientResult` per client, by index.
        wall: Seconds from the first start to the last end.
        samples: The server's stats during the run, each with ``t`` (seconds
            since the test started) and ``rss_mb``.
        rss_before, rss_after: The server process's RSS (bytes) just before
            the first client and just after the last one.
    """

    url: str
    clients: int
    ramp: float
    results: list[ClientResult]
    wall: float
    samples: list[dict[str, Any]] = field(default_factory=list)
    rss_before: int = 0
    rss_after: int = 0

    @property
    def ok(self) -> int:
        """Clients that got the whole answer."""
        return sum(r.ok for r in self.results)

    @property
    def errors(self) -> list[str]:
        return [tr("client {index}: {error}", index=r.index, error=r.error)
                for r in self.results if r.error]

    @property
    def ttfts(self) -> list[float]:
        return [r.ttft for r in self.results if r.ttft is not None]

    @property
    def totals(self) -> list[float]:
        return [r.total for r in self.results if r.total is not None and r.ok]

    @property
    def tokens(self) -> int:
        return sum(r.tokens for r in self.results)

    @property
    def peak_open(self) -> int:
        """Most streams the server had open at once (sampled)."""
        return max((s.get("open_total", 0) for s in self.samples), default=0)

    @property
    def peak_rss(self) -> int:
        return max([s.get("rss_bytes", 0) for s in self.samples] + [self.rss_after], default=0)

    def ttft_percentile(self, p: float) -> float | None:
        values = self.ttfts
        return percentile(values, p) if values else None

    def total_percentile(self, p: float) -> float | None:
        values = self.totals
        return percentile(values, p) if values else None

    def summary(self) -> str:
        """A short text report (what the notebook prints)."""

        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v * 1000:.0f} ms"

        rows = [
            tr("{clients} clients (ramp {ramp:g} s): {ok} complete, {errors} errors, "
               "{tokens} tokens in {wall:.2f} s ({rate:.0f} tokens/s overall)",
               clients=self.clients, ramp=self.ramp, ok=self.ok, errors=len(self.errors),
               tokens=self.tokens, wall=self.wall,
               rate=self.tokens / self.wall if self.wall else 0),
            tr("TTFT   p50 {p50}  p90 {p90}  p99 {p99}  max {max}",
               p50=ms(self.ttft_percentile(50)), p90=ms(self.ttft_percentile(90)),
               p99=ms(self.ttft_percentile(99)), max=ms(max(self.ttfts, default=None))),
            tr("total  p50 {p50}  p90 {p90}  p99 {p99}",
               p50=ms(self.total_percentile(50)), p90=ms(self.total_percentile(90)),
               p99=ms(self.total_percentile(99))),
            tr("server: peak {open} open streams, RSS {before:.1f} MB before, "
               "peak {peak:.1f} MB, {after:.1f} MB after",
               open=self.peak_open, before=self.rss_before / 2**20,
               peak=self.peak_rss / 2**20, after=self.rss_after / 2**20),
        ]
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.summary()


async def _get_json(url: str, timeout: float = 5.0) -> dict[str, Any]:
    """GET a small JSON document (the server's ``/stats``)."""
    resp = await asyncio.wait_for(
        open_request(url, headers={"Accept": "application/json"}), timeout
    )
    try:
        await asyncio.wait_for(resp.read_head(), timeout)
        body = await asyncio.wait_for(resp.read_all(), timeout)
    finally:
        resp.close()
    if resp.status != 200:
        raise HTTPError(resp.status, "stats", body)
    return json.loads(body.decode("utf-8"))


async def _one_client(
    index: int, url: str, delay: float, t0: float, timeout: float, keep: bool
) -> ClientResult:
    if delay > 0:
        await asyncio.sleep(delay)
    res = ClientResult(index=index, url=url, start=time.perf_counter() - t0)
    client = SSEClient(url, timeout=timeout)

    async def consume() -> None:
        async for _ in client:
            pass

    try:
        await asyncio.wait_for(consume(), timeout)
    except (OSError, HTTPError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
        res.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        await client.close()
    rec = client.recording
    times = rec.token_times
    res.ttft = times[0] if times else None
    res.total = rec.end_time
    res.tokens = len(times)
    res.done = rec.done
    if res.error is None and rec.error:
        res.error = rec.error
    if res.error is None and not rec.done:
        res.error = "the stream ended before [DONE]"
    if keep:
        res.recording = rec
    return res


async def load_test(
    url: Any,
    clients: int = 200,
    *,
    ramp: float = 0.0,
    timeout: float = 30.0,
    seed: int = 0,
    sample_interval: float = 0.05,
    keep_recordings: bool = False,
) -> LoadResult:
    """Run ``clients`` concurrent SSE clients and measure each one.

    Args:
        url: A ``/chat?...`` URL (every client gets its own ``seed=``), or a
            :class:`~sse_lab.server.LabServer` / base URL, in which case
            ``/chat`` is asked a fixed question at ``speed=DEFAULT_SPEED``.
            Use a high ``speed`` so hundreds of answers fit in a few seconds.
        clients: How many clients.
        ramp: Spread the starts evenly over this many seconds (0: all at once).
        timeout: Seconds any one client may take before it counts as failed.
        seed: Client ``i`` asks with ``seed + i`` (different answers and timing).
        sample_interval: Seconds between samples of the server's ``/stats``.
        keep_recordings: Keep every client's :class:`Recording` in its result.

    Returns:
        A :class:`LoadResult`. Failed clients are counted, never raised.
    """
    if clients < 1:
        raise ValueError("clients must be at least 1")
    stream_url = _chat_url(url)
    stats_url = _base(stream_url) + "/stats"
    before = await _get_json(stats_url)
    # Sample /stats from a thread: the clients keep this event loop busy,
    # and a thread still gets its turn every few milliseconds.
    monitor = Monitor(_base(stream_url), interval=sample_interval)
    monitor.start()
    t0 = time.perf_counter()
    offset = t0 - monitor.started_at
    step = ramp / clients if clients > 1 else 0.0
    try:
        results = await asyncio.gather(
            *(
                _one_client(
                    i, with_query(stream_url, seed=seed + i), i * step, t0, timeout, keep_recordings
                )
                for i in range(clients)
            )
        )
    finally:
        wall = time.perf_counter() - t0
        await asyncio.to_thread(monitor.stop)
    after = await _get_json(stats_url)
    samples = []
    for s in monitor.samples:
        s = dict(s)
        s["t"] = round(s["t"] - offset, 4)
        samples.append(s)
    after["t"] = round(time.perf_counter() - t0, 4)
    after["rss_mb"] = after.get("rss_bytes", 0) / 2**20
    samples.append(after)
    return LoadResult(
        url=stream_url,
        clients=clients,
        ramp=ramp,
        results=list(results),
        wall=wall,
        samples=samples,
        rss_before=int(before.get("rss_bytes", 0)),
        rss_after=int(after.get("rss_bytes", 0)),
    )


# -- failure theater helpers -------------------------------------------------------


class FirehoseHandler(SSEHandler):
    """A stream as fast as the reader takes it: ``?size=65536&count=0``.

    Sends events of ``size`` bytes (``count`` of them, 0 = until the client
    leaves), each awaited with ``flush()`` like every lab stream: a reader
    that keeps up gets megabytes per second; one that stops reading stalls
    the flush until ``ServerConfig.send_timeout`` drops it. Add it to a
    running server with ``server.add_handler(r"/firehose", FirehoseHandler)``.
    """

    def parse_arguments(self) -> None:
        self.size = min(max(1, arg_int(self, "size", 65536)), 16 * 2**20)
        self.count = max(0, arg_int(self, "count", 0))

    async def stream(self) -> None:
        payload = "x" * self.size
        n = 0
        while self.count == 0 or n < self.count:
            await self.send(payload, id=str(n))
            n += 1


class FrozenReader:
    """A client that sends its request, then never reads a byte: a frozen tab.

    A plain blocking socket with a small receive buffer (``rcvbuf`` bytes,
    the kernel may round it up), so the server's writes back up quickly.
    Close it with :meth:`close` or use it as a context manager.

    Attributes:
        url: The stream it asked for.
    """

    def __init__(self, url: str, *, rcvbuf: int = 4096, headers: dict[str, str] | None = None):
        origin = split_url(url)
        self.url = url
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect((origin.host, origin.port))
        all_headers = {"Accept": "text/event-stream", **(headers or {})}
        self.sock.sendall(build_request("GET", origin.target, origin.netloc, all_headers))

    @property
    def rcvbuf(self) -> int:
        """The receive buffer the kernel actually gave the socket (bytes)."""
        return self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:  # pragma: no cover
            pass

    def __enter__(self) -> FrozenReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def read_raw(url: str, duration: float, *, headers: dict[str, str] | None = None) -> bytes:
    """The body bytes of ``url`` received within ``duration`` seconds (de-chunked).

    Unlike an SSE parser this keeps everything: ``: comment`` lines (such as
    heartbeats), ``retry:`` lines, blank lines. Stops early when the server
    ends the response.
    """
    out = bytearray()
    resp = await open_request(url, headers={**STREAM_HEADERS, **(headers or {})})
    try:
        deadline = time.perf_counter() + duration
        await asyncio.wait_for(resp.read_head(), duration)
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            try:
                data = await asyncio.wait_for(resp.read_some(), left)
            except asyncio.TimeoutError:
                break
            if data is None:
                break
            out += data
    finally:
        resp.close()
    return bytes(out)


# -- reconnect storms --------------------------------------------------------------


def source_delay(attempt: int, rng: random.Random | None = None) -> float:
    """The source article's reconnect delay: ``1000 * reconnectCount`` ms.

    ``reconnectCount`` is read when ``setTimeout`` is called and incremented
    inside the callback, so the delays are 0 s, 1 s, 2 s, 3 s, 4 s: the same
    for every client, no jitter.
    """
    return 1.0 * attempt


def simulate_reconnects(
    clients: int,
    delay: Callable[..., float],
    *,
    down_for: float = 3.0,
    max_attempts: int = 5,
    seed: int = 0,
) -> list[list[float]]:
    """When each of ``clients`` clients tries to reconnect after a server restart.

    All clients lose the server at ``t = 0``; it is back at ``t = down_for``.
    Each client waits ``delay(attempt, rng)`` (attempt counts from 0, like the
    source's ``reconnectCount``), tries, and while the server is still down
    waits again, up to ``max_attempts`` tries.

    Args:
        clients: How many clients.
        delay: ``delay(attempt, rng) -> seconds``; ``rng`` is a seeded
            ``random.Random`` per client (a function of ``attempt`` alone
            works too).
        down_for: Seconds the server is away.
        max_attempts: Tries per client (the source's ``maxReconnects``).
        seed: Seeds the clients' random generators.

    Returns:
        One list of attempt times (seconds since the outage) per client; the
        last one is the successful attempt if it is at or after ``down_for``.
    """
    try:
        inspect.signature(delay).bind(0, None)
        two_args = True
    except (TypeError, ValueError):
        two_args = False
    out: list[list[float]] = []
    for c in range(clients):
        rng = random.Random(f"{seed}|{c}")
        t, times = 0.0, []
        for attempt in range(max_attempts):
            d = float(delay(attempt, rng) if two_args else delay(attempt))
            t += max(0.0, d)
            times.append(t)
            if t >= down_for:
                break
        out.append(times)
    return out
