"""What breaks streaming: no flush, gzip without sync flush, a buffering proxy.

Timing is asserted through ratios (where in the stream's duration the tokens
arrived, how many distinct arrival instants there were), not absolute times.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import matplotlib
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web
from conftest import wait_until

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from sse_lab.client import HTTPError, record, record_sync, run_sync  # noqa: E402
from sse_lab.lab.xray import XRAY_PATHS, BufferingXRay, buffering_xray_sync, record_stream
from sse_lab.model import SimulatedLLM  # noqa: E402
from sse_lab.recording import Recording  # noqa: E402
from sse_lab.server import (  # noqa: E402
    ChatHandler,
    LabServer,
    ServerConfig,
    ServerContext,
    start_server,
)
from sse_lab.server.proxy import start_buffering_proxy

SPEED = 10.0
PROMPT = "why stream"
TOKENS = SimulatedLLM().tokens(PROMPT, 0)


def late_fraction(rec: Recording, tail: float = 0.1) -> float:
    """Fraction of tokens that arrived in the last ``tail`` of the stream's duration."""
    times = rec.token_times
    cut = times[-1] * (1 - tail)
    return sum(t >= cut for t in times) / len(times)


def instants(rec: Recording) -> int:
    """Distinct arrival instants (tokens read by the same socket read share one)."""
    return len(set(rec.token_times))


@pytest.fixture(scope="module")
def server() -> Iterator[LabServer]:
    """A lab server with the teaching routes (``/chat-noflush``, ``/chat-gzip``)."""
    srv = start_server(
        config=ServerConfig(heartbeat=5.0, send_timeout=2.0, retry_ms=100, teaching_routes=True)
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def xray(server) -> BufferingXRay:
    return buffering_xray_sync(server.url, prompt=PROMPT, speed=SPEED)


def test_xray_records_every_path_with_the_same_text(xray) -> None:
    assert list(xray.recordings) == list(XRAY_PATHS)
    assert xray.emit_times == SimulatedLLM(speed=SPEED).plan(PROMPT, 0).emit_times()
    for name, rec in xray.recordings.items():
        assert rec.tokens == TOKENS, name
        assert rec.done, name
        # Nothing is received before the model emitted it.
        assert all(r >= e for e, r in zip(xray.emit_times, rec.token_times, strict=True)), name


def test_direct_and_fixed_paths_stream(xray) -> None:
    n = len(TOKENS)
    for name in ("direct", "gzip-sync", "proxy-unbuffered"):
        rec = xray.recordings[name]
        assert late_fraction(rec) < 0.3, name
        assert instants(rec) >= 0.8 * n, name
        # The first token comes long before the last one.
        assert rec.token_times[0] < 0.2 * rec.token_times[-1], name


def test_noflush_delivers_everything_at_the_end(xray) -> None:
    rec = xray.recordings["noflush"]
    assert late_fraction(rec) == 1.0
    assert instants(rec) <= 2
    # Even the status line and headers waited for finish(): Tornado then
    # knows the length and sends Content-Length, not chunked.
    assert rec.connect_time >= 0.8 * xray.emit_times[-1]
    assert "Content-Length" in rec.headers
    assert "Transfer-Encoding" not in rec.headers


def test_gzip_without_sync_flush_holds_the_stream(xray) -> None:
    rec = xray.recordings["gzip"]
    assert rec.headers["Content-Encoding"] == "gzip"
    assert late_fraction(rec) == 1.0
    assert instants(rec) <= 2
    # The headers (and the 10-byte gzip header) left at once, the body did not.
    assert rec.first_byte_time < 0.2 * rec.token_times[-1]
    # Compression still works: fewer bytes than the plain stream.
    assert rec.bytes_received < xray.recordings["direct"].bytes_received
    assert rec.extra["decoded_bytes"] > rec.bytes_received - rec.header_bytes


def test_gzip_with_sync_flush_streams_compressed(xray) -> None:
    rec = xray.recordings["gzip-sync"]
    assert rec.headers["Content-Encoding"] == "gzip"
    assert rec.extra["content_encoding"] == "gzip"


def test_gzip_route_sends_plain_text_without_accept_encoding(server) -> None:
    rec = record_sync(server.url + f"/chat-gzip?prompt=why+stream&speed={SPEED}")
    assert "Content-Encoding" not in rec.headers
    assert rec.tokens == TOKENS
    assert instants(rec) >= 0.8 * len(TOKENS)


def test_buffering_proxy_with_4096_bytes_delivers_one_late_burst(xray) -> None:
    rec = xray.recordings["proxy-buffered"]
    # The whole answer is smaller than one 4096-byte block.
    assert rec.extra["decoded_bytes"] < 4096
    assert late_fraction(rec) == 1.0
    assert instants(rec) <= 2
    # nginx-like: the head is relayed at once, the body held back.
    assert rec.connect_time < 0.2 * rec.token_times[-1]


def test_small_proxy_buffers_deliver_in_bursts(server) -> None:
    n = len(TOKENS)
    with start_buffering_proxy(server.url, buffer_size=256) as proxy:
        rec = run_sync(lambda: record_stream(f"{proxy.url}/chat?prompt=why+stream&speed={SPEED}"))
        blocks = proxy.blocks_sent
    assert rec.tokens == TOKENS
    # About 1.8 KB of body in 256-byte blocks: a handful of bursts.
    assert 3 <= instants(rec) <= n / 4
    assert 3 <= blocks <= 12
    gaps = sorted(b - a for a, b in zip(rec.token_times, rec.token_times[1:], strict=False))
    # Most consecutive tokens share a read; a few gaps are the waits.
    assert gaps[len(gaps) // 2] < 0.05 * rec.token_times[-1]


def test_proxy_honouring_x_accel_buffering_streams(server) -> None:
    with start_buffering_proxy(server.url, 4096, honor_x_accel_buffering=True) as proxy:
        rec = record_sync(f"{proxy.url}/chat?prompt=why+stream&speed={SPEED}")
    assert rec.tokens == TOKENS
    assert instants(rec) >= 0.8 * len(TOKENS)
    assert late_fraction(rec) < 0.3


def test_proxy_relays_status_headers_and_errors(server) -> None:
    with start_buffering_proxy(server.url, 4096) as proxy:
        assert proxy.running and proxy.url.startswith("http://127.0.0.1:")
        with pytest.raises(HTTPError) as err:
            record_sync(proxy.url + "/chat?speed=0")
        assert err.value.status == 400
        rec = record_sync(proxy.url + "/chat?prompt=hello&speed=50")
        assert rec.headers["Content-Type"].startswith("text/event-stream")
        assert rec.headers["X-Accel-Buffering"] == "no"  # end-to-end header kept
    assert not proxy.running
    # Nothing listens upstream: 502.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with start_buffering_proxy(dead, 0) as proxy, pytest.raises(HTTPError) as err:
        record_sync(proxy.url + "/chat")
    assert err.value.status == 502


def test_leaving_through_the_proxy_stops_generation(server) -> None:
    wait_until(lambda: server.stats()["generation_tasks"] == 0)
    with start_buffering_proxy(server.url, 0) as proxy:
        rec = run_sync(lambda: record(proxy.url + "/chat?prompt=why+stream&speed=2", max_events=3))
        assert len(rec.tokens) == 3
        # At speed 2 the answer would run for 3 s more.
        wait_until(lambda: server.stats()["generation_tasks"] == 0, timeout=1.0)
        wait_until(lambda: not proxy._tasks, timeout=1.0)


def test_noflush_handler_still_notices_the_client_leaving(server) -> None:
    wait_until(lambda: server.stats()["generation_tasks"] == 0)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /chat-noflush?prompt=why+stream&speed=2 HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_until(lambda: server.stats()["generation_tasks"] >= 1)  # reader + generator
        time.sleep(0.3)  # the experiment: a window in which no byte may arrive
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            sock.recv(1024)  # not even the headers yet
    wait_until(lambda: server.stats()["generation_tasks"] == 0, timeout=1.0)


def test_tornado_compress_response_keeps_streaming() -> None:
    """Tornado's own gzip sync-flushes on every flush(): the stream streams."""

    async def scenario() -> Recording:
        context = ServerContext(ServerConfig())
        app = tornado.web.Application(
            [(r"/chat", ChatHandler, {"context": context})], compress_response=True
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        http = tornado.httpserver.HTTPServer(app)
        http.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        try:
            return await record_stream(
                f"http://127.0.0.1:{port}/chat?prompt=why+stream&speed={SPEED}"
            )
        finally:
            http.stop()
            await asyncio.wait_for(http.close_all_connections(), 2)

    rec = run_sync(scenario)
    assert rec.headers["Content-Encoding"] == "gzip"
    assert rec.tokens == TOKENS
    assert instants(rec) >= 0.8 * len(TOKENS)


def test_xray_plot_and_lags(xray) -> None:
    lags = xray.lags("noflush")
    assert len(lags) == len(TOKENS) and lags[0] > lags[-1] >= 0
    fig = xray.plot(["direct", "noflush", "proxy-buffered"])
    assert isinstance(fig, Figure)
    assert len([ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "emit-receive"]) == 3


def test_xray_rejects_unknown_paths(server) -> None:
    with pytest.raises(ValueError):
        buffering_xray_sync(server.url, paths=["carrier-pigeon"])
