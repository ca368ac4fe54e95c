"""Sizes, connection counts and timeouts: refused early, with a status that says which limit."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request

import pytest

from sse_lab.server import LabServer, ServerConfig, start_server

from .conftest import body, exchange, get, header, post, read_response, status, wait_until


@pytest.fixture(scope="module")
def lab() -> LabServer:
    srv = start_server(config=ServerConfig(
        max_connections_per_client=200, header_timeout=0.5, body_timeout=0.5,
        max_prompt_tokens=2_000,
    ))
    yield srv
    srv.stop()


def _limits(srv: LabServer) -> dict[str, int]:
    return srv.stats()["limits"]


def test_an_oversized_json_body_is_refused_with_413_before_it_is_sent(lab: LabServer) -> None:
    before = _limits(lab)["refused_too_large"]
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10485760\r\n\r\n")
    # Only the head goes out: the answer must not wait for 10 MB.
    resp = exchange(lab.port, head)
    assert status(resp) == 413
    assert header(resp, "Content-Type").startswith("application/json")
    error = json.loads(body(resp))["error"]
    assert error["param"] == "body" and "max_body" in error["message"]
    assert _limits(lab)["refused_too_large"] == before + 1


def test_anthropic_route_answers_413_in_its_own_shape(lab: LabServer) -> None:
    resp = exchange(lab.port, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
                              b"Content-Length: 99999999\r\n\r\n")
    assert status(resp) == 413
    assert json.loads(body(resp))["error"]["type"] == "request_too_large"


def test_a_body_on_a_stream_endpoint_is_413_plain_text(lab: LabServer) -> None:
    resp = exchange(lab.port, b"GET /sse HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n")
    assert status(resp) == 413
    assert header(resp, "Content-Type").startswith("text/plain")
    assert b"max_body_other" in body(resp)


def test_a_chunked_body_is_counted_as_it_arrives(lab: LabServer) -> None:
    chunk = b"x" * 65536
    piece = b"%x\r\n%b\r\n" % (len(chunk), chunk)
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    resp = exchange(lab.port, head + piece * 20 + b"0\r\n\r\n")
    assert status(resp) == 413


def test_a_prompt_over_max_prompt_tokens_is_400_context_length(lab: LabServer) -> None:
    words = "many words " * 3000
    payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": words}]})
    resp = post("/v1/chat/completions", lab.port, payload.encode())
    assert status(resp) == 400
    error = json.loads(body(resp))["error"]
    assert "max_prompt_tokens" in error["message"]


def test_a_large_body_does_not_stall_other_clients() -> None:
    # Under the limits (3 MB allowed here), parsed and tokenized: off the loop.
    config = ServerConfig(max_body=3 * 2**20, max_prompt_tokens=10**7)
    with start_server(config=config) as srv:
        words = "word " * (2 * 2**20 // 5)
        payload = json.dumps({"model": "m", "max_tokens": 1, "speed": 1000, "stream": True,
                              "messages": [{"role": "user", "content": words}]}).encode()
        done = threading.Event()
        answer: list[bytes] = []

        def send() -> None:
            answer.append(post("/v1/chat/completions", srv.port, payload))
            done.set()

        worst = 0.0
        thread = threading.Thread(target=send)
        thread.start()
        deadline = time.monotonic() + 60
        while not done.is_set() and time.monotonic() < deadline:
            t0 = time.monotonic()
            urllib.request.urlopen(srv.url + "/stats", timeout=30).read()
            worst = max(worst, time.monotonic() - t0)
        thread.join(60)
        assert answer and status(answer[0]) == 200
    # Parsed on the loop, the ~2 MB prompt held /stats for seconds; off it,
    # /stats waits at most for thread switches (generous bound for a busy CI).
    assert worst < 1.0, f"/stats stalled {worst:.2f} s"


def test_connections_over_the_per_client_limit_get_503_with_retry_after() -> None:
    with start_server(config=ServerConfig(max_connections_per_client=3)) as srv:
        held = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(3)]
        try:
            wait_until(lambda: srv.stats()["limits"]["connections"] >= 3)
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as extra:
                extra.sendall(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n")
                resp = read_response(extra)
            assert status(resp) == 503
            assert header(resp, "Retry-After") == "1"
            assert b"max_connections_per_client" in body(resp)
            assert srv.stats()["limits"]["refused_client"] == 1
        finally:
            for s in held:
                s.close()
        # Once they leave, the client is served again.
        wait_until(lambda: status(get("/stats", srv.port)) == 200, timeout=5)


def test_total_connection_limit_answers_503() -> None:
    with start_server(config=ServerConfig(max_connections=2)) as srv:
        held = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(2)]
        try:
            wait_until(lambda: srv.call(lambda: srv.context.guard.open) >= 2)
            resp = get("/stats", srv.port)
            assert status(resp) == 503 and b"max_connections" in body(resp)
        finally:
            for s in held:
                s.close()


def test_slowloris_headers_are_cut_after_header_timeout(lab: LabServer) -> None:
    sock = socket.create_connection(("127.0.0.1", lab.port))
    sock.sendall(b"GET /stats HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    sock.settimeout(10)
    try:
        for _ in range(100):  # one header line every 0.1 s, never the blank line
            sock.sendall(b"X-a: b\r\n")
            time.sleep(0.1)
        closed = False
    except OSError:
        closed = True
    if not closed:
        closed = sock.recv(100) == b""
    took = time.monotonic() - t0
    sock.close()
    assert closed and took < 5, f"a slowloris client was held {took:.1f} s"


def test_a_slow_body_is_cut_after_body_timeout(lab: LabServer) -> None:
    sock = socket.create_connection(("127.0.0.1", lab.port), timeout=10)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
    t0 = time.monotonic()
    assert sock.recv(100) == b""  # closed without an answer, after body_timeout
    assert time.monotonic() - t0 < 5
    sock.close()


def test_an_idle_keep_alive_connection_is_closed(lab: LabServer) -> None:
    sock = socket.create_connection(("127.0.0.1", lab.port), timeout=10)
    sock.sendall(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status(read_response(sock)) == 200
    t0 = time.monotonic()
    assert sock.recv(100) == b""  # header_timeout also bounds an idle connection
    assert time.monotonic() - t0 < 5
    sock.close()


def test_limits_appear_in_stats(lab: LabServer) -> None:
    limits = lab.stats()["limits"]
    assert set(limits) >= {"connections", "refused_busy", "refused_client",
                           "refused_too_large", "fd_exhausted", "accept_paused_s"}


def test_a_blocking_answer_longer_than_max_lifetime_is_refused_up_front() -> None:
    with start_server(config=ServerConfig(max_lifetime=0.5)) as srv:
        payload = json.dumps({"model": "m", "speed": 0.01,
                              "messages": [{"role": "user", "content": "hi"}]}).encode()
        resp = post("/v1/chat/completions", srv.port, payload)
        assert status(resp) == 503 and b"max_lifetime" in body(resp)
        t0 = time.monotonic()
        resp = get("/complete?prompt=hi&speed=0.01", srv.port)
        assert status(resp) == 503 and b"max_lifetime" in body(resp)
        assert time.monotonic() - t0 < 5
