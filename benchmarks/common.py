"""What every benchmark server shares: the payload, the stats, the publisher clock.

Every launcher in :mod:`benchmarks.servers` serves the same endpoints on
``127.0.0.1:PORT`` so the load generator can drive them all alike:

* ``GET /stream?n=N``: ``N`` events as fast as the server can send them, each
  ``data: <seq> <PAYLOAD>`` (:data:`PAYLOAD` is 40 bytes), then ``data: [DONE]``.
* ``GET /paced?n=N&interval=S``: ``N`` events ``S`` seconds apart, each
  ``data: <seq> <time.monotonic_ns() at send time>``.
* ``GET /subscribe``: a broadcast subscriber.
* ``POST /publisher?period=0.1`` / ``DELETE /publisher``: start/stop a server-side
  publisher that broadcasts ``data: <seq> <time.monotonic_ns()>`` to every
  subscriber every ``period`` seconds (``CLOCK_MONOTONIC``: comparable across
  processes on one machine).
* ``GET /stats``: JSON with at least ``subscribers``, ``rss_bytes`` (from
  ``/proc/self/statm``), ``cpu_s`` (``time.process_time()``), ``server``,
  ``loop`` and ``published``.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

#: 40 bytes after ``<seq> ``: the size of a typical small chat token event.
PAYLOAD = "abcdefghijklmnopqrstuvwxyz0123456789ABCD"
assert len(PAYLOAD) == 40

DONE = "[DONE]"

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size of this process, read from ``/proc/self/statm``."""
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * _PAGE


def raise_nofile(target: int = 65536) -> int:
    """Raise RLIMIT_NOFILE's soft limit as far as allowed; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = target if hard == resource.RLIM_INFINITY else min(target, hard)
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError):  # pragma: no cover - a locked-down box
            pass
    return soft


def loop_name(loop: asyncio.AbstractEventLoop | None = None) -> str:
    try:
        loop = loop or asyncio.get_running_loop()
    except RuntimeError:
        return "none"
    mod = type(loop).__module__
    return "uvloop" if mod.startswith("uvloop") else "asyncio"


def stats(server: str, subscribers: int, published: int, **extra: Any) -> dict[str, Any]:
    """The common ``/stats`` body."""
    body = {
        "server": server,
        "subscribers": subscribers,
        "published": published,
        "rss_bytes": rss_bytes(),
        "cpu_s": time.process_time(),
        "loop": loop_name(),
        "pid": os.getpid(),
    }
    lab = sys.modules.get("sse_lab")
    if lab is not None:  # which sse_lab this server runs (a patched copy shows here)
        body["sse_lab"] = os.path.dirname(lab.__file__ or "")
    body.update(extra)
    return body


def stats_json(*args: Any, **kwargs: Any) -> str:
    return json.dumps(stats(*args, **kwargs))


def broadcast_data(seq: int) -> str:
    """The data of one broadcast event: its sequence number and send time."""
    return f"{seq} {time.monotonic_ns()}"


def parse_period(raw: str | None, default: float = 0.1) -> float:
    try:
        period = float(raw) if raw is not None else default
    except ValueError:
        return default
    return period if 0.001 <= period <= 60 else default


class AsyncioPublisher:
    """A drift-free periodic publisher for asyncio servers (aiohttp, Starlette).

    Ticks are scheduled at ``start + k * period`` on the loop clock; a tick that
    comes too late to keep up skips the ones it missed, exactly like Tornado's
    ``PeriodicCallback``, so every server publishes on the same schedule and a
    server that cannot keep the period shows it as fewer events, not as drift.
    """

    def __init__(self, publish: Callable[[int], None]) -> None:
        self._publish = publish
        self._task: asyncio.Task[None] | None = None
        self.seq = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, period: float) -> None:
        self.stop()
        self._task = asyncio.get_running_loop().create_task(self._run(period))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self, period: float) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + period
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            self._publish(self.seq)
            self.seq += 1
            now = loop.time()
            next_at += period
            if next_at <= now:  # fell behind: skip missed ticks, like PeriodicCallback
                next_at += ((now - next_at) // period + 1) * period


def cli_port(argv: list[str] | None = None) -> tuple[str, int]:
    """``--host H --port P`` from the command line (defaults 127.0.0.1:8765)."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    return args.host, args.port
