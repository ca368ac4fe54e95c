"""The monitor: a time series of the server's counters, sampled in a thread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from matplotlib.figure import Figure

from sse_lab.client import record
from sse_lab.lab import plots
from sse_lab.lab.monitor import Monitor, wait_for_stats, wait_for_stats_async
from sse_lab.server import LabServer, start_server


@pytest.fixture(scope="module")
def lab() -> Iterator[LabServer]:
    srv = start_server()
    yield srv
    srv.stop()


def wait_until(condition, timeout: float = 30.0) -> None:
    """Poll ``condition()`` until true; fail after ``timeout`` s (a busy machine is only slower)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


async def burst(url: str, n: int) -> list:
    return await asyncio.gather(*(record(f"{url}/chat?prompt=hi&seed={i}&speed=8")
                                  for i in range(n)))


def test_samples_the_counters_over_time(lab: LabServer) -> None:
    with Monitor(lab, interval=0.02) as mon:
        wait_until(lambda: len(mon.samples) >= 3)
        recs = asyncio.run(burst(lab.url, 20))
        wait_until(lambda: mon.samples[-1]["open_total"] == 0)
    assert all(r.done for r in recs)
    s = mon.samples
    assert len(s) >= 4
    for key in ("t", "open_total", "subscribers", "generation_tasks", "rss_bytes", "rss_mb"):
        assert key in s[0], key
    ts = [x["t"] for x in s]
    assert ts == sorted(ts) and ts[0] >= 0
    assert mon.peak("open_total") >= 1  # the burst was seen
    assert s[0]["open_total"] == 0 and s[-1]["open_total"] == 0  # it came and went
    assert s[-1]["rss_mb"] == pytest.approx(s[-1]["rss_bytes"] / 2**20)
    times, values = mon.series("open_total")
    assert len(times) == len(values) == len(s)
    assert not mon.running and mon.error is None
    assert "open_total" in mon.summary() and "samples" in repr(mon)


def test_restart_clears_and_stop_is_idempotent(lab: LabServer) -> None:
    mon = Monitor(lab, interval=0.02).start()
    assert mon.running and mon.start() is mon
    wait_until(lambda: len(mon.samples) >= 3)
    mon.stop().stop()
    first, first_start = mon.samples, mon.started_at
    mon.start()
    wait_until(lambda: len(mon.samples) >= 1)
    mon.stop()
    assert mon.samples is not first and mon.started_at > first_start  # cleared, new clock
    assert Monitor(lab).stop().samples == []  # never started


def test_by_url_and_bounded(lab: LabServer) -> None:
    taken: list[int] = []
    mon = Monitor(lab.url, interval=0.01, max_samples=5)
    mon.add_listener(lambda m: taken.append(1))
    mon.start()
    wait_until(lambda: len(taken) >= 8)
    mon.stop()
    assert len(mon.samples) == 5
    assert mon.last() is not None and "open_total" in mon.last()


def test_listeners_and_final_call(lab: LabServer) -> None:
    calls: list[bool] = []
    mon = Monitor(lab, interval=0.02)
    mon.add_listener(lambda m: calls.append(m.running))
    mon.add_listener(lambda m: 1 / 0)  # a broken listener does not stop sampling
    mon.start()
    wait_until(lambda: calls.count(True) >= 3)
    mon.stop()
    assert calls.count(True) >= 3 and calls[-1] is False


def test_stops_by_itself_when_the_server_goes() -> None:
    srv = start_server()
    mon = Monitor(srv, interval=0.02).start()
    wait_until(lambda: len(mon.samples) >= 1)
    srv.stop()
    wait_until(lambda: not mon.running)
    assert mon.error and "not running" in mon.error


def test_interval_must_be_sane(lab: LabServer) -> None:
    with pytest.raises(ValueError):
        Monitor(lab, interval=0)


def test_wait_for_stats(lab: LabServer) -> None:
    st = wait_for_stats(lab, lambda s: s["open_total"] == 0)
    assert st["open_total"] == 0 and st["waited_s"] >= 0
    t0 = time.perf_counter()
    st = wait_for_stats(lab, lambda s: False, timeout=0.1)
    assert time.perf_counter() - t0 >= 0.1 and st["waited_s"] >= 0.1
    st = asyncio.run(wait_for_stats_async(lab.url, lambda s: s["open_total"] == 0))
    assert st["open_total"] == 0


def test_monitor_chart(lab: LabServer) -> None:
    with Monitor(lab, interval=0.02) as mon:
        asyncio.run(burst(lab.url, 5))
    fig = plots.monitor_chart(mon.samples)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    gids = {ln.get_gid() for ax in fig.axes for ln in ax.get_lines()}
    assert {"open_total", "subscribers", "generation_tasks", "rss"} <= gids
    assert "peak" in fig.axes[0].get_legend().get_texts()[0].get_text()
    empty = plots.monitor_chart([])
    assert isinstance(empty, Figure)
    fast = plots.monitor_chart(mon.samples, fast=True)
    assert fast.get_layout_engine() is None


def test_started_at_is_the_clock_of_the_samples(lab: LabServer) -> None:
    mon = Monitor(lab, interval=0.02).start()
    try:
        before = time.perf_counter()
        s = mon.sample()
        after = time.perf_counter()
    finally:
        mon.stop()
    assert before - mon.started_at - 1e-3 <= s["t"] <= after - mon.started_at + 1e-3


def test_wait_for_takes_fresh_stats_and_marks_them(lab: LabServer) -> None:
    seen: list[int] = []
    mon = Monitor(lab, interval=10.0)  # the thread samples once: only fresh stats can tell
    mon.add_listener(lambda m: seen.append(len(m.samples)))
    with mon:
        recs = asyncio.run(burst(lab.url, 5))
        done = mon.wait_for(
            lambda s: s["open_total"] == 0 and s["generation_tasks"] == 0, mark="burst done"
        )
        other = asyncio.run(mon.wait_for_async(lambda s: True, timeout=1, mark="again"))
    assert all(r.done for r in recs)
    assert done["open_total"] == 0 and done["mark"] == "burst done" and done["waited_s"] >= 0
    assert other["mark"] == "again"
    marks = [s.get("mark") for s in mon.samples if s.get("mark")]
    assert marks == ["burst done", "again"]
    ts = [s["t"] for s in mon.samples]
    assert ts == sorted(ts)
    assert len(seen) >= 3  # listeners hear of marked samples too (a live chart redraws)
    fig = plots.monitor_chart(mon.samples)
    assert len([ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "mark"]) == 2
    assert {t.get_text() for t in fig.axes[0].texts} >= {"burst done", "again"}
    assert any(ln.get_gid() == "samples" for ln in fig.axes[0].get_lines())

