"""The measuring client: timings, reconnection, sync wrappers, interop."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request

import httpx
import pytest
from httpx_sse import connect_sse

from sse_lab.client import (
    HTTPError,
    SSEClient,
    backoff_delay,
    fetch_blocking_sync,
    record,
    record_sync,
)
from sse_lab.metrics import summarize
from sse_lab.model import SimulatedLLM
from sse_lab.server import SSEHandler


def test_recording_timings_are_ordered(server) -> None:
    rec = record_sync(server.url + "/chat?prompt=why%20stream&seed=3&speed=10")
    assert 0 < rec.connect_time <= rec.first_byte_time < rec.token_times[0] <= rec.end_time
    assert rec.token_times == sorted(rec.token_times)
    assert rec.bytes_received > sum(len(t.encode()) for t in rec.tokens)
    assert rec.header_bytes > 50 and rec.requests == 1 and rec.done


def test_metrics_from_a_live_recording(server) -> None:
    speed = 4
    rec = record_sync(server.url + f"/chat?prompt=why%20stream&seed=3&speed={speed}")
    m = summarize(rec)
    plan = SimulatedLLM(speed=speed).plan("why stream", 3)
    assert m.n_tokens == len(plan.tokens)
    assert m.ttft == pytest.approx(plan.ttft, abs=0.05)
    # tokens/s follows the planned cadence (the mean gap of 50-150 ms / speed)
    planned_rate = (len(plan.tokens) - 1) / sum(plan.delays[1:])
    assert m.tokens_per_s == pytest.approx(planned_rate, rel=0.25)


def test_reconnect_sends_last_event_id_and_honours_retry(server) -> None:
    seen: list[str | None] = []

    class Flaky(SSEHandler):
        async def stream(self) -> None:
            seen.append(self.request.headers.get("Last-Event-ID"))
            if len(seen) == 1:
                await self.send("a", id="1", retry=150)
                self.abort()
                return
            await self.send("b", id="2")
            await self.send("[DONE]")

    url = server.add_handler(r"/flaky", Flaky)
    t0 = time.monotonic()
    rec = record_sync(url, reconnect=True)
    assert seen == [None, "1"]
    assert rec.tokens == ["a", "b"] and rec.reconnects == 1
    assert time.monotonic() - t0 >= 0.14  # waited the server's retry: 150


def test_no_reconnect_by_default(server) -> None:
    rec = record_sync(server.url + "/chat?prompt=hello&speed=50&drop_after=3")
    assert len(rec.tokens) == 3 and rec.reconnects == 0 and not rec.done


def test_http_errors_are_not_retried(server) -> None:
    with pytest.raises(HTTPError) as err:
        record_sync(server.url + "/nowhere", reconnect=True)
    assert err.value.status == 404
    with pytest.raises(HTTPError):  # 200 but not an event stream
        record_sync(server.url + "/stats", reconnect=True)


def test_backoff_is_capped_exponential_with_jitter() -> None:
    rng = random.Random(1)
    for attempt in range(10):
        ceiling = min(5.0, 0.25 * 2**attempt)
        delays = [backoff_delay(attempt, rng=rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.5 * ceiling  # jitter spreads over the range


def test_sync_wrapper_works_inside_a_running_loop(server) -> None:
    async def inside() -> str:
        return record_sync(server.url + "/chat?prompt=hello&speed=50").text

    assert asyncio.run(inside()) == SimulatedLLM().answer("hello")


def test_blocking_fetch_gives_one_arrival_at_the_end(server) -> None:
    rec = fetch_blocking_sync(server.url + "/complete?prompt=hello&speed=20")
    assert rec.transport == "blocking" and len(rec.arrivals) == 1
    assert rec.text == SimulatedLLM().answer("hello")
    assert rec.token_times[0] >= SimulatedLLM(speed=20).plan("hello", 0).total * 0.9


def test_prompt_with_spaces_and_chinese_is_encoded(server) -> None:
    rec = record_sync(server.url + "/chat?prompt=你好 世界&speed=50")
    assert rec.text == SimulatedLLM().answer("你好 世界")


def test_closing_the_client_mid_stream(server) -> None:
    async def read_two() -> list[str]:
        client = SSEClient(server.url + "/chat?prompt=why&speed=5")
        out = []
        async for arrival in client:
            out.append(arrival.event.data)
            if len(out) == 2:
                await client.close()
                break
        return out

    assert len(asyncio.run(read_two())) == 2


def test_httpx_sse_sees_the_same_events(server) -> None:
    url = server.url + "/chat?prompt=why%20stream%20tokens&seed=7&speed=20"
    ours = record_sync(url)
    with httpx.Client(timeout=10) as http, connect_sse(http, "GET", url) as source:
        theirs = [(s.event, s.data, s.id) for s in source.iter_sse()]
    assert theirs == [(a.event.event, a.event.data, a.event.id) for a in ours.arrivals]


def test_record_on_event_callback(server) -> None:
    got: list[float] = []
    rec = asyncio.run(
        record(server.url + "/chat?prompt=hello&speed=50", on_event=lambda a: got.append(a.t))
    )
    assert got == [a.t for a in rec.arrivals]


def test_cli_serves_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sse_lab", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline()
        assert "serving on http://127.0.0.1:" in line
        url = line.split("serving on ")[1].split()[0]
        with urllib.request.urlopen(url + "/stats", timeout=5) as r:
            assert r.status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        proc.kill()


def test_byte_count_is_settled_when_record_returns(server) -> None:
    async def run() -> int:
        rec = await record(server.url + "/chat?prompt=hello&speed=50")
        return rec.bytes_received

    assert asyncio.run(run()) > 100


def test_backoff_never_overflows() -> None:
    assert 0 <= backoff_delay(5000, cap=5.0) <= 5.0
