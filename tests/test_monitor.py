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


async def burst(url: str, n: int) -> list:
    return await asyncio.gather(*(record(f"{url}/chat?prompt=hi&seed={i}&speed=8")
                                  for i in range(n)))


def test_samples_the_counters_over_time(lab: LabServer) -> None:
    with Monitor(lab, interval=0.02) as mon:
        time.sleep(0.1)
        recs = asyncio.run(burst(lab.url, 20))
        time.sleep(0.1)
    assert all(r.done for r in recs)
    s = mon.samples
    assert len(s) >= 10
    for key in ("t", "open_total", "subscribers", "generation_tasks", "rss_bytes", "rss_mb"):
        assert key in s[0], key
    ts = [x["t"] for x in s]
    assert ts == sorted(ts) and ts[0] < 0.05
    assert mon.peak("open_total") >= 10  # the burst was seen
    assert s[0]["open_total"] == 0 and s[-1]["open_total"] == 0  # it came and went
    assert s[-1]["rss_mb"] == pytest.approx(s[-1]["rss_bytes"] / 2**20)
    times, values = mon.series("open_total")
    assert len(times) == len(values) == len(s)
    assert not mon.running and mon.error is None
    assert "open_total" in mon.summary() and "samples" in repr(mon)


def test_restart_clears_and_stop_is_idempotent(lab: LabServer) -> None:
    mon = Monitor(lab, interval=0.02).start()
    assert mon.running and mon.start() is mon
    time.sleep(0.1)
    mon.stop().stop()
    first = len(mon.samples)
    assert first >= 3
    mon.start()
    time.sleep(0.05)
    mon.stop()
    assert 1 <= len(mon.samples) <= first + 2
    assert Monitor(lab).stop().samples == []  # never started


def test_by_url_and_bounded(lab: LabServer) -> None:
    mon = Monitor(lab.url, interval=0.01, max_samples=5).start()
    time.sleep(0.2)
    mon.stop()
    assert len(mon.samples) == 5
    assert mon.last() is not None and "open_total" in mon.last()


def test_listeners_and_final_call(lab: LabServer) -> None:
    calls: list[bool] = []
    mon = Monitor(lab, interval=0.02)
    mon.add_listener(lambda m: calls.append(m.running))
    mon.add_listener(lambda m: 1 / 0)  # a broken listener does not stop sampling
    mon.start()
    time.sleep(0.1)
    mon.stop()
    assert calls.count(True) >= 3 and calls[-1] is False


def test_stops_by_itself_when_the_server_goes() -> None:
    srv = start_server()
    mon = Monitor(srv, interval=0.02).start()
    time.sleep(0.05)
    srv.stop()
    deadline = time.monotonic() + 2
    while mon.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not mon.running
    assert mon.error and "not running" in mon.error


def test_interval_must_be_sane(lab: LabServer) -> None:
    with pytest.raises(ValueError):
        Monitor(lab, interval=0)


def test_wait_for_stats(lab: LabServer) -> None:
    st = wait_for_stats(lab, lambda s: s["open_total"] == 0)
    assert st["open_total"] == 0 and st["waited_s"] < 1
    t0 = time.perf_counter()
    st = wait_for_stats(lab, lambda s: False, timeout=0.1)
    assert 0.1 <= time.perf_counter() - t0 < 1 and st["waited_s"] >= 0.1
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
