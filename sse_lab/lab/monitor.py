"""Watch a lab server over time: connections, subscribers, tasks and memory.

The source article's monitoring is two counters logged to the console::

    let connectionCount = 0;               // ++ on connect, -- on close
    const memUsage = process.memoryUsage(); // heap and RSS

:class:`Monitor` is the same thing in Python, as a time series: a background
thread calls :meth:`LabServer.stats() <sse_lab.server.LabServer.stats>`
every ``interval`` seconds and appends one sample, a dict with ``t``
(seconds since :meth:`Monitor.start`) and every counter of ``stats()``:
``open_total`` (the article's ``connectionCount``), ``open_connections``
(per path), ``subscribers``, ``generation_tasks``, ``rss_bytes`` (the
article's ``memoryUsage().rss``, plus ``rss_mb``), ``events_sent``,
``dropped_stalled``...

It runs in its own thread, so it keeps sampling whether the notebook cell
``await``-s, blocks, or sleeps. Chart the samples with
:func:`sse_lab.lab.plots.monitor_chart`, or watch them live with
:class:`sse_lab.lab.widgets.MonitorView`.

:func:`wait_for_stats` polls ``stats()`` until a condition holds, for check
cells that must give the server a moment (a closed connection is noticed on
the server's own loop, a few milliseconds later). A check never reads the
sampling thread's last sample: on a busy machine it can predate what the
cell just did. :meth:`Monitor.wait_for` / :meth:`Monitor.wait_for_async`
wait for *fresh* stats that satisfy the condition and add them to the series
as a marked sample (the chart draws the mark).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

from sse_lab.i18n import tr

__all__ = ["Monitor", "wait_for_stats", "wait_for_stats_async"]

Sample = dict[str, Any]


class _HasStats(Protocol):
    def stats(self) -> dict[str, Any]: ...


def _stats_source(server: _HasStats | str) -> Callable[[], dict[str, Any]]:
    """A zero-argument function returning the server's stats."""
    stats = getattr(server, "stats", None)
    if callable(stats):
        return stats
    base = str(getattr(server, "url", server)).rstrip("/")
    url = base if base.endswith("/stats") else base + "/stats"

    def fetch() -> dict[str, Any]:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback URL
            return json.loads(resp.read().decode("utf-8"))

    return fetch


class Monitor:
    """Sample a server's ``stats()`` into a time series, in a background thread.

    Use as a context manager (``with Monitor(server) as mon: ...``), or call
    :meth:`start` and :meth:`stop`. Re-starting clears the samples.

    Args:
        server: A :class:`~sse_lab.server.LabServer` (or anything with a
            ``stats()`` method), or a server's base URL (``/stats`` is then
            fetched over HTTP).
        interval: Seconds between samples (at least 0.01).
        max_samples: Keep at most this many (the oldest are dropped).

    Attributes:
        samples: One dict per sample: ``t`` (seconds since start), ``rss_mb``
            and every key of ``stats()``.
        error: Why sampling stopped by itself (e.g. the server was stopped).

    A sample may carry a ``mark`` (a short label, see :meth:`mark`): a
    moment the notebook checked something, drawn by
    :func:`~sse_lab.lab.plots.monitor_chart`.
    """

    def __init__(
        self, server: _HasStats | str, interval: float = 0.1, *, max_samples: int = 100_000
    ) -> None:
        if not interval >= 0.01:
            raise ValueError("interval must be at least 0.01 s")
        self.server = server
        self.interval = float(interval)
        self.max_samples = int(max_samples)
        self.samples: list[Sample] = []
        self.error: str | None = None
        self._fetch = _stats_source(server)
        self._t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[Monitor], Any]] = []
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------
    @property
    def started_at(self) -> float:
        """``time.perf_counter()`` when sampling started: every sample's ``t`` counts from it."""
        return self._t0

    @property
    def running(self) -> bool:
        """True while the sampling thread runs."""
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> Monitor:
        """Start sampling now (clears earlier samples); returns ``self``."""
        if self.running:
            return self
        with self._lock:
            self.samples = []
        self.error = None
        self._stop = threading.Event()
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="sse_lab-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Monitor:
        """Take a last sample, stop the thread and tell the listeners; returns ``self``."""
        thread = self._thread
        if thread is None:
            return self
        self._stop.set()
        if thread is not threading.current_thread():
            thread.join(5)
        self._thread = None
        return self

    def __enter__(self) -> Monitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Monitor:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # -- sampling ----------------------------------------------------------------
    def sample(self, mark: str | None = None) -> Sample:
        """Take one sample now, append it to :attr:`samples` and return it.

        Args:
            mark: A label stored as the sample's ``mark`` (see :meth:`mark`).
        """
        return self._append(dict(self._fetch()), mark)

    def _append(self, stats: Sample, mark: str | None = None) -> Sample:
        # t is taken under the lock: samples from the thread and from a cell
        # (a marked one) stay in time order.
        with self._lock:
            stats["t"] = round(time.perf_counter() - self._t0, 4)
            stats["rss_mb"] = stats.get("rss_bytes", 0) / 2**20
            if mark is not None:
                stats["mark"] = str(mark)
            self.samples.append(stats)
            if len(self.samples) > self.max_samples:
                del self.samples[: len(self.samples) - self.max_samples]
        return dict(stats)

    def mark(self, label: str) -> Sample:
        """Take a fresh sample now, labelled ``label``, and tell the listeners.

        Use it where a cell checks something ("wave 3 done"): the sample is
        the server's state at that moment, not the last one the thread took.
        """
        stats = self.sample(mark=label)
        self._notify()
        return stats

    def wait_for(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 5.0,
        *,
        mark: str | None = None,
    ) -> Sample:
        """Poll *fresh* ``stats()`` until ``predicate`` holds or ``timeout`` passes.

        The stats that ended the wait are appended as a sample (with ``mark``
        when given) and returned, with ``waited_s`` added: a check cell then
        asserts on the server's state after its own action, however late the
        sampling thread is. Never raises on a timeout (see :func:`wait_for_stats`).
        """
        stats = wait_for_stats(self.server, predicate, timeout)
        return self._record_wait(stats, mark)

    async def wait_for_async(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 5.0,
        *,
        mark: str | None = None,
    ) -> Sample:
        """:meth:`wait_for` for a cell that must keep its event loop running."""
        stats = await wait_for_stats_async(self.server, predicate, timeout)
        return self._record_wait(stats, mark)

    def _record_wait(self, stats: Sample, mark: str | None) -> Sample:
        waited = stats.pop("waited_s", 0.0)
        out = self._append(stats, mark)
        out["waited_s"] = waited
        self._notify()
        return out

    def _run(self) -> None:
        k = 0
        try:
            while True:
                try:
                    self.sample()
                except Exception as exc:  # the server went away: stop quietly
                    self.error = f"{type(exc).__name__}: {exc}"
                    break
                self._notify()
                if self._stop.is_set():
                    break
                k += 1
                wait = self._t0 + k * self.interval - time.perf_counter()
                if wait < 0:  # fell behind (a busy server): skip, do not burst
                    k = int((time.perf_counter() - self._t0) / self.interval) + 1
                    wait = self._t0 + k * self.interval - time.perf_counter()
                self._stop.wait(max(0.0, wait))
                # one last sample after stop() so the series ends at "now"
        finally:
            self._stop.set()
            self._notify()

    # -- listeners ---------------------------------------------------------------
    def add_listener(self, fn: Callable[[Monitor], Any]) -> None:
        """Call ``fn(monitor)`` after every sample, and once more when sampling stops.

        It runs in the thread that took the sample (usually the monitor's):
        keep it short, or the next sample comes late. Hand slow work (a
        chart) to another thread, as :class:`~sse_lab.lab.widgets.MonitorView`
        does: its listener only signals its drawing thread.
        """
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[Monitor], Any]) -> None:
        """Stop calling ``fn`` (no error if it was not a listener)."""
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _notify(self) -> None:
        for fn in list(self._listeners):
            try:
                fn(self)
            except Exception:  # a display problem must not stop the sampling
                pass

    # -- reading -----------------------------------------------------------------
    def series(self, key: str) -> tuple[list[float], list[float]]:
        """``(times, values)`` of one counter, e.g. ``series("open_total")``."""
        with self._lock:
            rows = [(s["t"], s[key]) for s in self.samples if key in s]
        return [t for t, _ in rows], [v for _, v in rows]

    def peak(self, key: str) -> float:
        """The largest value a counter reached (0 without samples)."""
        _, values = self.series(key)
        return max(values, default=0)

    def last(self) -> Sample | None:
        """The sampling thread's latest sample: for display, never for a check (it may be stale)."""
        with self._lock:
            return dict(self.samples[-1]) if self.samples else None

    def summary(self) -> str:
        """One line per counter of interest: first, peak and last value."""
        if not self.samples:
            return tr("no samples")
        first, last = self.samples[0], self.samples[-1]
        lines = [tr("{n} samples over {t:.2f} s", n=len(self.samples), t=last["t"])]
        for key, unit in (
            ("open_total", ""),
            ("subscribers", ""),
            ("generation_tasks", ""),
            ("rss_mb", " MB"),
        ):
            fmt = "{:.1f}" if unit else "{:.0f}"
            vals = [fmt.format(v) + unit for v in (first[key], self.peak(key), last[key])]
            lines.append("  " + tr("{key:<17} first {first:>9}  peak {peak:>9}  last {last:>9}",
                                   key=key, first=vals[0], peak=vals[1], last=vals[2]))
        return "\n".join(lines)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Monitor {state}, {len(self.samples)} samples every {self.interval:g} s>"


def wait_for_stats(
    server: _HasStats | str,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = 3.0,
    step: float = 0.01,
) -> dict[str, Any]:
    """Poll ``stats()`` until ``predicate(stats)`` is true or ``timeout`` passes.

    Never raises on a timeout: returns the last stats (so a check cell can
    ``assert`` on them and print what it saw), with ``waited_s`` added.
    """
    fetch = _stats_source(server)
    t0 = time.perf_counter()
    while True:
        stats = dict(fetch())
        waited = time.perf_counter() - t0
        if predicate(stats) or waited >= timeout:
            stats["waited_s"] = round(waited, 4)
            return stats
        time.sleep(step)


async def wait_for_stats_async(
    server: _HasStats | str,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = 3.0,
    step: float = 0.01,
) -> dict[str, Any]:
    """:func:`wait_for_stats` for a cell that must keep its event loop running."""
    fetch = _stats_source(server)
    t0 = time.perf_counter()
    while True:
        stats = dict(await asyncio.to_thread(fetch))
        waited = time.perf_counter() - t0
        if predicate(stats) or waited >= timeout:
            stats["waited_s"] = round(waited, 4)
            return stats
        await asyncio.sleep(step)
