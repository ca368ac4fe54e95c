"""Firehoses and stalled readers: bounded rate, detected in seconds, broadcasts share bytes."""

from __future__ import annotations

import socket
import time
import tracemalloc

from sse_lab.server import ServerConfig, start_server

from .conftest import wait_until

FIREHOSE = b"GET /sse?count=1000000&interval=0 HTTP/1.1\r\nHost: x\r\n\r\n"


def test_the_sse_firehose_is_rate_bounded() -> None:
    config = ServerConfig(sse_min_interval=0.01)
    with start_server(config=config) as srv, socket.create_connection(
        ("127.0.0.1", srv.port), timeout=5
    ) as sock:
        sock.sendall(FIREHOSE)
        t0 = time.monotonic()
        data = b""
        while time.monotonic() - t0 < 1.0:
            data += sock.recv(65536)
        took = time.monotonic() - t0
    events = data.count(b"\ndata: Current Time")
    # interval=0 is raised to sse_min_interval: at most one event per 10 ms
    # (an unbounded firehose wrote tens of thousands in this second).
    assert 1 <= events <= took / 0.01 + 5


def test_a_stalled_reader_is_dropped_having_absorbed_little() -> None:
    # A faster trickle than the default floor and a smaller buffer: it fills in seconds.
    config = ServerConfig(send_timeout=0.5, sse_min_interval=0.0002, stream_sndbuf=32 * 1024)
    with start_server(config=config) as srv:
        sock = socket.create_connection(("127.0.0.1", srv.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(FIREHOSE)  # and never read
        wait_until(lambda: srv.stats()["dropped_stalled"] == 1, timeout=30)
        sent = srv.stats()["events_sent"]
        sock.close()
    # Each event is ~40 bytes. With the kernel's send buffer left to grow
    # (~4 MB) ~100,000 events went out before the stall showed; capped
    # (stream_sndbuf) the flush stalls after the high-water mark plus ~0.3 MB.
    assert sent * 40 < 1_000_000, f"{sent} events written to a reader that never read"


def test_a_broadcast_to_stalled_subscribers_is_not_copied_per_subscriber() -> None:
    n, size = 40, 1_000_000
    config = ServerConfig(send_timeout=30.0)
    with start_server(config=config) as srv:
        socks = []
        try:
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", srv.port))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
                socks.append(s)
            wait_until(lambda: srv.subscribers == n, timeout=10)
            data = "x" * size
            tracemalloc.start()
            try:
                tracemalloc.reset_peak()
                base = tracemalloc.get_traced_memory()[0]
                reached = srv.broadcast(data)
                peak = tracemalloc.get_traced_memory()[1] - base
            finally:
                tracemalloc.stop()
            assert reached == n
            # One encoded event (plus its chunk framing): ~2 MB, whatever n is;
            # a copy of the unsent part per subscriber would be ~n MB.
            assert peak < 8 * size, f"{peak / 1e6:.1f} MB allocated for one broadcast"
            # The next one finds every backlog over subscriber_queue: all dropped.
            srv.broadcast(data)
            wait_until(lambda: srv.subscribers == 0, timeout=10)
            assert srv.stats()["subscribers_dropped"] == n
        finally:
            for s in socks:
                s.close()
