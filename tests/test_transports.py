"""WebSocket, short polling and long polling against SSE, over real sockets."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import tornado.websocket
from conftest import wait_until

from sse_lab.client import HTTPError, record_sync, run_sync
from sse_lab.client.transports import (
    compare_transports_sync,
    comparison_rows,
    record_longpoll,
    record_poll,
    record_websocket,
)
from sse_lab.client.websocket import WebSocket
from sse_lab.model import SimulatedLLM
from sse_lab.protocol import DONE
from sse_lab.recording import Recording, WireRecording, bytes_per_token, total_bytes_received
from sse_lab.server import start_server
from sse_lab.server.sessions import configure_sessions, session_count

SPEED = 10.0
# An English answer of ~60 word pieces and a Chinese one (multi-byte UTF-8).
PROMPTS = [("why stream", 0), ("hello", 1)]
TRANSPORTS = ["sse", "websocket", "poll", "longpoll"]


def expected_tokens(prompt: str, seed: int) -> list[str]:
    return SimulatedLLM().tokens(prompt, seed)


@pytest.fixture(scope="module")
def compared(server) -> dict[tuple[str, int], dict[str, Recording]]:
    return {
        (prompt, seed): compare_transports_sync(
            server.url, prompt=prompt, seed=seed, speed=SPEED, poll_interval=0.1
        )
        for prompt, seed in PROMPTS
    }


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def query(**params: object) -> str:
    return urllib.parse.urlencode(params)


# -- same answer, four ways -----------------------------------------------------------


@pytest.mark.parametrize("prompt,seed", PROMPTS)
def test_every_transport_delivers_the_same_answer(compared, prompt: str, seed: int) -> None:
    recs = compared[(prompt, seed)]
    tokens = expected_tokens(prompt, seed)
    assert list(recs) == TRANSPORTS
    for name, rec in recs.items():
        assert rec.transport == name
        assert rec.tokens == tokens, name
        assert rec.text == "".join(tokens)
        # SSE ids are <answer-id>:<k> (an answer's log); the others send k.
        offsets = [a.event.id.rsplit(":", 1)[-1] for a in rec.token_arrivals]
        assert offsets == [str(i) for i in range(len(tokens))]
        assert rec.done and rec.arrivals[-1].event.data == DONE and rec.error is None, name
        assert isinstance(rec, WireRecording)


@pytest.mark.parametrize("prompt,seed", PROMPTS)
def test_arrivals_are_timed_from_the_request(compared, prompt: str, seed: int) -> None:
    emit = SimulatedLLM(speed=SPEED).plan(prompt, seed).emit_times()
    for name, rec in compared[(prompt, seed)].items():
        times = rec.token_times
        assert times == sorted(times), name
        assert rec.connect_time is not None and rec.end_time is not None
        assert 0 < rec.connect_time <= times[0] <= times[-1] <= rec.end_time, name
        # A token cannot be received before the model emitted it.
        assert all(r >= e for e, r in zip(emit, times, strict=True)), name


def test_request_counts(compared) -> None:
    for prompt, seed in PROMPTS:
        recs = compared[(prompt, seed)]
        n = len(expected_tokens(prompt, seed))
        assert recs["sse"].requests == 1
        assert recs["websocket"].requests == 1
        # Every poll or long poll that brought tokens delivered them at one
        # instant; a busy machine makes fewer, fuller answers, never fewer
        # requests than answers that carried tokens.
        for name in ("poll", "longpoll"):
            answers = len(set(recs[name].token_times))
            assert 1 <= answers <= recs[name].requests <= n + 2, (name, answers, recs[name])
        # A long poll returns as soon as there is news: one request per batch
        # of tokens (plus the one that learns the answer is done).
        longpoll = recs["longpoll"]
        assert longpoll.requests - len(set(longpoll.token_times)) <= 2, longpoll
    long_answer = compared[PROMPTS[0]]
    # Polling every 100 ms over an answer that takes most of a second.
    assert long_answer["poll"].requests >= 2
    assert long_answer["longpoll"].requests >= len(set(long_answer["poll"].token_times))


def test_bytes_per_token_orders_the_transports(compared) -> None:
    for key, recs in compared.items():
        bpt = {name: bytes_per_token(rec) for name, rec in recs.items()}
        # Every poll pays a full HTTP response head; one stream pays one. (How
        # much more depends on how many polls the answer took, which a busy
        # machine lowers: the margin is derived from the count.)
        margin = 1 + 0.05 * (recs["poll"].requests - 1)
        assert bpt["poll"] > min(margin, 1.2) * bpt["sse"], (key, bpt)
        assert bpt["poll"] > min(margin, 1.2) * bpt["websocket"], (key, bpt)
        assert bpt["longpoll"] > 2 * bpt["sse"], (key, bpt)
        assert bpt["longpoll"] > 2 * bpt["websocket"], (key, bpt)
        # SSE and WebSocket framing cost about the same (no ordering asserted:
        # chunked framing vs frame header + JSON keys is a near tie).
        assert 0.5 < bpt["websocket"] / bpt["sse"] < 2, (key, bpt)
        for name, rec in recs.items():
            assert bpt[name] > sum(len(t.encode()) for t in rec.tokens) / len(rec.tokens)


def test_byte_counts_cover_heads_and_framing(compared) -> None:
    recs = compared[PROMPTS[0]]
    sse, ws, poll = recs["sse"], recs["websocket"], recs["poll"]
    assert isinstance(ws, WireRecording) and isinstance(poll, WireRecording)
    # SSE: the client's head count is folded into the total.
    assert sse.bytes_received > sse.header_bytes > 50
    # WebSocket: the 101 head plus, per message, a 2-byte frame header and the
    # JSON payload, plus the server's close frame.
    frames = (
        sum(
            2
            + len(
                json.dumps(
                    {"id": i, "token": t}, ensure_ascii=False, separators=(",", ":")
                ).encode()
            )
            for i, t in enumerate(ws.tokens)
        )
        + 2
        + len(b'{"done":true}')
    )
    head = ws.extra["upgrade_response_bytes"]
    assert ws.header_bytes == head > 100
    assert ws.status == 101 and ws.headers["Upgrade"].lower() == "websocket"
    assert frames + head < ws.bytes_received <= frames + head + 64
    assert ws.extra["messages"] == len(ws.tokens) + 1
    assert ws.bytes_sent is not None and ws.bytes_sent > ws.extra["upgrade_request_bytes"] > 100
    # Polling: every response head counts, and every request head was sent.
    assert poll.header_bytes >= 100 * poll.requests
    assert poll.bytes_received > poll.header_bytes
    assert poll.bytes_sent is not None and poll.bytes_sent >= 60 * poll.requests
    assert poll.extra["connections"] == 1  # one kept-alive connection


def test_bytes_per_token_of_a_plain_sse_recording(server) -> None:
    rec = record_sync(server.url + "/chat?prompt=hello&speed=50")
    assert total_bytes_received(rec) == rec.bytes_received + rec.header_bytes
    assert bytes_per_token(rec) == pytest.approx(total_bytes_received(rec) / len(rec.tokens))
    assert math.isnan(bytes_per_token(Recording(url="x")))


def test_comparison_rows(compared) -> None:
    rows = comparison_rows(compared[PROMPTS[0]])
    assert list(rows) == TRANSPORTS
    assert rows["poll"]["requests"] > rows["sse"]["requests"] == 1
    assert rows["sse"]["bytes_sent"] is None and rows["websocket"]["bytes_sent"] > 0
    assert all(r["tokens"] == rows["sse"]["tokens"] for r in rows.values())


# -- WebSocket --------------------------------------------------------------------------


def test_leaving_a_websocket_mid_answer_stops_generation(server) -> None:
    wait_until(lambda: server.stats()["generation_tasks"] == 0)
    # At speed 2 this answer takes over 3 s; the task must go much sooner.
    rec = run_sync(lambda: record_websocket(server.url, prompt="why stream", speed=2, drop_after=3))
    assert len(rec.tokens) == 3 and not rec.done
    wait_until(lambda: server.stats()["generation_tasks"] == 0, timeout=1.0)
    wait_until(lambda: server.stats()["open_connections"].get("/ws", 0) == 0, timeout=1.0)


def test_websocket_resumes_after_an_index(server) -> None:
    tokens = expected_tokens("why stream", 0)
    rec = run_sync(
        lambda: record_websocket(server.url + "/ws", prompt="why stream", speed=20, after=9)
    )
    assert rec.tokens == tokens[10:] and rec.done
    assert rec.token_arrivals[0].event.id == "10"


def test_websocket_protocol_errors_stop_and_reuse(server) -> None:
    ws_url = server.url.replace("http://", "ws://") + "/ws"

    async def scenario() -> list[dict]:
        conn = await tornado.websocket.websocket_connect(ws_url)
        got: list[dict] = []

        async def read() -> dict:
            msg = await asyncio.wait_for(conn.read_message(), 5)
            assert msg is not None
            got.append(json.loads(msg))
            return got[-1]

        await conn.write_message("not json")
        assert "error" in await read()
        await conn.write_message(json.dumps({"prompt": "hi", "speed": -1}))
        assert "error" in await read()
        # A slow answer, stopped after its first token: the socket stays open.
        await conn.write_message(json.dumps({"prompt": "why stream", "speed": 1}))
        assert (await read())["id"] == 0
        await conn.write_message(json.dumps({"stop": True}))
        while "stopped" not in await read():
            pass
        await asyncio.to_thread(wait_until, lambda: server.stats()["generation_tasks"] == 0, 1.0)
        # The same socket answers the next question to the end.
        mark = len(got)
        await conn.write_message(json.dumps({"prompt": "hello", "seed": 1, "speed": 20}))
        while "done" not in await read():
            pass
        conn.close()
        return got[mark:]

    answer = run_sync(scenario)
    assert [m["token"] for m in answer[:-1]] == expected_tokens("hello", 1)


def test_websocket_query_arguments_start_at_once(server) -> None:
    ws_url = server.url.replace("http://", "ws://") + "/ws?" + query(prompt="hello", speed=20)

    async def read_all() -> list[dict]:
        conn = await tornado.websocket.websocket_connect(ws_url)
        out = []
        while True:
            msg = await asyncio.wait_for(conn.read_message(), 5)
            out.append(json.loads(msg))
            if out[-1].get("done"):
                conn.close()
                return out

    msgs = run_sync(read_all)
    assert "".join(m["token"] for m in msgs[:-1]) == "".join(expected_tokens("hello", 0))


def test_websocket_counts_in_stats(server) -> None:
    before = server.stats()
    run_sync(lambda: record_websocket(server.url, prompt="hello", speed=50))
    after = server.stats()
    assert after["connections_served"] >= before["connections_served"] + 1
    n = len(expected_tokens("hello", 0))
    assert after["events_sent"] >= before["events_sent"] + n + 1


# -- polling ----------------------------------------------------------------------------


def test_poll_answers_at_once_with_the_new_tokens(server) -> None:
    base = server.url + "/poll?" + query(prompt="hello", seed=0, speed=20, sid="t-poll")
    first = get_json(base + "&after=-1")
    assert set(first) >= {"tokens", "done"}
    tokens = expected_tokens("hello", 0)
    wait_until(lambda: get_json(base + "&after=-1")["done"], timeout=3)
    whole = get_json(base + "&after=-1")
    assert [t["token"] for t in whole["tokens"]] == tokens
    tail = get_json(base + "&after=4")
    assert [t["id"] for t in tail["tokens"]] == list(range(5, len(tokens)))


def test_poll_rejects_bad_arguments(server) -> None:
    for bad in ("speed=0", "after=-5", "seed=x", "cadence=wobbly"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server.url + "/poll?prompt=hi&" + bad, timeout=5)
        assert err.value.code == 400
        err.value.close()


def test_longpoll_waits_for_news_then_times_out() -> None:
    with start_server() as srv:
        # TTFT of 2.5 s at speed 0.1: nothing to say for a while.
        slow = srv.url + "/longpoll?" + query(prompt="hello", speed=0.1, sid="slow")
        t0 = time.monotonic()
        empty = get_json(slow + "&after=-1&timeout=0.3")
        waited = time.monotonic() - t0
        assert empty == {"tokens": [], "done": False}
        assert 0.25 <= waited < 2.0
        fast = srv.url + "/longpoll?" + query(prompt="hello", speed=20, sid="fast")
        first = get_json(fast + "&after=-1")
        assert first["tokens"] and first["tokens"][0]["id"] == 0
        srv_stats = srv.stats()
        assert srv_stats["connections_served"] >= 2


def test_leaving_a_long_poll_stops_the_wait() -> None:
    with start_server() as srv:
        target = "/longpoll?" + query(prompt="hello", speed=0.1, sid="gone") + "&after=-1"
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
            sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            wait_until(lambda: srv.stats()["open_connections"].get("/longpoll", 0) == 1)
        wait_until(lambda: srv.stats()["open_connections"].get("/longpoll", 0) == 0, 1.0)


def test_poll_sessions_expire_and_leave_no_tasks() -> None:
    with start_server() as srv:
        settings = configure_sessions(srv, ttl=0.3, max_sessions=3)
        assert settings["ttl"] == 0.3 and settings["sessions"] == 0
        # Slow answers (minutes at speed 0.05): only expiry can end them.
        for sid in ("a", "b"):
            get_json(srv.url + "/poll?" + query(prompt="why stream", speed=0.05, sid=sid))
        assert session_count(srv) == 2
        assert srv.stats()["generation_tasks"] == 2
        wait_until(lambda: session_count(srv) == 0, timeout=2.0)
        wait_until(lambda: srv.stats()["generation_tasks"] == 0, timeout=1.0)
        assert configure_sessions(srv)["expired"] == 2

        # The bound: the least recently polled session makes room.
        configure_sessions(srv, ttl=30)
        for sid in ("c", "d", "e", "f"):
            get_json(srv.url + "/poll?" + query(prompt="why stream", speed=0.05, sid=sid))
        assert session_count(srv) == 3
        assert srv.stats()["generation_tasks"] == 3
        assert configure_sessions(srv)["evicted"] == 1
        configure_sessions(srv, max_sessions=1)
        assert session_count(srv) == 1
        wait_until(lambda: srv.stats()["generation_tasks"] == 1)


def test_an_expired_session_resumes_after_the_last_token() -> None:
    tokens = expected_tokens("hello", 0)
    with start_server() as srv:
        configure_sessions(srv, ttl=0.2)
        # A new session for a client that already has tokens 0..5 starts at 6.
        url = srv.url + "/poll?" + query(prompt="hello", speed=50, sid="r") + "&after=5"
        wait_until(lambda: get_json(url)["done"], timeout=3)
        assert [t["id"] for t in get_json(url)["tokens"]] == list(range(6, len(tokens)))


def test_poll_clients_record_by_themselves(server) -> None:
    tokens = expected_tokens("why stream", 2)
    poll = run_sync(
        lambda: record_poll(server.url, prompt="why stream", seed=2, speed=20, interval=0.05)
    )
    longpoll = run_sync(lambda: record_longpoll(server.url, prompt="why stream", seed=2, speed=20))
    for rec in (poll, longpoll):
        assert rec.tokens == tokens and rec.done
    # Tokens arrive in batches, one per poll.
    assert len(set(poll.token_times)) <= poll.requests
    assert poll.extra["empty_responses"] >= 0


# -- the client's own WebSocket (sse_lab.client.websocket) -----------------------------


class PingThenClose(tornado.websocket.WebSocketHandler):
    """Pings, waits for the pong, says so, then closes with a code of its own."""

    def open(self) -> None:
        self.ping(b"p")

    def on_pong(self, data: bytes) -> None:
        self.write_message(f"pong {data.decode()}; " + "x" * 200)  # a 16-bit length

    def on_message(self, message: str | bytes) -> None:
        self.close(4000, "bye")


def test_websocket_client_pongs_and_counts_every_frame(server) -> None:
    url = server.add_handler(r"/ws-ping-test", PingThenClose)

    async def scenario() -> tuple:
        conn = await WebSocket.connect(url, timeout=5)
        first = await asyncio.wait_for(conn.receive(), 5)
        await conn.send_text("close please")
        end = await asyncio.wait_for(conn.receive(), 5)
        return conn, first, end

    conn, first, end = run_sync(scenario)
    assert first == "pong p; " + "x" * 200 and end is None
    assert (conn.status, conn.close_code, conn.close_reason) == (101, 4000, "bye")
    assert conn.headers["Upgrade"].lower() == "websocket"
    # Server frames: ping (2 + 1), text (4 + 208), close (2 + 2 + 3), unmasked.
    assert conn.bytes_received == 3 + 212 + 7
    # Client frames, masked: pong (6 + 1), text (6 + 12), close answer (6 + 2).
    assert conn.bytes_sent == 7 + 18 + 8
    assert conn.request_head_bytes > 100 and conn.response_head_bytes > 100


def test_websocket_client_reports_a_refused_upgrade(server) -> None:
    with pytest.raises(HTTPError) as err:
        run_sync(lambda: WebSocket.connect(server.url + "/chat?prompt=hi", timeout=5))
    assert err.value.status != 101
