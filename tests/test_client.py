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
    Connection,
    HTTPError,
    SSEClient,
    backoff_delay,
    fetch_blocking_sync,
    open_request,
    record,
    record_sync,
    run_sync,
)
from sse_lab.http1 import ProtocolError
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
    # Each request is its own answer: compare ids without the answer-id prefix.
    def offset(event_id):
        return event_id and event_id.rsplit(":", 1)[-1]

    assert [(e, d, offset(i)) for e, d, i in theirs] == [
        (a.event.event, a.event.data, offset(a.event.id)) for a in ours.arrivals
    ]


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


# -- the connection under every measuring client (sse_lab.client.connection) ------------


class RawServer:
    """A real TCP server that answers each request with scripted byte pieces."""

    def __init__(self, answers: list[list[bytes]], close_after: bool = False) -> None:
        self.answers = answers
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                for piece in self.answers.pop(0):
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.01)  # separate socket reads, as on a network
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def with_raw_server(raw: RawServer, body) -> object:
    srv = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        return await body(f"http://127.0.0.1:{port}")
    finally:
        srv.close()
        await srv.wait_closed()


CHUNKED = [
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Enc",
    b"oding: chunked\r\n\r\n",
    b"d;ext=1\r\ndata: hello\n\n\r\n",
    b"e\r\ndata: wor",
    b"ld!\n\n\r\n0\r\nX-Trailer: t\r\n\r\n",
]


def test_response_counts_every_byte_of_a_chunked_answer() -> None:
    raw = RawServer([CHUNKED])

    async def go(url: str) -> tuple:
        resp = await open_request(url + "/s", headers={"Accept": "text/event-stream"})
        await resp.read_head()
        pieces = []
        while (piece := await resp.read_some()) is not None:
            pieces.append(piece)
        resp.close()
        return resp, pieces

    resp, pieces = asyncio.run(with_raw_server(raw, go))
    wire = b"".join(CHUNKED)
    assert b"".join(pieces) == b"data: hello\n\ndata: world!\n\n"
    assert len(pieces) >= 2  # handed on as they arrived, not at the end
    assert resp.header_bytes == wire.index(b"\r\n\r\n") + 4
    assert resp.header_bytes + resp.wire_bytes == len(wire)
    assert resp.payload_bytes == 27 and resp.framing_bytes == resp.wire_bytes - 27
    assert resp.complete and not resp.truncated
    assert raw.requests[0].startswith(b"GET /s HTTP/1.1\r\nHost: 127.0.0.1:")
    assert resp.request_bytes == len(raw.requests[0])


def test_a_stream_cut_off_mid_chunk_ends_marked_truncated() -> None:
    raw = RawServer([CHUNKED[:3] + [b"ff\r\npartial"]], close_after=True)

    async def go(url: str):
        resp = await open_request(url)
        await resp.read_head()
        body = await resp.read_all()
        return resp, body

    resp, body = asyncio.run(with_raw_server(raw, go))
    assert body == b"data: hello\n\npartial" and resp.truncated and not resp.complete


def test_connection_keeps_alive_and_reopens_when_the_server_closed() -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye"
    raw = RawServer([[ok], [chunked[:30], chunked[30:]], [closing], [ok]])

    async def go(url: str):
        conn = Connection(url)
        bodies = [(await conn.get(f"/{i}", timeout=5)).body for i in range(4)]
        conn.close()
        return conn, bodies

    conn, bodies = asyncio.run(with_raw_server(raw, go))
    assert bodies == [b"ok", b"abc", b"bye", b"ok"]
    assert conn.connections == raw.connections == 2  # the third answer said "close"
    assert conn.bytes_sent == sum(len(r) for r in raw.requests)


def test_request_heads_refuse_injected_lines(server) -> None:
    with pytest.raises(ProtocolError):
        run_sync(lambda: open_request(server.url + "/chat", headers={"X": "1\r\nEvil: 2"}))
    with pytest.raises(ProtocolError):
        run_sync(lambda: open_request("ftp://example.org/"))
