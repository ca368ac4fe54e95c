"""The upstream relay spends an API key: no cross-site callers, no rebinding, no leaked secrets."""

from __future__ import annotations

import asyncio
import socket

import pytest
import tornado.httpclient
import tornado.websocket

from sse_lab.server import LabServer, ServerConfig, start_server
from sse_lab.server.upstream import ENV_BASE_URL

from .conftest import body, exchange, get, header, status


@pytest.fixture(scope="module")
def lab() -> LabServer:
    srv = start_server(config=ServerConfig(heartbeat=5.0))
    yield srv
    srv.stop()


@pytest.fixture()
def relay(lab: LabServer, monkeypatch: pytest.MonkeyPatch) -> LabServer:
    monkeypatch.setenv(ENV_BASE_URL, lab.url + "/v1")  # the lab's own /v1 as the upstream
    return lab


CHAT = "/chat?prompt=hi&speed=200"


def test_a_same_origin_relay_request_streams(relay: LabServer) -> None:
    resp = get(CHAT, relay.port, f"Origin: http://127.0.0.1:{relay.port}\r\n"
                                 "Sec-Fetch-Site: same-origin\r\n")
    assert status(resp) == 200 and b"data: [DONE]" in resp


@pytest.mark.parametrize(
    "headers, name",
    [("Origin: http://evil.example\r\n", "Origin"),
     ("Origin: null\r\n", "Origin"),
     ("Sec-Fetch-Site: cross-site\r\n", "Sec-Fetch-Site"),
     ("Sec-Fetch-Site: same-site\r\n", "Sec-Fetch-Site")],
)
def test_a_cross_site_relay_request_is_refused(relay: LabServer, headers: str, name: str) -> None:
    resp = get(CHAT, relay.port, headers)
    assert status(resp) == 403
    assert header(resp, "Content-Type").startswith("text/plain")
    assert name.encode() in body(resp)


def test_a_rebound_host_name_is_refused(relay: LabServer) -> None:
    resp = exchange(relay.port, f"GET {CHAT} HTTP/1.1\r\nHost: evil.example:{relay.port}\r\n"
                                f"Origin: http://evil.example:{relay.port}\r\n"
                                "Connection: close\r\n\r\n".encode())
    assert status(resp) == 403 and b"Host" in body(resp)


def test_without_a_relay_chat_stays_open_to_any_page(lab: LabServer) -> None:
    resp = get(CHAT, lab.port, "Origin: http://evil.example\r\n")
    assert status(resp) == 200  # the simulation spends nothing


def test_credentials_in_the_upstream_url_are_never_echoed(
    lab: LabServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_BASE_URL, "http://alice:s3cret-pass@127.0.0.1:9/v1?key=k3y")
    resp = get(CHAT, lab.port)
    assert status(resp) == 200 and b"event: error" in resp
    assert b"s3cret" not in resp and b"k3y" not in resp and b"alice" not in resp
    assert b"127.0.0.1:9/v1" in resp  # still says where it tried


def _ws_handshake(port: int, host: str, origin: str) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall((
            f"GET /ws HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        return status(sock.recv(200))  # the status line is enough


def test_websocket_refuses_a_rebound_host(lab: LabServer) -> None:
    rebound = f"evil.example:{lab.port}"
    assert _ws_handshake(lab.port, rebound, f"http://{rebound}") == 403
    local = f"127.0.0.1:{lab.port}"
    assert _ws_handshake(lab.port, local, f"http://{local}") == 101


def test_websocket_same_origin_still_connects(lab: LabServer) -> None:
    async def connect() -> bool:
        request = tornado.httpclient.HTTPRequest(
            f"ws://127.0.0.1:{lab.port}/ws",
            headers={"Origin": f"http://127.0.0.1:{lab.port}"},
        )
        ws = await tornado.websocket.websocket_connect(request)
        ws.close()
        return True

    assert asyncio.run(connect())
