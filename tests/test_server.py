"""The in-kernel Tornado server, over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
import tornado.web
from conftest import wait_until

from sse_lab.client import HTTPError, SSEClient, record, record_sync
from sse_lab.model import SimulatedLLM
from sse_lab.protocol import DONE, parse
from sse_lab.server import ServerConfig, ServerContext, SSEHandler, start_server
from sse_lab.server.routes import ROUTE_FAMILIES, TEACHING_FAMILIES, all_routes


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def raw_get(url_path: str, port: int, headers: str = "", read_for: float = 1.0) -> bytes:
    """A plain-socket GET, reading whatever arrives for ``read_for`` seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {url_path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        sock.settimeout(0.2)
        data = b""
        t_end = time.monotonic() + read_for
        while time.monotonic() < t_end:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            data += chunk
        return data


def test_stream_headers(server) -> None:
    rec = record_sync(server.url + "/chat?prompt=hello&speed=50")
    h = rec.headers
    assert rec.status == 200
    assert h["Content-Type"] == "text/event-stream; charset=utf-8"
    assert h["Cache-Control"] == "no-cache"
    assert h["X-Accel-Buffering"] == "no"
    assert "Access-Control-Allow-Origin" not in h


def test_cors_only_for_configured_origins() -> None:
    cfg = ServerConfig(cors_origins=("http://allowed.example",))
    with start_server(config=cfg) as srv:
        ok = raw_get("/sse?count=0", srv.port, "Origin: http://allowed.example\r\n", 0.5)
        bad = raw_get("/sse?count=0", srv.port, "Origin: http://evil.example\r\n", 0.5)
        # Error answers too (so a page can read why), and every JSON endpoint.
        err = raw_get("/chat?speed=fast", srv.port, "Origin: http://allowed.example\r\n", 0.5)
        stats = raw_get("/stats", srv.port, "Origin: http://allowed.example\r\n", 0.5)
    assert b"Access-Control-Allow-Origin: http://allowed.example" in ok
    assert b"Access-Control-Allow-Origin" not in bad
    assert err.startswith(b"HTTP/1.1 400")
    assert b"Access-Control-Allow-Origin: http://allowed.example" in err
    assert b"speed must be a number" in err
    assert b"Access-Control-Allow-Origin: http://allowed.example" in stats


def test_clock_endpoint_sends_count_times_then_done(server) -> None:
    rec = record_sync(server.url + "/sse?count=3&interval=0.05")
    data = [a.event.data for a in rec.arrivals]
    assert len(data) == 4 and data[-1] == DONE
    assert all(re.fullmatch(r"Current Time is \d\d:\d\d:\d\d", d) for d in data[:3])
    assert [a.event.id for a in rec.arrivals[:3]] == ["0", "1", "2"]
    gaps = [b - a for a, b in zip(rec.token_times, rec.token_times[1:], strict=False)]
    assert all(g > 0.03 for g in gaps)  # paced, not dumped at once


def test_clock_defaults_are_ten_ticks_one_second_apart(server) -> None:
    # Read only the first tick: the default interval is 1 s.
    t0 = time.monotonic()
    rec = record_sync(server.url + "/sse", max_events=1)
    assert rec.tokens[0].startswith("Current Time is")
    assert time.monotonic() - t0 >= 0.9


def test_chat_streams_the_models_tokens_with_ids(server) -> None:
    prompt, seed = "why stream tokens?", 4
    rec = record_sync(server.url + f"/chat?prompt={prompt}&seed={seed}&speed=20")
    expected = SimulatedLLM().tokens(prompt, seed)
    assert rec.tokens == expected
    # id: <answer-id>:<k>, the answer's id then the token's offset in its log
    answer = rec.token_arrivals[0].event.id.split(":")[0]
    assert [a.event.id for a in rec.token_arrivals] == [
        f"{answer}:{i}" for i in range(len(expected))
    ]
    assert rec.arrivals[-1].event.data == DONE


def test_chat_is_paced_like_a_model(server) -> None:
    rec = record_sync(server.url + "/chat?prompt=why%20stream&seed=1&speed=4")
    plan = SimulatedLLM(speed=4).plan("why stream", 1)
    assert rec.token_times[0] >= plan.ttft * 0.9
    assert rec.end_time >= plan.total * 0.9
    assert rec.first_byte_time < rec.token_times[0]  # headers + retry block come first


def test_last_event_id_resumes_with_the_next_token(server) -> None:
    url = server.url + "/chat?prompt=why%20stream&seed=2&speed=50"
    full = record_sync(url)
    resumed = record_sync(url, headers={"Last-Event-ID": "9"})
    assert resumed.tokens == full.tokens[10:]
    assert resumed.token_arrivals[0].event.id.endswith(":10")
    also = record_sync(url + "&lastEventId=9")
    assert also.tokens == full.tokens[10:]


@pytest.mark.parametrize("drop_after", [1, 7, 20])
def test_dropped_connection_resumes_with_identical_text(server, drop_after: int) -> None:
    url = server.url + f"/chat?prompt=why%20stream&seed=5&speed=50&drop_after={drop_after}"
    rec = record_sync(url, reconnect=True)
    expected = SimulatedLLM().tokens("why stream", 5)
    assert rec.reconnects == 1 and rec.requests == 2
    assert rec.tokens == expected  # no duplicate, no gap
    ids = [a.event.id for a in rec.token_arrivals]
    assert len(ids) == len(set(ids))


def test_client_leaving_mid_answer_stops_generation(server) -> None:
    url = server.url + "/chat?prompt=why%20stream&seed=0&speed=1"
    rec = record_sync(url, max_events=3)
    assert len(rec.arrivals) == 3
    took = wait_until(
        lambda: server.stats()["generation_tasks"] == 0 and server.stats()["open_total"] == 0
    )
    assert took < 1.0
    assert "/chat" not in server.stats()["open_connections"]


def test_many_connect_disconnect_cycles_leak_nothing(server) -> None:
    def loop_tasks() -> int:
        return len(asyncio.all_tasks(server.loop))

    baseline = server.call(loop_tasks)

    async def cycles(n: int) -> None:
        for i in range(n):
            await record(server.url + f"/chat?prompt=why&seed={i}&speed=100", max_events=1)

    asyncio.run(cycles(500))
    wait_until(
        lambda: server.stats()["open_total"] == 0 and server.stats()["generation_tasks"] == 0
    )
    wait_until(lambda: server.call(loop_tasks) <= baseline)
    stats = server.stats()
    assert stats["open_connections"] == {}


def test_stats_endpoint_reports_the_counters(server) -> None:
    before = get_json(server.url + "/stats")
    record_sync(server.url + "/chat?prompt=hello&speed=50")
    after = get_json(server.url + "/stats")
    for key in ("open_connections", "connections_served", "events_sent",
                "generation_tasks", "rss_bytes"):
        assert key in after
    assert after["connections_served"] >= before["connections_served"] + 1
    pieces = len(SimulatedLLM().tokens("hello"))  # 15 whole-character pieces
    assert after["events_sent"] - before["events_sent"] >= pieces + 1  # + [DONE]
    assert after["rss_bytes"] > 1_000_000


def test_open_connections_are_counted_per_endpoint(server) -> None:
    async def hold() -> dict:
        client = SSEClient(server.url + "/sse?count=50&interval=0.1")
        it = client.__aiter__()
        await it.__anext__()
        stats = server.stats()
        await client.close()
        await it.aclose()
        return stats

    stats = asyncio.run(hold())
    assert stats["open_connections"].get("/sse") == 1


def test_start_server_twice_on_one_port_returns_the_running_server(server) -> None:
    again = start_server(server.port)
    assert again is server


def test_bind_error_is_raised_in_the_caller() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            start_server(taken.getsockname()[1])


def test_blocking_urllib_from_the_thread_that_started_the_server() -> None:
    srv = start_server()
    try:
        with urllib.request.urlopen(srv.url + "/chat?prompt=hello&speed=50", timeout=5) as r:
            body = r.read()
        events = parse(body)
        assert "".join(e.data for e in events[:-1]) == SimulatedLLM().answer("hello")
    finally:
        srv.stop()


def test_stop_is_prompt_with_clients_connected_and_port_reusable() -> None:
    srv = start_server()
    port = srv.port
    got_eof = threading.Event()

    def reader() -> None:
        record_sync(srv.url + "/sse?count=100&interval=0.1", timeout=5)
        got_eof.set()

    threads = [threading.Thread(target=reader) for _ in range(5)]
    for t in threads:
        t.start()
    wait_until(lambda: srv.stats()["open_total"] == 5)
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < 3.0
    assert got_eof.wait(3)
    assert not srv.running
    again = start_server(port)  # the same port is free again at once
    assert again is not srv and again.port == port
    again.stop()


def test_heartbeat_comments_keep_an_idle_stream_alive() -> None:
    with start_server(config=ServerConfig(heartbeat=0.1)) as srv:
        data = raw_get("/sse?count=1&interval=0.6", srv.port, read_for=0.9)
        assert data.count(b": heartbeat") >= 2
        assert srv.stats()["heartbeats_sent"] >= 2


def test_stalled_reader_is_dropped_after_send_timeout() -> None:
    # A faster trickle than the default /sse floor and a capped send buffer: the buffers
    # fill in about a second, not most of the deadline.
    config = ServerConfig(send_timeout=0.3, sse_min_interval=0.0002, stream_sndbuf=32 * 1024)
    with start_server(config=config) as srv:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Before connect(), so the receive window is small from the handshake on and the
        # buffers fill in a moment rather than seconds.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", srv.port))
        sock.sendall(b"GET /sse?count=1000000&interval=0 HTTP/1.1\r\nHost: x\r\n\r\n")
        # Never read: the kernel buffers fill, flush() stops completing.
        wait_until(lambda: srv.stats()["dropped_stalled"] == 1, timeout=30)
        wait_until(lambda: srv.stats()["open_total"] == 0)
        rss = srv.stats()["rss_bytes"]
        sock.close()
    assert rss < 500 * 2**20


def test_bad_arguments_get_400(server) -> None:
    with pytest.raises(HTTPError) as err:
        record_sync(server.url + "/chat?speed=fast")
    assert err.value.status == 400
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(server.url + "/sse?count=x", timeout=5)


def test_chat_page_is_safe(server) -> None:
    with urllib.request.urlopen(server.url + "/", timeout=5) as r:
        page = r.read().decode()
        assert r.headers["Content-Type"].startswith("text/html")
    assert "new EventSource(" in page
    assert ".textContent = event.data" in page
    assert "innerHTML =" not in page and "innerHTML+=" not in page
    assert '"[DONE]"' in page and "source.close()" in page
    assert "Math.random()" in page and "MAX_DELAY_MS" in page  # capped, jittered backoff
    assert "new EventSource('/" not in page  # relative URLs work behind a proxy


def test_complete_endpoint_is_the_blocking_style(server) -> None:
    t0 = time.monotonic()
    body = get_json(server.url + "/complete?prompt=hello&speed=10")
    took = time.monotonic() - t0
    assert body["text"] == SimulatedLLM().answer("hello")
    assert took >= SimulatedLLM(speed=10).plan("hello", 0).total * 0.9


def test_learner_handler_can_be_added_to_the_running_server(server) -> None:
    class Countdown(SSEHandler):
        async def stream(self) -> None:
            for n in range(3, 0, -1):
                await self.send(str(n), id=str(n))
            await self.send(DONE)

    url = server.add_handler(r"/countdown", Countdown)
    rec = record_sync(url)
    assert rec.tokens == ["3", "2", "1"]
    assert rec.headers["Content-Type"].startswith("text/event-stream")


def test_lifetime_limit_ends_the_stream_and_the_client_resumes() -> None:
    with start_server(config=ServerConfig(max_lifetime=0.3, retry_ms=50)) as srv:
        url = srv.url + "/chat?prompt=why%20stream&seed=1&speed=5"
        rec = record_sync(url, reconnect=True)
        assert rec.reconnects >= 1
        assert rec.tokens == SimulatedLLM().tokens("why stream", 1)
        assert srv.stats()["lifetime_closed"] >= 1


def test_adding_a_pattern_again_replaces_the_handler(server) -> None:
    class First(SSEHandler):
        async def stream(self) -> None:
            await self.send("first")
            await self.send(DONE)

    class Second(SSEHandler):
        async def stream(self) -> None:
            await self.send("second")
            await self.send(DONE)

    server.add_handler(r"/again", First)
    assert record_sync(server.url + "/again").tokens == ["first"]
    server.add_handler(r"/again", Second)
    assert record_sync(server.url + "/again").tokens == ["second"]
    assert record_sync(server.url + "/chat?prompt=hello&speed=50").done  # others untouched
    assert server.handlers_for("/again") == [Second.__qualname__]


def test_added_handlers_get_the_context_when_they_ask_for_it(server) -> None:
    class Seen(tornado.web.RequestHandler):
        def initialize(self, context: ServerContext) -> None:
            self.context = context

        def get(self) -> None:
            self.finish({"same": self.context is server.context})

    class Plain(tornado.web.RequestHandler):
        def get(self) -> None:
            self.finish({"plain": True})

    assert get_json(server.add_handler(r"/seen", Seen)) == {"same": True}
    assert get_json(server.add_handler(r"/plain", Plain)) == {"plain": True}


@pytest.mark.parametrize(
    "query, name",
    [("seed=%D9%A3", "seed"), ("seed=1_000", "seed"), ("seed=+", "seed"),
     ("speed=inf", "speed"), ("speed=nan", "speed"), ("speed=1e999", "speed"),
     ("speed=0", "speed"), ("cadence=jumpy", "cadence")],
)
def test_bad_arguments_name_the_parameter(server, query: str, name: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server.url + "/chat?" + query, timeout=5)
    assert err.value.code == 400
    assert name in err.value.read().decode()


def test_route_families_are_one_list_and_teaching_routes_only_when_asked() -> None:
    plain = [rule[0] for rule in all_routes(ServerContext(ServerConfig()))]
    teaching = [rule[0] for rule in all_routes(ServerContext(ServerConfig(teaching_routes=True)))]
    assert {"/", "/chat", "/events", "/ws", "/v1/chat/completions"} <= set(plain)
    assert "/chat-noflush" not in plain and "/chat-gzip" not in plain
    assert set(teaching) - set(plain) == {"/chat-noflush", "/chat-gzip"}
    assert TEACHING_FAMILIES and not set(TEACHING_FAMILIES) & set(ROUTE_FAMILIES)
    # Every route hands its handler the context through initialize, and only that.
    for rule in all_routes(ServerContext(ServerConfig(teaching_routes=True))):
        assert len(rule) == 3 and set(rule[2]) == {"context"}, rule


def _cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sse_lab", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "serving on http://127.0.0.1:" in line, line
    return proc, line.split("serving on ")[1].split()[0]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_cli_mounts_teaching_routes_only_with_the_flag() -> None:
    for flag, expected in (((), 404), (("--teaching-routes",), 200)):
        proc, url = _cli(*flag)
        try:
            assert _status(url + "/chat-noflush?prompt=hi&speed=100") == expected, flag
            assert _status(url + "/chat?prompt=hi&speed=100") == 200
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
        finally:
            proc.kill()
            proc.wait(10)
