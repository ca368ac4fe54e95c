"""An asyncio load generator for SSE servers: raw sockets, HTTP/1.1, minimal work per event.

It speaks just enough HTTP/1.1 itself (request line, headers, chunked
decoding) that its own cost per event stays far below any server's, and
never runs a full SSE parser per client: it only needs to count events or to
find ``data:`` lines.

Scenarios (each prints one JSON object on stdout; ``benchmarks.run`` runs
this module pinned to core 1 with ``taskset -c 1``):

* ``stream``: events/s on one fast ``GET /stream?n=N`` (``asyncio.open_connection``,
  chunked decoding, ``data:`` occurrences counted in the decoded body), best
  and median of several runs; every run must deliver exactly ``N + 1`` events
  ending with ``[DONE]``, or it is reported as failed.
* ``paced``: per-event latency on ``GET /paced`` (client receive
  ``time.monotonic_ns()`` minus the server's send time in the data).
* ``fanout``: ``C`` ``GET /subscribe`` clients, the server's publisher at one
  event per ``period``; over a fixed window: delivery latency per event per
  client, inter-arrival times at the clients, delivered vs expected, server
  CPU % and RSS per connection (from ``/stats``), and the load generator's own
  CPU % and event-loop lag, so it can say when *it* could not keep up.
  Subscribers are :class:`asyncio.Protocol` objects, not coroutines: with
  thousands of clients a coroutine wake-up per event per client would cost the
  client as much as the server (see ``FIELD-NOTES.md``), so ``data_received``
  scans the raw bytes for ``data:`` lines directly (each server writes whole
  events per HTTP chunk, so chunk framing never splits a ``data:`` line; any
  line that does not parse is counted in ``bad_lines``).
* ``cycles``: ``N`` connect / subscribe / disconnect cycles; then the server's
  subscriber count (leaks) and RSS growth.

Times are ``CLOCK_MONOTONIC`` in ns (``time.monotonic_ns()``), the same clock
as the servers' send times on this machine. RLIMIT_NOFILE is raised; uvloop
is used when installed.

Run one by hand::

    python -m benchmarks.loadgen stream --port 8765 --n 100000 --runs 3
    python -m benchmarks.loadgen fanout --port 8765 --clients 1000 --window 10
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from .common import raise_nofile

monotonic_ns = time.monotonic_ns


# -- small helpers --------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by nearest rank of an unsorted list."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def _ms(ns: float | None) -> float | None:
    return None if ns is None else round(ns / 1e6, 3)


def request_bytes(
    host: str, port: int, path: str, method: str = "GET", close: bool = False
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Accept: text/event-stream",
        "Cache-Control: no-cache",
    ]
    if method != "GET":
        lines.append("Content-Length: 0")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def http_json(host: str, port: int, path: str, method: str = "GET") -> Any:
    """One short request with ``Connection: close``; the JSON body."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request_bytes(host, port, path, method, close=True))
        raw = await asyncio.wait_for(reader.read(-1), 10)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"chunked" in head.lower():
        dechunk = Dechunker()
        body = b"".join(dechunk.feed(body))
    if status != 200:
        raise RuntimeError(f"{method} {path}: HTTP {status}: {body[:200]!r}")
    return json.loads(body)


async def read_head(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """Read a response head; return (status, chunked?, the body bytes already read)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        more = await reader.read(65536)
        if not more:
            raise ConnectionError("connection closed before the response head")
        buf += more
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, b"transfer-encoding: chunked" in head.lower(), rest


class Dechunker:
    """Incremental ``Transfer-Encoding: chunked`` decoder: bytes in, body slices out."""

    __slots__ = ("_buf", "_remaining", "_skip", "done")

    def __init__(self) -> None:
        self._buf = b""
        self._remaining = 0  # body bytes of the current chunk still to come
        self._skip = 0  # CRLF bytes after a chunk's body still to skip
        self.done = False  # the last (zero-size) chunk was seen

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf + data if self._buf else data
        self._buf = b""
        out: list[bytes] = []
        pos, n = 0, len(buf)
        rem, skip = self._remaining, self._skip
        while pos < n and not self.done:
            if rem:
                end = pos + rem
                if end <= n:
                    out.append(buf[pos:end])
                    pos, rem, skip = end, 0, 2
                else:
                    out.append(buf[pos:])
                    rem -= n - pos
                    pos = n
            elif skip:
                k = min(skip, n - pos)
                pos += k
                skip -= k
            else:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    self._buf = buf[pos:]
                    break
                size = int(buf[pos:eol].split(b";", 1)[0], 16)
                pos = eol + 2
                if size == 0:
                    self.done = True
                else:
                    rem = size
        self._remaining, self._skip = rem, skip
        return out


def _run(coro: Coroutine[Any, Any, dict[str, Any]], use_uvloop: bool = True) -> dict[str, Any]:
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    name = "asyncio"
    if use_uvloop:
        try:
            import uvloop

            loop_factory = uvloop.new_event_loop
            name = "uvloop"
        except ImportError:
            pass
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        result = runner.run(coro)
    result["loadgen_loop"] = name
    return result


# -- one fast stream ------------------------------------------------------------------------
async def one_stream(host: str, port: int, n: int) -> dict[str, Any]:
    """Read ``/stream?n=N`` once; events counted as ``data:`` occurrences in the body."""
    reader, writer = await asyncio.open_connection(host, port)
    cpu0 = time.process_time()
    t0 = monotonic_ns()
    try:
        writer.write(request_bytes(host, port, f"/stream?n={n}"))
        status, chunked, rest = await read_head(reader)
        if status != 200:
            raise RuntimeError(f"/stream: HTTP {status}")
        count = 0
        carry = b""  # last 4 body bytes: a "data:" split across two slices still counts
        tail = b""
        dechunk = Dechunker()
        read = reader.read
        data = rest
        while True:
            pieces = dechunk.feed(data) if chunked else [data]
            for piece in pieces:
                count += piece.count(b"data:")
                if carry:
                    count += (carry + piece[:4]).count(b"data:")
                carry = (carry + piece)[-4:]
                tail = (tail + piece)[-32:]
            if dechunk.done:
                break
            data = await read(262144)
            if not data:
                break
        t1 = monotonic_ns()
    finally:
        writer.close()
    cpu = time.process_time() - cpu0
    seconds = (t1 - t0) / 1e9
    ok = count == n + 1 and tail.rstrip().endswith(b"[DONE]")
    return {
        "events": count - 1,
        "expected": n,
        "ok": ok,
        "seconds": round(seconds, 4),
        "events_per_s": round((count - 1) / seconds, 1) if seconds > 0 else None,
        "loadgen_cpu_pct": round(100 * cpu / seconds, 1) if seconds > 0 else None,
    }


async def scenario_stream(host: str, port: int, n: int, runs: int, warmup: int) -> dict[str, Any]:
    if warmup:
        await one_stream(host, port, warmup)
    results = [await one_stream(host, port, n) for _ in range(runs)]
    good = [r["events_per_s"] for r in results if r["ok"]]
    return {
        "scenario": "stream",
        "n": n,
        "runs": results,
        "ok": len(good) == len(results),
        "events_per_s_median": round(statistics.median(good), 1) if good else None,
        "events_per_s_best": max(good) if good else None,
        "loadgen_cpu_pct_max": max(r["loadgen_cpu_pct"] or 0 for r in results),
    }


# -- one paced stream -----------------------------------------------------------------------
def _sent_ns_plain(value: bytes) -> int:
    """``<seq> <monotonic_ns>``: the send time of a ``/paced`` event."""
    return int(value.split(b" ", 1)[1])


def _sent_ns_json(value: bytes) -> int:
    """``{"k": k, "t": monotonic_ns}``: the send time of a ``/tail`` event."""
    return int(json.loads(value)["t"])


async def paced_latencies(
    host: str, port: int, path: str, sent_ns: Callable[[bytes], int]
) -> tuple[list[int], int, bool]:
    """Read one paced stream; return (latencies in ns, unparsable events, saw [DONE])."""
    reader, writer = await asyncio.open_connection(host, port)
    lat: list[int] = []
    bad = 0
    done = False
    try:
        writer.write(request_bytes(host, port, path))
        status, chunked, rest = await read_head(reader)
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status}")
        dechunk = Dechunker()
        text = b""
        data = rest
        while True:
            now = monotonic_ns()
            pieces = dechunk.feed(data) if chunked else [data]
            text += b"".join(pieces)
            *lines, text = text.split(b"\n")
            for line in lines:
                if not line.startswith(b"data:"):
                    continue
                value = line[5:].strip()
                if value == b"[DONE]":
                    done = True
                    continue
                try:
                    lat.append(now - sent_ns(value))
                except (ValueError, IndexError, KeyError, TypeError):
                    bad += 1
            if dechunk.done:
                break
            data = await reader.read(65536)
            if not data:
                break
    finally:
        writer.close()
    return lat, bad, done


def _latency_ms(lat: list[int]) -> dict[str, float | None]:
    return {
        "p50": _ms(percentile(lat, 50)),
        "p99": _ms(percentile(lat, 99)),
        "max": _ms(max(lat) if lat else None),
    }


async def scenario_paced(host: str, port: int, n: int, interval: float) -> dict[str, Any]:
    lat, bad, done = await paced_latencies(
        host, port, f"/paced?n={n}&interval={interval}", _sent_ns_plain
    )
    return {
        "scenario": "paced",
        "n": n,
        "interval": interval,
        "events": len(lat),
        "ok": len(lat) == n and done and not bad,
        "latency_ms": _latency_ms(lat),
    }


async def scenario_tail(
    host: str, port: int, n: int, interval_ms: float, streams: int, preheat: int
) -> dict[str, Any]:
    """The per-token latency tail after a throughput run, on a JSON + ``id`` stream.

    Three ``/stream?n=preheat`` runs first (the server has just pushed a lot of
    data: its buffers, allocator and garbage collector are warm), then
    ``streams`` runs of ``/tail?n=N&interval_ms=I`` (one JSON event with
    ``id: k`` every ``I`` ms, the send time inside); the latencies of all of
    them are pooled.
    """
    for _ in range(3):
        await one_stream(host, port, preheat)
    lat: list[int] = []
    bad = 0
    runs_ok = 0
    for _ in range(streams):
        got, b, done = await paced_latencies(
            host, port, f"/tail?n={n}&interval_ms={interval_ms}", _sent_ns_json
        )
        lat += got
        bad += b
        runs_ok += int(len(got) == n and done and not b)
    return {
        "scenario": "tail",
        "n": n,
        "interval_ms": interval_ms,
        "streams": streams,
        "preheat": preheat,
        "events": len(lat),
        "ok": runs_ok == streams,
        "latency_ms": _latency_ms(lat),
        "latency_us": {
            "p50": round(percentile(lat, 50) / 1e3, 1) if lat else None,
            "p99": round(percentile(lat, 99) / 1e3, 1) if lat else None,
        },
    }


# -- broadcast fan-out ----------------------------------------------------------------------
class Recorder:
    """What all subscribers record, in flat lists (cheap appends, no per-event objects)."""

    __slots__ = ("on", "sent", "lat", "gaps", "bad", "events_total")

    def __init__(self) -> None:
        self.on = False
        self.sent: list[int] = []  # server send time of each received event (ns)
        self.lat: list[int] = []  # receive - send (ns), same index as `sent`
        self.gaps: list[int] = []  # time since this client's previous event (ns)
        self.bad = 0
        self.events_total = 0


class Subscriber(asyncio.Protocol):
    """One ``GET /subscribe`` client; finds ``data: <seq> <send_ns>`` lines in raw bytes."""

    __slots__ = ("rec", "request", "transport", "ready", "head", "tail", "last", "closed")

    def __init__(self, rec: Recorder, request: bytes, ready: asyncio.Future[int]) -> None:
        self.rec = rec
        self.request = request
        self.ready = ready
        self.head: bytes | None = b""  # None once the response head is through
        self.tail = b""
        self.last = 0
        self.closed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = monotonic_ns()
        if self.head is not None:
            buf = self.head + data
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.head = buf
                return
            status = int(buf.split(b" ", 2)[1])
            self.head = None
            if not self.ready.done():
                self.ready.set_result(status)
            data = buf[end + 4 :]
            if not data:
                return
        if self.tail:
            data = self.tail + data
            self.tail = b""
        rec = self.rec
        i = data.find(b"data: ")
        end = 0
        while i >= 0:
            j = data.find(b"\n", i)
            if j < 0:
                break
            rec.events_total += 1
            if rec.on:
                line = data[i + 6 : j]
                try:
                    sent = int(line[line.index(b" ") + 1 :])
                except ValueError:
                    rec.bad += 1
                else:
                    rec.sent.append(sent)
                    rec.lat.append(now - sent)
                    if self.last:
                        rec.gaps.append(now - self.last)
                    self.last = now
            end = j + 1
            i = data.find(b"data: ", end)
        if i >= 0:
            self.tail = data[i:]  # a data: line not complete yet
        elif len(data) - end:
            self.tail = data[max(end, len(data) - 5) :]  # maybe the start of "data: "

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before the response head"))


async def connect_subscribers(
    host: str, port: int, count: int, rec: Recorder, concurrency: int = 64, timeout: float = 15.0
) -> tuple[list[Subscriber], int]:
    """Open ``count`` subscribers (at most ``concurrency`` connecting at once)."""
    loop = asyncio.get_running_loop()
    request = request_bytes(host, port, "/subscribe")
    subs: list[Subscriber] = []
    failures = 0
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        nonlocal failures
        async with sem:
            ready: asyncio.Future[int] = loop.create_future()
            try:
                _, proto = await asyncio.wait_for(
                    loop.create_connection(lambda: Subscriber(rec, request, ready), host, port),
                    timeout,
                )
                status = await asyncio.wait_for(ready, timeout)
                if status != 200:
                    raise ConnectionError(f"HTTP {status}")
                subs.append(proto)
            except (OSError, asyncio.TimeoutError, ConnectionError):
                failures += 1

    await asyncio.gather(*(one() for _ in range(count)))
    return subs, failures


async def wait_subscribers(host: str, port: int, want: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        got = (await http_json(host, port, "/stats"))["subscribers"]
        if got >= want or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.2)


async def _lag_monitor(samples: list[float], step: float = 0.005) -> None:
    """Oversleep of a 5 ms sleep: how late the load generator's loop runs callbacks.

    (uvloop's timers have 1 ms granularity, so ~1 ms is the floor.)
    """
    clock = time.perf_counter
    while True:
        t = clock()
        await asyncio.sleep(step)
        samples.append(clock() - t - step)


async def scenario_fanout(
    host: str, port: int, clients: int, window: float, period: float, warmup: float
) -> dict[str, Any]:
    rec = Recorder()
    idle = await http_json(host, port, "/stats")
    t_connect = time.monotonic()
    subs, failures = await connect_subscribers(host, port, clients, rec)
    connect_s = time.monotonic() - t_connect
    seen = await wait_subscribers(host, port, len(subs))
    gc.collect()
    gc.freeze()
    await http_json(host, port, f"/publisher?period={period}", "POST")
    await asyncio.sleep(warmup)
    lag: list[float] = []
    monitor = asyncio.ensure_future(_lag_monitor(lag))
    s0 = await http_json(host, port, "/stats")
    cpu0, wall0 = time.process_time(), time.monotonic()
    rec.on = True
    t0 = monotonic_ns()
    await asyncio.sleep(window)
    t1 = monotonic_ns()
    s1 = await http_json(host, port, "/stats")
    cpu1, wall1 = time.process_time(), time.monotonic()
    await asyncio.sleep(max(1.0, 3 * period))  # late deliveries of events sent in the window
    rec.on = False
    monitor.cancel()
    await http_json(host, port, "/publisher", "DELETE")
    closed_early = sum(1 for s in subs if s.closed)
    for s in subs:
        if s.transport is not None:
            s.transport.close()
    gc.unfreeze()

    # Events sent inside [t0, t1]; their deliveries may have arrived up to the grace later.
    sent, lat = rec.sent, rec.lat
    in_window = [lat[k] for k in range(len(sent)) if t0 <= sent[k] <= t1]
    published = len({s for s in sent if t0 <= s <= t1})
    ticks = (t1 - t0) / 1e9 / period
    expected = len(subs) * ticks
    delivered = len(in_window)
    server_cpu = (s1["cpu_s"] - s0["cpu_s"]) / ((t1 - t0) / 1e9)
    loadgen_cpu = (cpu1 - cpu0) / (wall1 - wall0)
    p99 = percentile(in_window, 99)
    ratio = delivered / expected if expected else 0.0
    holds = bool(subs) and ratio >= 0.99 and p99 is not None and p99 <= period * 1e9
    lag_p99 = percentile(lag, 99)
    loadgen_saturated = loadgen_cpu >= 0.95 or (lag_p99 is not None and lag_p99 > period / 2)
    deliveries_per_s = delivered / ((t1 - t0) / 1e9)
    return {
        "scenario": "fanout",
        "clients": clients,
        "connected": len(subs),
        "connect_failures": failures,
        "subscribers_seen": seen,
        "closed_during_run": closed_early,
        "connect_s": round(connect_s, 2),
        "window_s": round((t1 - t0) / 1e9, 3),
        "period_s": period,
        "ticks_expected": round(ticks, 1),
        "published_in_window": published,
        "delivered": delivered,
        "expected": round(expected),
        "delivered_ratio": round(ratio, 4),
        "latency_ms": {
            "p50": _ms(percentile(in_window, 50)),
            "p99": _ms(p99),
            "max": _ms(max(in_window) if in_window else None),
        },
        "interarrival_ms": {
            "p1": _ms(percentile(rec.gaps, 1)),
            "p50": _ms(percentile(rec.gaps, 50)),
            "p99": _ms(percentile(rec.gaps, 99)),
        },
        "period_holds": holds,
        "server_cpu_pct": round(100 * server_cpu, 1),
        "rss_idle_bytes": idle["rss_bytes"],
        "rss_bytes": s1["rss_bytes"],
        "kib_per_conn": round((s1["rss_bytes"] - idle["rss_bytes"]) / max(1, len(subs)) / 1024, 2),
        "bad_lines": rec.bad,
        "loadgen_cpu_pct": round(100 * loadgen_cpu, 1),
        "loadgen_lag_ms": {"p99": _ms(None if lag_p99 is None else lag_p99 * 1e9),
                           "max": _ms(max(lag) * 1e9 if lag else None)},
        "loadgen_us_per_delivery": round(1e6 * (cpu1 - cpu0) / delivered, 2) if delivered else None,
        "deliveries_per_s": round(deliveries_per_s),
        "loadgen_saturated": loadgen_saturated,
        "server_stats": s1,
    }


# -- connect / disconnect cycles ------------------------------------------------------------
async def _cycle(host: str, port: int, request: bytes) -> bool:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        status, _, _ = await asyncio.wait_for(read_head(reader), 10)
        return status == 200
    finally:
        writer.close()


async def _cycles(host: str, port: int, count: int, concurrency: int) -> int:
    request = request_bytes(host, port, "/subscribe")
    sem = asyncio.Semaphore(concurrency)
    failures = 0

    async def one() -> None:
        nonlocal failures
        async with sem:
            try:
                if not await _cycle(host, port, request):
                    failures += 1
            except (OSError, asyncio.TimeoutError, ConnectionError):
                failures += 1

    await asyncio.gather(*(one() for _ in range(count)))
    return failures


async def scenario_cycles(
    host: str, port: int, cycles: int, concurrency: int, warmup: int, period: float,
    settle: float = 5.0,
) -> dict[str, Any]:
    # The publisher runs throughout, as it would on a live server: a server that only
    # notices a departed client when it next writes to it gets that chance every period.
    await http_json(host, port, f"/publisher?period={period}", "POST")
    await _cycles(host, port, warmup, concurrency)
    await asyncio.sleep(1.0)
    s0 = await http_json(host, port, "/stats")
    t = time.monotonic()
    failures = await _cycles(host, port, cycles, concurrency)
    took = time.monotonic() - t
    after: dict[str, int] = {}
    waited = 0.0
    marks = [m for m in (0.2, 1.0, 5.0) if m < settle] + [settle]
    for mark in marks:
        await asyncio.sleep(mark - waited)
        waited = mark
        after[f"{mark:g}s"] = (await http_json(host, port, "/stats"))["subscribers"]
    s1 = await http_json(host, port, "/stats")
    await http_json(host, port, "/publisher", "DELETE")
    return {
        "scenario": "cycles",
        "cycles": cycles,
        "failures": failures,
        "seconds": round(took, 2),
        "subscribers_before": s0["subscribers"],
        "subscribers_after": after,
        "leaked": after[f"{settle:g}s"],
        "rss_before_bytes": s0["rss_bytes"],
        "rss_after_bytes": s1["rss_bytes"],
        "rss_growth_kib": round((s1["rss_bytes"] - s0["rss_bytes"]) / 1024, 1),
    }


# -- command line ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadgen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-uvloop", action="store_true")
    sub = parser.add_subparsers(dest="scenario", required=True)
    p = sub.add_parser("stream")
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--warmup", type=int, default=20_000)
    p = sub.add_parser("paced")
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--interval", type=float, default=0.01)
    p = sub.add_parser("tail")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--interval-ms", type=float, default=5.0)
    p.add_argument("--streams", type=int, default=3)
    p.add_argument("--preheat", type=int, default=50_000)
    p = sub.add_parser("fanout")
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--window", type=float, default=10.0)
    p.add_argument("--period", type=float, default=0.1)
    p.add_argument("--warmup", type=float, default=1.0)
    p = sub.add_parser("cycles")
    p.add_argument("--cycles", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--period", type=float, default=0.1)
    p.add_argument("--settle", type=float, default=5.0, help="last subscriber check, s")
    args = parser.parse_args(argv)

    raise_nofile()
    h, port = args.host, args.port
    if args.scenario == "stream":
        coro = scenario_stream(h, port, args.n, args.runs, args.warmup)
    elif args.scenario == "paced":
        coro = scenario_paced(h, port, args.n, args.interval)
    elif args.scenario == "tail":
        coro = scenario_tail(h, port, args.n, args.interval_ms, args.streams, args.preheat)
    elif args.scenario == "fanout":
        coro = scenario_fanout(h, port, args.clients, args.window, args.period, args.warmup)
    else:
        coro = scenario_cycles(h, port, args.cycles, args.concurrency, args.warmup, args.period,
                               args.settle)
    result = _run(coro, use_uvloop=not args.no_uvloop)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
