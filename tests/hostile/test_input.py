"""Strict, clear input: a 4xx naming the parameter and the rule, in the endpoint's format."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
import tornado.websocket

from sse_lab.server import ContextHandler, LabServer, ServerConfig, SSEHandler, start_server

from .conftest import body, exchange, get, header, post, status


@pytest.fixture(scope="module")
def lab() -> LabServer:
    srv = start_server(config=ServerConfig(heartbeat=5.0, send_timeout=2.0))
    yield srv
    srv.stop()


def _chat(content: str | None = None, raw: bytes | None = None) -> bytes:
    if raw is not None:
        return raw
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]}).encode()


def test_a_huge_last_event_id_is_400_not_500(lab: LabServer) -> None:
    resp = get("/chat?prompt=hi&speed=100", lab.port, f"Last-Event-ID: {'9' * 4301}\r\n")
    assert status(resp) == 400
    assert header(resp, "Content-Type").startswith("text/plain")
    assert b"Last-Event-ID" in body(resp)


def test_a_huge_last_event_id_on_events_is_400(lab: LabServer) -> None:
    resp = get("/events", lab.port, f"Last-Event-ID: {'x' * 5000}\r\n")
    assert status(resp) == 400 and b"at most 256 characters" in body(resp)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses"])
def test_deep_json_is_400_naming_the_depth(lab: LabServer, path: str) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    payload = b'{"model": "m", "input": ' + deep + b', "messages": ' + deep + b"}"
    resp = post(path, lab.port, payload)
    assert status(resp) == 400
    error = json.loads(body(resp))["error"]
    assert "deeper than" in error["message"]


def test_deep_json_on_anthropic_messages_is_its_invalid_request(lab: LabServer) -> None:
    resp = post("/v1/messages", lab.port, b"[" * 5000 + b"]" * 5000)
    assert status(resp) == 400
    error = json.loads(body(resp))
    assert error["type"] == "error" and "deeper than" in error["error"]["message"]


def test_a_lone_surrogate_is_400_naming_the_field(lab: LabServer) -> None:
    raw = b'{"model": "m", "messages": [{"role": "user", "content": "hi \\ud800"}]}'
    resp = post("/v1/chat/completions", lab.port, raw)
    assert status(resp) == 400
    error = json.loads(body(resp))["error"]
    assert "messages[0].content" in error["message"] and "surrogate" in error["message"]


def test_a_lone_surrogate_in_a_streamed_request_is_400_before_the_stream(lab: LabServer) -> None:
    raw = b'{"model": "m", "stream": true, "messages": [{"role": "user", "content": "\\udc00"}]}'
    resp = post("/v1/chat/completions", lab.port, raw)
    assert status(resp) == 400
    assert header(resp, "Content-Type").startswith("application/json")


def test_websocket_bad_unicode_and_depth_get_an_error_message(lab: LabServer) -> None:
    async def talk() -> list[dict[str, object]]:
        ws = await tornado.websocket.websocket_connect(f"ws://127.0.0.1:{lab.port}/ws")
        replies = []
        for message in ('{"prompt": "\\ud800"}', "[" * 5000 + "]" * 5000, '{"seed": 1e999}',
                        '{"seed": "1_000"}', '{"speed": 5e-324}'):
            await ws.write_message(message)
            reply = await asyncio.wait_for(ws.read_message(), 5)
            replies.append(json.loads(reply))
        ws.close()
        return replies

    replies = asyncio.run(talk())
    assert all("error" in r for r in replies), replies
    assert "surrogate" in replies[0]["error"]
    assert "deeper than" in replies[1]["error"]
    assert "speed" in replies[4]["error"]


@pytest.mark.parametrize(
    "query, name",
    [("seed=1_000", "seed"), ("seed=%D9%A3", "seed"), ("seed=%207", "seed"),
     ("seed=" + "9" * 30, "seed"), ("speed=5e-324", "speed"), ("speed=1e9", "speed"),
     ("drop_after=1e3", "drop_after")],
)
def test_lenient_numbers_are_refused(lab: LabServer, query: str, name: str) -> None:
    resp = get(f"/chat?{query}", lab.port)
    assert status(resp) == 400
    assert header(resp, "Content-Type").startswith("text/plain")  # not text/event-stream
    assert name.encode() in body(resp)


@pytest.mark.parametrize("query", ["count=-1", "count=99999999999", "interval=-1", "count=x"])
def test_sse_errors_are_plain_text_with_the_rule(lab: LabServer, query: str) -> None:
    resp = get(f"/sse?{query}", lab.port)
    assert status(resp) == 400
    assert header(resp, "Content-Type").startswith("text/plain")
    text = body(resp).decode()
    assert ("count" in text or "interval" in text) and "must be" in text


def test_poll_errors_are_json_naming_the_parameter(lab: LabServer) -> None:
    resp = get("/poll?seed=x", lab.port)
    assert status(resp) == 400
    assert header(resp, "Content-Type").startswith("application/json")
    assert json.loads(body(resp))["error"]["param"] == "seed"


def test_invalid_utf8_in_a_query_is_400(lab: LabServer) -> None:
    resp = get("/chat?prompt=%ED%A0%80", lab.port)  # a surrogate, UTF-8 encoded
    assert status(resp) == 400 and b"prompt" in body(resp)


def test_a_real_500_carries_a_request_id_that_the_log_shows(
    lab: LabServer, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenStream(SSEHandler):
        async def stream(self) -> None:
            await self.send("first")
            raise RuntimeError("a bug mid-stream")

    class BrokenContext(ContextHandler):
        def get(self) -> None:
            raise RuntimeError("a bug")

    lab.add_handler(r"/broken", BrokenContext)
    lab.add_handler(r"/broken-stream", BrokenStream)
    with caplog.at_level(logging.ERROR):
        resp = get("/broken", lab.port)
        stream = exchange(lab.port, b"GET /broken-stream HTTP/1.1\r\nHost: x\r\n"
                                    b"Connection: close\r\n\r\n")
    assert status(resp) == 500
    request_id = header(resp, "X-Request-Id")
    assert request_id and request_id.encode() in body(resp)
    assert b"a bug" not in body(resp)  # the traceback stays in the log
    assert any(request_id in r.getMessage() for r in caplog.records)
    # Once a stream has started, the failure is an event: error, then the end.
    assert status(stream) == 200 and b"event: error\ndata: internal error (request id" in stream


def test_an_oversized_websocket_message_closes_the_socket(lab: LabServer) -> None:
    async def talk() -> tuple[object, int | None]:
        ws = await tornado.websocket.websocket_connect(f"ws://127.0.0.1:{lab.port}/ws")
        await ws.write_message('{"prompt": "' + "x" * (lab.config.ws_max_message + 10) + '"}')
        reply = await asyncio.wait_for(ws.read_message(), 5)
        return reply, ws.close_code

    reply, code = asyncio.run(talk())
    assert reply is None and code == 1009  # "message too big", nothing parsed or planned


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/responses"])
def test_a_subnormal_speed_in_a_json_body_is_400(lab: LabServer, path: str) -> None:
    payload = json.dumps({"model": "m", "max_tokens": 5, "speed": 5e-324, "input": "hi",
                          "messages": [{"role": "user", "content": "hi"}]}).encode()
    resp = post(path, lab.port, payload)
    assert status(resp) == 400 and b"speed must be between" in body(resp)
