"""Durable answers on Redis: broadcast fan-out over 1 and 2 processes, and resume latency.

Run on demand (never part of the test suite)::

    python -m benchmarks.redis_fanout                     # ~1 minute
    python -m benchmarks.redis_fanout --subscribers 2000 --events 50

1. **Fan-out.** ``--subscribers`` SSE subscribers (raw sockets, one asyncio
   loop) spread evenly over 1, then 2 ``python -m sse_lab serve --store
   redis://...`` processes; a publisher ``XADD``s one event every ``--period``
   seconds (the send time in the data). Reported: the period the subscribers
   saw (mean gap between events), p50/p99 delivery latency (receive minus
   send), and each server process's CPU share while publishing.
2. **Resume latency.** A reader leaves after 10 tokens of a finished answer and
   comes back: by the log (``Last-Event-ID: <answer>:9``) versus by
   regeneration (the old numeric ``Last-Event-ID: 9``: a new answer from token
   10, which waits that token's model delay), at real-model pacing (speed 1).
   A real model would pay more to regenerate: time to first token again, and
   it would not repeat itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import urllib.request

import psutil
import redis.asyncio as aioredis

from sse_lab.client import record_sync
from sse_lab.lab import services
from sse_lab.server import ServerConfig, start_server
from sse_lab.server.answers import AnswersConfig
from sse_lab.server.stores.broadcast import publish


async def _subscriber(port: int, arrivals: list[tuple[float, int]], ready: asyncio.Event,
                      counter: list[int], total: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    await writer.drain()
    counter[0] += 1
    if counter[0] == total:
        ready.set()
    buf = b""
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            now = time.time_ns()
            buf += chunk
            while (i := buf.find(b"data: ")) >= 0:
                j = buf.find(b"\n", i)
                if j < 0:
                    break
                raw = buf[i + 6:j]
                buf = buf[j + 1:]
                if raw.isdigit():
                    arrivals.append((now, int(raw)))
    finally:
        writer.close()


def _subscribers_on(url: str) -> int:
    with urllib.request.urlopen(url + "/stats", timeout=5) as resp:
        return int(json.loads(resp.read())["subscribers"])


async def fanout(redis_url: str, ports: list[int], pids: list[int], n_subs: int, period: float,
                 events: int) -> dict[str, float]:
    """One run: ``n_subs`` subscribers over ``ports``, ``events`` publishes every ``period``."""
    per_sub: list[list[tuple[float, int]]] = [[] for _ in range(n_subs)]
    ready, counter = asyncio.Event(), [0]
    tasks = [asyncio.ensure_future(_subscriber(ports[i % len(ports)], per_sub[i], ready,
                                               counter, n_subs)) for i in range(n_subs)]
    await asyncio.wait_for(ready.wait(), 60)
    deadline = time.monotonic() + 30
    while sum(await asyncio.gather(*(asyncio.to_thread(_subscribers_on, f"http://127.0.0.1:{p}")
                                     for p in ports))) < n_subs:
        assert time.monotonic() < deadline, "subscribers did not all register"
        await asyncio.sleep(0.1)
    procs = [psutil.Process(pid) for pid in pids]
    cpu0 = [sum(p.cpu_times()[:2]) for p in procs]
    client = aioredis.Redis.from_url(redis_url)
    loop = asyncio.get_running_loop()
    t_start = loop.time()
    for k in range(events):  # drift-free: each publish at its planned time
        await asyncio.sleep(max(0.0, t_start + k * period - loop.time()))
        await publish(client, str(time.time_ns()))
    wall = loop.time() - t_start
    await asyncio.sleep(max(0.5, period * 3))
    cpu = [(sum(p.cpu_times()[:2]) - c) / wall for p, c in zip(procs, cpu0, strict=True)]
    await client.aclose()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    lat = sorted((recv - sent) / 1e6 for subs in per_sub for recv, sent in subs)
    gaps = [(b[0] - a[0]) / 1e6
            for subs in per_sub for a, b in zip(subs, subs[1:], strict=False)]
    delivered = sum(len(s) for s in per_sub)
    return {
        "processes": len(ports),
        "subscribers": n_subs,
        "delivered_pct": 100.0 * delivered / (n_subs * events),
        "period_ms": statistics.fmean(gaps) if gaps else float("nan"),
        "p50_ms": lat[len(lat) // 2] if lat else float("nan"),
        "p99_ms": lat[int(len(lat) * 0.99)] if lat else float("nan"),
        "cpu_per_process_pct": 100.0 * max(cpu),
    }


def resume_latency(trials: int) -> dict[str, float]:
    """Median time to the first resumed token: by the log vs by regeneration (speed 1)."""
    srv = start_server(config=ServerConfig(answers=AnswersConfig(policy="continue")))
    try:
        url = srv.url + "/chat?prompt=explain%20server-sent%20events&seed={seed}&speed=1"
        by_log, by_regen = [], []
        for seed in range(trials):
            first = record_sync(url.format(seed=seed), max_events=10)
            answer = first.token_arrivals[-1].event.id.split(":")[0]
            deadline = time.monotonic() + 30
            while not _ended(srv.url, answer):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            log = record_sync(url.format(seed=seed),
                              headers={"Last-Event-ID": f"{answer}:9"}, max_events=1)
            regen = record_sync(url.format(seed=seed), headers={"Last-Event-ID": "9"},
                                max_events=1)
            assert log.tokens == regen.tokens
            by_log.append(log.token_times[0] * 1000)
            by_regen.append(regen.token_times[0] * 1000)
        return {"log_ms": statistics.median(by_log), "regeneration_ms": statistics.median(by_regen)}
    finally:
        srv.stop()


def _ended(base: str, answer: str) -> bool:
    with urllib.request.urlopen(f"{base}/answers/{answer}", timeout=5) as resp:
        return bool(json.loads(resp.read())["ended"])


def main(argv: list[str] | None = None) -> None:
    """Run both parts and print a markdown report."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.redis_fanout")
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--period", type=float, default=0.1)
    ap.add_argument("--events", type=int, default=30)
    ap.add_argument("--trials", type=int, default=5)
    args = ap.parse_args(argv)
    redis = services.start_redis()
    rows = []
    try:
        for n in (1, 2):
            inst = services.start_instances(n, redis.url)
            try:
                rows.append(asyncio.run(fanout(redis.url, [i.port for i in inst],
                                               [i.pid for i in inst], args.subscribers,
                                               args.period, args.events)))
            finally:
                for i in inst:
                    i.stop()
    finally:
        redis.stop()
    print(f"### Broadcast through Redis, one event per {args.period * 1000:.0f} ms\n")
    print("| processes | subscribers | delivered | period seen | p50 | p99 | CPU/process |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['processes']} | {r['subscribers']} | {r['delivered_pct']:.1f}% | "
              f"{r['period_ms']:.1f} ms | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | "
              f"{r['cpu_per_process_pct']:.0f}% |")
    res = resume_latency(args.trials)
    print(f"\n### Resume after token 9 (speed 1, median of {args.trials})\n")
    print(f"- by the log: first token after {res['log_ms']:.1f} ms")
    print("- by regeneration (simulated model, skips to token 10): "
          f"{res['regeneration_ms']:.1f} ms")


if __name__ == "__main__":
    main()
