"""The broadcast hub (``GET /events``, ``server.broadcast``), over real sockets."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import wait_until

from sse_lab.client import SSEClient, record_sync
from sse_lab.protocol import Event, EventParser
from sse_lab.server import LabServer, ServerConfig, start_server


class Subscribers:
    """``n`` SSE clients on ``/events`` in a helper thread, each collecting events."""

    def __init__(self, url: str, n: int, *, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.events: list[list[Event]] = [[] for _ in range(n)]
        self._headers = headers
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        clients = [
            SSEClient(self.url, stop_on_done=False, timeout=10, headers=self._headers)
            for _ in self.events
        ]

        async def read(client: SSEClient, out: list[Event]) -> None:
            async for arrival in client:
                out.append(arrival.event)

        tasks = [
            asyncio.ensure_future(read(c, out)) for c, out in zip(clients, self.events, strict=True)
        ]
        await self._stop.wait()
        for client in clients:
            await client.close()
        await asyncio.gather(*tasks, return_exceptions=True)

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        wait_until(lambda: all(len(e) >= count for e in self.events), timeout=timeout)

    def close(self) -> None:
        def stop() -> None:
            assert self._stop is not None
            self._stop.set()

        wait_until(lambda: self._stop is not None)  # the client loop is up
        self._loop.call_soon_threadsafe(stop)
        self._thread.join(5)


@pytest.fixture(autouse=True)
def no_leftover_subscribers(request: pytest.FixtureRequest) -> None:
    """Each test on the shared server starts after the previous one's sockets closed."""
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        wait_until(lambda: srv.subscribers == 0)


@pytest.fixture()
def subscribers(server: LabServer) -> Iterator[list[Subscribers]]:
    made: list[Subscribers] = []
    yield made
    for group in made:
        group.close()
    wait_until(lambda: server.subscribers == 0)


def subscribe(server: LabServer, made: list[Subscribers], n: int, **kw: object) -> Subscribers:
    before = server.subscribers
    group = Subscribers(server.url + "/events", n, **kw)  # type: ignore[arg-type]
    made.append(group)
    wait_until(lambda: server.subscribers == before + n, timeout=5)
    return group


def raw_subscriber(port: int, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket()
    if rcvbuf is not None:  # before connect, so the TCP window is small from the start
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock


def test_broadcast_reaches_every_subscriber_identically_in_order(server, subscribers) -> None:
    group = subscribe(server, subscribers, 50)
    sent = [("hello", None), ("line one\nline two", "note"), ("你好, 世界", None), ("", "ping")]
    reached = [server.broadcast(data, event=event) for data, event in sent]
    assert reached == [50] * len(sent)
    group.wait_for(len(sent))
    first = group.events[0]
    assert all(events == first for events in group.events)  # identical, same order
    assert [(e.data, e.event) for e in first] == [(d, ev or "message") for d, ev in sent]
    ids = [int(e.id) for e in first]
    assert ids == list(range(ids[0], ids[0] + len(sent)))  # the hub numbers events
    assert first[0].retry == 100 and all(e.retry is None for e in first[1:])


def test_subscribers_that_leave_are_unsubscribed(server) -> None:
    base = server.subscribers
    socks = [raw_subscriber(server.port) for _ in range(3)]
    try:
        wait_until(lambda: server.subscribers == base + 3)
        socks.pop().close()
        wait_until(lambda: server.subscribers == base + 2)
        assert server.broadcast("still there?") == base + 2
        assert server.stats()["subscribers"] == base + 2
    finally:
        for s in socks:
            s.close()
    wait_until(lambda: server.subscribers == base)
    assert "/events" not in server.stats()["open_connections"]


def test_stalled_subscriber_is_dropped_and_memory_stays_bounded() -> None:
    limit = 64 * 1024
    cfg = ServerConfig(subscriber_queue=limit, send_timeout=60, heartbeat=60, retry_ms=100)
    with start_server(config=cfg) as srv:
        healthy_bytes = [0]

        def drain(sock: socket.socket) -> None:
            while chunk := sock.recv(1 << 20):
                healthy_bytes[0] += len(chunk)

        healthy = raw_subscriber(srv.port)
        threading.Thread(target=drain, args=(healthy,), daemon=True).start()
        stalled = raw_subscriber(srv.port, rcvbuf=4096)  # never reads
        wait_until(lambda: srv.subscribers == 2)
        rss_before = srv.stats()["rss_bytes"]
        big = "x" * 32 * 1024
        published = 0
        while srv.stats()["subscribers_dropped"] == 0:
            srv.broadcast(big)
            published += 1
            assert published < 2000, "the stalled subscriber was never dropped"
        assert srv.broadcast(big) == 1  # only the healthy reader is left
        stats = srv.stats()
        assert stats["subscribers"] == 1 and stats["subscribers_dropped"] == 1
        # A subscriber never holds much more than its limit: no unbounded growth.
        assert srv.call(lambda: srv.context.hub.peak_backlog) <= limit + len(big) + 100
        assert stats["rss_bytes"] - rss_before < 64 * 2**20
        wait_until(lambda: healthy_bytes[0] >= (published + 1) * len(big), timeout=5)
        stalled.close()
        healthy.shutdown(socket.SHUT_RDWR)  # wakes the draining thread's recv()
        healthy.close()
        wait_until(lambda: srv.subscribers == 0)


def test_publish_from_any_thread_or_from_the_loop(server, subscribers) -> None:
    group = subscribe(server, subscribers, 3)
    results: list[int] = []
    worker = threading.Thread(target=lambda: results.append(server.broadcast("from a thread")))
    worker.start()
    worker.join(5)
    hub = server.context.hub
    results.append(server.call(lambda: hub.publish("from the loop", id="loop-1")))
    assert results == [3, 3]
    group.wait_for(2)
    assert [(e.data, e.id) for e in group.events[0]][-1] == ("from the loop", "loop-1")
    assert group.events[0][0].data == "from a thread"


def test_last_event_id_replays_what_was_missed(server, subscribers) -> None:
    ids = []
    for word in ("one", "two", "three"):
        server.broadcast(word)
        ids.append(str(server.stats()["broadcasts"] - 1))
    group = subscribe(server, subscribers, 1, headers={"Last-Event-ID": ids[0]})
    group.wait_for(2)
    server.broadcast("four")
    group.wait_for(3)
    events = group.events[0]
    assert [e.data for e in events] == ["two", "three", "four"]
    assert events[0].retry == 100  # the first event of the stream carries retry:
    assert server.stats()["broadcast_replayed"] >= 2
    # An unknown ID replays nothing; the query form works for EventSource pages.
    rec = record_sync(
        server.url + "/events?lastEventId=nope", stop_on_done=False, timeout=0.5, max_events=1
    )
    assert rec.arrivals == []


def test_publish_validates_in_the_callers_thread(server) -> None:
    with pytest.raises(TypeError):
        server.broadcast({"not": "a string"})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        server.broadcast("x", id="two\nlines")


def test_lifetime_limit_ends_and_unsubscribes() -> None:
    with start_server(config=ServerConfig(max_lifetime=0.2, retry_ms=50)) as srv:
        sock = raw_subscriber(srv.port)
        wait_until(lambda: srv.subscribers == 1)
        wait_until(lambda: srv.stats()["lifetime_closed"] >= 1 and srv.subscribers == 0)
        sock.settimeout(2)
        data = b""
        while not data.endswith(b"\r\n0\r\n\r\n"):  # a clean end of the chunked response
            data += sock.recv(65536)
        assert b"lifetime limit: reconnect" in data
        sock.close()


def test_stop_ends_every_subscription_promptly() -> None:
    srv = start_server()
    socks = [raw_subscriber(srv.port) for _ in range(3)]
    wait_until(lambda: srv.subscribers == 3)
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < 3.0
    for sock in socks:
        sock.settimeout(2)
        while sock.recv(65536):  # EOF, not a timeout
            pass
        sock.close()


def test_wire_format_is_plain_sse(server) -> None:
    sock = raw_subscriber(server.port)
    try:
        wait_until(lambda: server.subscribers >= 1)
        server.broadcast("wire", event="check", id="w-1")
        sock.settimeout(2)
        data = b""
        while b"wire" not in data:
            data += sock.recv(65536)
    finally:
        sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Type: text/event-stream" in head and b"chunked" in head
    # Undo the chunk framing and decode with the lab's parser.
    payload, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        payload, rest = payload + rest[:size], rest[size + 2 :]
    events = EventParser().feed(payload)
    assert events == [Event("check", "wire", "w-1", 100)]


def test_http10_subscriber_uses_the_unchunked_path(server) -> None:
    base = server.subscribers
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
        sock.sendall(b"GET /events HTTP/1.0\r\nHost: x\r\n\r\n")
        wait_until(lambda: server.subscribers == base + 1)
        server.broadcast("old protocol", id="h10")
        data = b""
        while b"old protocol\n\n" not in data:
            data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"chunked" not in head
    assert EventParser().feed(body) == [Event("message", "old protocol", "h10", 100)]
    wait_until(lambda: server.subscribers == base)
