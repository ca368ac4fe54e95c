"""Load and failure tools: concurrent clients, a firehose, frozen readers, storms."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from matplotlib.figure import Figure

from sse_lab.client import backoff_delay
from sse_lab.lab import plots
from sse_lab.lab.loadtest import (
    FirehoseHandler,
    FrozenReader,
    LoadResult,
    load_test,
    read_raw,
    simulate_reconnects,
    source_delay,
    with_query,
)
from sse_lab.lab.monitor import wait_for_stats
from sse_lab.metrics import peak_per_window, spread
from sse_lab.model import SimulatedLLM
from sse_lab.server import LabServer, ServerConfig, process_rss, start_server


@pytest.fixture(scope="module")
def lab() -> Iterator[LabServer]:
    srv = start_server()
    yield srv
    srv.stop()


def test_with_query() -> None:
    url = with_query("http://h:1/chat?prompt=a%20b&seed=1", seed=7, speed=2)
    q = parse_qs(urlsplit(url).query)
    assert q == {"prompt": ["a b"], "seed": ["7"], "speed": ["2"]}


def test_load_test_many_clients(lab: LabServer) -> None:
    t0 = time.perf_counter()
    res = asyncio.run(
        load_test(f"{lab.url}/chat?prompt=你好&speed=8", 120, ramp=0.2, keep_recordings=True)
    )
    wall = time.perf_counter() - t0
    assert isinstance(res, LoadResult) and res.clients == 120
    assert res.ok == 120 and res.errors == []
    assert wall < 10
    assert len(res.ttfts) == 120 and all(t > 0 for t in res.ttfts)
    assert res.peak_open >= 20
    answer = SimulatedLLM().tokens("你好", 0)
    assert res.tokens == 120 * len(answer)
    seeds = {parse_qs(urlsplit(r.url).query)["seed"][0] for r in res.results}
    assert len(seeds) == 120  # each client its own seed
    starts = [r.start for r in res.results]
    assert max(starts) >= 0.1  # the ramp spread the starts
    for r in res.results:
        assert r.recording is not None and r.recording.done
        assert r.end is not None and r.first_token_at is not None and r.end >= r.first_token_at
    assert res.samples and res.samples[-1]["open_total"] == 0
    assert res.ttft_percentile(50) <= res.ttft_percentile(99)
    text = res.summary()
    assert "120 clients" in text and "TTFT" in text and "p99" in text and str(res) == text
    fig = plots.load_chart(res)
    assert isinstance(fig, Figure)
    assert {line.get_gid() for line in fig.axes[1].get_lines()} >= {"p50", "p90", "p99"}


def test_load_test_from_a_server_object(lab: LabServer) -> None:
    res = asyncio.run(load_test(lab, 5))
    assert res.ok == 5 and "/chat?" in res.url and "speed=20" in res.url


def test_load_test_counts_failures_without_raising(lab: LabServer) -> None:
    res = asyncio.run(load_test(f"{lab.url}/nope", 3))
    assert res.ok == 0 and len(res.errors) == 3 and "404" in res.errors[0]
    slow = asyncio.run(load_test(f"{lab.url}/sse?count=50&interval=1", 2, timeout=0.3))
    assert slow.ok == 0 and all("Timeout" in e for e in slow.errors)
    fig = plots.load_chart(res)  # a chart of failures still draws
    assert isinstance(fig, Figure)
    with pytest.raises(ValueError):
        asyncio.run(load_test(lab, 0))


def test_firehose_and_a_frozen_reader_is_dropped_memory_flat() -> None:
    srv = start_server(config=ServerConfig(send_timeout=0.4))
    try:
        url = srv.add_handler(r"/firehose", FirehoseHandler)
        fast = asyncio.run(read_raw(url + "?size=1000&count=50", 2.0))
        assert fast.count(b"data: ") == 50
        rss0 = process_rss()
        with FrozenReader(url + "?size=65536", rcvbuf=4096) as frozen:
            assert frozen.rcvbuf <= 65536
            st = wait_for_stats(srv, lambda s: s["dropped_stalled"] >= 1, timeout=5)
        assert st["dropped_stalled"] == 1 and st["open_total"] == 0
        assert st["generation_tasks"] == 0
        assert process_rss() - rss0 < 20 * 2**20  # bounded by the flush, not by the data
    finally:
        srv.stop()


def test_frozen_subscriber_is_dropped_by_the_hub() -> None:
    srv = start_server(config=ServerConfig(subscriber_queue=128 * 1024))
    try:
        with FrozenReader(srv.url + "/events"):
            wait_for_stats(srv, lambda s: s["subscribers"] == 1)
            big = "z" * 32768
            for _ in range(400):
                srv.broadcast(big)
            st = srv.stats()
        assert st["subscribers_dropped"] == 1 and st["subscribers"] == 0
    finally:
        srv.stop()


def test_read_raw_sees_heartbeats_and_the_lifetime_hint() -> None:
    srv = start_server(config=ServerConfig(heartbeat=0.1))
    short = start_server(config=ServerConfig(max_lifetime=0.3, retry_ms=50))
    try:
        raw = asyncio.run(read_raw(srv.url + "/events", 0.45))
        assert raw.startswith(b": stream open\n\n") and raw.count(b": heartbeat\n\n") >= 2
        raw = asyncio.run(read_raw(short.url + "/chat?prompt=hi&speed=1", 2.0))
        assert raw.endswith(b": lifetime limit: reconnect\nretry: 50\n\n")
    finally:
        srv.stop()
        short.stop()


def test_source_policy_is_a_herd_and_jitter_spreads_it() -> None:
    assert [source_delay(k) for k in range(5)] == [0, 1, 2, 3, 4]
    herd = simulate_reconnects(300, source_delay, down_for=3.0)
    assert all(c == [0.0, 1.0, 3.0] for c in herd)  # every client, the same instants
    assert peak_per_window([t for c in herd for t in c], 0.1) == 300
    jitter = simulate_reconnects(300, lambda k, rng: backoff_delay(k, rng=rng), down_for=3.0)
    flat = [t for c in jitter for t in c]
    assert peak_per_window(flat, 0.1) < 0.7 * 300
    assert spread([c[-1] for c in jitter]) > 0.3
    assert all(c[-1] >= 3.0 or len(c) == 5 for c in jitter)
    # deterministic per seed; a one-argument policy works too
    assert jitter == simulate_reconnects(
        300, lambda k, rng: backoff_delay(k, rng=rng), down_for=3.0
    )
    one_arg = simulate_reconnects(3, lambda k: random.uniform(0, 1), max_attempts=2, down_for=9)
    assert all(len(c) == 2 for c in one_arg)
    assert spread([1.0]) == 0.0
    fig = plots.reconnect_storm({"source": herd, "jitter": jitter}, down_for=3.0)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert "up to 300 of 300" in fig.axes[0].get_title(loc="left")
    with pytest.raises(ValueError):
        plots.reconnect_storm({})
