"""Measuring clients for the other transports: WebSocket, short and long polling.

Each returns a :class:`~sse_lab.recording.WireRecording` whose byte counts
cover the whole exchange, so transports compare fairly (see
:func:`sse_lab.recording.bytes_per_token`). The server side lives in
:mod:`sse_lab.server.routes.transports`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import tornado.websocket

from sse_lab.client.sse import HTTPError, _Response, record, run_sync
from sse_lab.protocol import DONE, Event
from sse_lab.recording import (
    Arrival,
    Recording,
    WireRecording,
    as_wire_recording,
    bytes_per_token,
    total_bytes_received,
)

__all__ = [
    "record_websocket",
    "record_poll",
    "record_longpoll",
    "compare_transports",
    "compare_transports_sync",
    "comparison_rows",
]


def _dumps(obj: Any) -> str:
    """Compact JSON, as one would put on the wire."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _base(url: str) -> str:
    return url.rstrip("/")


def _query(prompt: str, seed: int, speed: float, cadence: str | None, **more: Any) -> str:
    params: dict[str, Any] = {"prompt": prompt, "seed": seed, "speed": speed}
    if cadence is not None:
        params["cadence"] = cadence
    params.update(more)
    return urlencode(params)


class _KeepAliveConnection:
    """Sequential HTTP/1.1 GETs over one kept-alive connection, bytes counted.

    Reuses :class:`sse_lab.client._Response` to read each answer, so the
    header and body byte counts are those of the raw wire (chunked framing
    included). Reconnects when the server closes the connection.
    """

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"an http(s) URL is needed, got {base_url!r}")
        self.secure = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.secure else 80)
        self.netloc = parts.netloc.rsplit("@", 1)[-1]
        self.bytes_sent = 0
        self.connections = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = False

    async def get(self, target: str, timeout: float) -> tuple[_Response, bytes]:
        """GET ``target`` (path and query); return the response and its body."""
        head = (
            f"GET {target} HTTP/1.1\r\nHost: {self.netloc}\r\nAccept: application/json\r\n\r\n"
        ).encode("latin-1")
        for attempt in range(2):
            if self._writer is None:
                ssl_ctx: Any = None
                if self.secure:
                    import ssl

                    ssl_ctx = ssl.create_default_context()
                self._reader, self._writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port, ssl=ssl_ctx, limit=2**20),
                    timeout,
                )
                self.connections += 1
                self._used = False
            assert self._reader is not None and self._writer is not None
            reused = self._used
            self._used = True
            resp = _Response(self._reader, self._writer)
            try:
                self._writer.write(head)
                await self._writer.drain()
                self.bytes_sent += len(head)
                await asyncio.wait_for(resp.read_head(), timeout)
            except (OSError, asyncio.IncompleteReadError):
                self.close()
                if reused and attempt == 0:
                    continue  # the server closed an idle kept-alive connection
                raise
            body = b""
            try:
                while True:
                    data = await asyncio.wait_for(resp.read_some(), timeout)
                    if data is None:
                        break
                    body += data
            except BaseException:
                self.close()
                raise
            keep = (
                resp.headers.get("Connection", "").lower() != "close"
                and "Content-Length" in resp.headers
                and "chunked" not in resp.headers.get("Transfer-Encoding", "").lower()
            )
            if not keep:
                self.close()
            return resp, body
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


async def _record_polling(
    base_url: str,
    path: str,
    transport: str,
    *,
    prompt: str,
    seed: int,
    speed: float,
    cadence: str | None,
    interval: float,
    timeout: float,
    drop_after: int | None = None,
) -> WireRecording:
    base = _base(base_url)
    sid = secrets.token_hex(8)
    first_target = f"{path}?{_query(prompt, seed, speed, cadence, after=-1, sid=sid)}"
    rec = WireRecording(url=base + first_target, transport=transport, bytes_sent=0)
    conn = _KeepAliveConnection(base)
    t0 = time.perf_counter()
    after = -1
    empty = 0
    dropped = None
    try:
        while True:
            started = time.perf_counter()
            if started - t0 > timeout:
                rec.error = f"no [DONE] within {timeout} s"
                break
            target = f"{path}?{_query(prompt, seed, speed, cadence, after=after, sid=sid)}"
            rec.requests += 1
            resp, body = await conn.get(target, timeout)
            t = time.perf_counter() - t0
            rec.header_bytes += resp.header_bytes
            rec.bytes_received += resp.header_bytes + resp.wire_bytes
            rec.status, rec.headers = resp.status, resp.headers
            if rec.connect_time is None:
                rec.connect_time = t
                rec.first_byte_time = t
            if resp.status != 200:
                raise HTTPError(resp.status, resp.reason, body)
            data = json.loads(body)
            tokens = data.get("tokens", [])
            if not tokens:
                empty += 1
            for item in tokens:
                index = int(item["id"])
                if index > after:
                    rec.arrivals.append(Arrival(t, Event(data=item["token"], id=str(index))))
                    after = index
            if data.get("done"):
                rec.arrivals.append(
                    Arrival(t, Event(data=DONE, id=str(after) if after >= 0 else ""))
                )
                break
            if drop_after is not None and dropped is None and len(rec.arrivals) >= drop_after:
                dropped = len(rec.arrivals)
                conn.close()  # a network hiccup: the next poll opens a new connection
            if interval > 0:
                # Fixed rate (like setInterval), but never two polls at once.
                await asyncio.sleep(max(0.0, started + interval - time.perf_counter()))
    finally:
        rec.end_time = time.perf_counter() - t0
        conn.close()
        rec.bytes_sent = conn.bytes_sent
        rec.extra.update({"empty_responses": empty, "connections": conn.connections, "sid": sid})
        if drop_after is not None:
            rec.extra["dropped_at"] = dropped
    return rec


async def record_poll(
    base_url: str,
    *,
    prompt: str,
    seed: int = 0,
    speed: float = 1.0,
    interval: float = 0.1,
    cadence: str | None = None,
    timeout: float = 60.0,
    drop_after: int | None = None,
) -> WireRecording:
    """Read one answer by short polling ``/poll`` every ``interval`` seconds.

    Each poll's tokens are stamped with the time its response was read (a
    token waits on the server for up to ``interval`` seconds). Polls go over
    one kept-alive connection, as a browser's ``fetch`` would.

    Args:
        base_url: The server's base URL (``server.url``).
        prompt, seed, speed, cadence: The answer, as for ``/chat``.
        interval: Seconds between the starts of two polls (a poll slower than
            that is followed at once by the next one).
        timeout: Give up (``error`` set) after this many seconds.
        drop_after: Close the connection once this many tokens arrived, as a
            network hiccup would; the next poll opens a new one and, saying
            ``after=k`` like every poll, loses nothing (``extra["dropped_at"]``).

    Returns:
        A :class:`WireRecording` with ``transport="poll"``; ``requests`` is the
        number of polls and ``bytes_received`` includes every response head.
    """
    if interval < 0:
        raise ValueError("interval must not be negative")
    return await _record_polling(
        base_url,
        "/poll",
        "poll",
        prompt=prompt,
        seed=seed,
        speed=speed,
        cadence=cadence,
        interval=interval,
        timeout=timeout,
        drop_after=drop_after,
    )


async def record_longpoll(
    base_url: str,
    *,
    prompt: str,
    seed: int = 0,
    speed: float = 1.0,
    cadence: str | None = None,
    timeout: float = 60.0,
    drop_after: int | None = None,
) -> WireRecording:
    """Read one answer by long polling ``/longpoll``: each request waits for news.

    ``drop_after`` works as for :func:`record_poll`.

    Returns:
        A :class:`WireRecording` with ``transport="longpoll"``.
    """
    return await _record_polling(
        base_url,
        "/longpoll",
        "longpoll",
        prompt=prompt,
        seed=seed,
        speed=speed,
        cadence=cadence,
        interval=0.0,
        timeout=timeout,
        drop_after=drop_after,
    )


def _ws_url(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise ValueError(f"a ws(s):// or http(s):// URL is needed, got {url!r}")
    path = parts.path if parts.path not in ("", "/") else "/ws"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


class _SocketCounter:
    """Counts the bytes an IOStream reads and writes from now on.

    Wraps the stream's ``read_from_fd``/``write_to_fd`` (the two calls every
    byte passes through) on this one stream object.
    """

    def __init__(self, stream: Any) -> None:
        self.received = 0
        self.sent = 0
        read, write = stream.read_from_fd, stream.write_to_fd

        def read_from_fd(buf: Any) -> int | None:
            n = read(buf)
            if n:
                self.received += n
            return n

        def write_to_fd(data: memoryview) -> int:
            n = write(data)
            self.sent += n
            return n

        stream.read_from_fd = read_from_fd
        stream.write_to_fd = write_to_fd


def _head_size(start_line: str, headers: Any) -> int:
    """Bytes of an HTTP/1.1 head as Tornado writes it: lines, CRLFs, blank line."""
    lines = [start_line] + [f"{k}: {v}" for k, v in headers.get_all()]
    return sum(len(line.encode("latin-1")) + 2 for line in lines) + 2


async def record_websocket(
    url: str,
    *,
    prompt: str,
    seed: int = 0,
    speed: float = 1.0,
    drop_after: int | None = None,
    after: int | None = None,
    cadence: str | None = None,
    timeout: float = 30.0,
) -> WireRecording:
    """Read one answer over the ``/ws`` WebSocket.

    Args:
        url: ``server.url`` (``/ws`` is appended), or a full ``ws://`` /
            ``http://`` URL of the socket.
        prompt, seed, speed, cadence: The answer, as for ``/chat``.
        drop_after: Close the socket after this many tokens (the server must
            then stop generating).
        after: Resume after this token index (resuming "by hand").
        timeout: Seconds to wait for the handshake or for any message.

    Returns:
        A :class:`WireRecording` with ``transport="websocket"``, ``status``
        101, ``requests`` 1 (the upgrade). ``bytes_received`` is the upgrade
        response head plus every byte read from the socket afterwards (frames
        with their 2-10 byte headers, the server's close frame); ``bytes_sent``
        the upgrade request head plus the masked client frames. Both heads are
        measured from the header lines Tornado wrote and parsed (the bytes
        after the upgrade are counted on the socket itself).
    """
    ws_url = _ws_url(url)
    rec = WireRecording(url=ws_url, transport="websocket", requests=1)
    t0 = time.perf_counter()

    def elapsed() -> float:
        return time.perf_counter() - t0

    conn = await asyncio.wait_for(tornado.websocket.websocket_connect(ws_url), timeout)
    assert conn.protocol is not None
    counter = _SocketCounter(conn.protocol.stream)
    rec.connect_time = elapsed()
    rec.status = 101
    rec.headers = dict(conn.headers)
    request = conn.request
    parts = urlsplit(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request_head = _head_size(f"GET {target} HTTP/1.1", request.headers)
    response_head = _head_size("HTTP/1.1 101 Switching Protocols", conn.headers)
    rec.header_bytes = response_head
    message: dict[str, Any] = {"prompt": prompt, "seed": seed, "speed": speed}
    if cadence is not None:
        message["cadence"] = cadence
    if after is not None:
        message["after"] = after
    messages = 0
    last_id = "" if after is None or after < 0 else str(after)
    n = 0
    closed = False
    try:
        await conn.write_message(_dumps(message))
        while True:
            raw = await asyncio.wait_for(conn.read_message(), timeout)
            t = elapsed()
            if raw is None:
                closed = True
                rec.error = f"connection closed ({conn.close_code} {conn.close_reason or ''})"
                break
            messages += 1
            if rec.first_byte_time is None:
                rec.first_byte_time = t
            data = json.loads(raw)
            if "token" in data:
                last_id = str(data["id"])
                rec.arrivals.append(Arrival(t, Event(data=data["token"], id=last_id)))
                n += 1
                if drop_after is not None and n >= drop_after:
                    break
            elif data.get("done"):
                rec.arrivals.append(Arrival(t, Event(data=DONE, id=last_id)))
                break
            elif "error" in data:
                rec.error = str(data["error"])
                break
    finally:
        rec.end_time = elapsed()
        if not closed:
            conn.close(1000)
            # Read to the end: the server's close frame (and any message still
            # in flight) reached this client too and counts as received.
            try:
                await asyncio.wait_for(_drain(conn), 2.0)
            except asyncio.TimeoutError:  # pragma: no cover - a stuck peer
                pass
        rec.bytes_received = response_head + counter.received
        rec.bytes_sent = request_head + counter.sent
        rec.extra.update(
            {
                "upgrade_request_bytes": request_head,
                "upgrade_response_bytes": response_head,
                "messages": messages,
            }
        )
    return rec


async def _drain(conn: Any) -> None:
    while await conn.read_message() is not None:
        pass


async def compare_transports(
    base_url: str,
    *,
    prompt: str,
    seed: int = 0,
    speed: float = 1.0,
    poll_interval: float = 0.1,
) -> dict[str, Recording]:
    """Record one answer over SSE, WebSocket, short polling and long polling.

    The four run one after another (so they do not compete) on the same
    prompt, seed and speed: same tokens, same server-side timing. Every
    recording returned is a :class:`WireRecording` whose ``bytes_received``
    includes the HTTP heads (the SSE recording's header bytes are added in),
    so ``summary_table`` and :func:`bytes_per_token` compare like with like.

    Returns:
        ``{"sse": ..., "websocket": ..., "poll": ..., "longpoll": ...}``.
    """
    base = _base(base_url)
    sse = await record(f"{base}/chat?{_query(prompt, seed, speed, None)}")
    # client.record() returns at [DONE] before its connection generator's
    # cleanup (which adds the body bytes) has run; give the loop a turn.
    for _ in range(50):
        if sse.bytes_received:
            break
        await asyncio.sleep(0)
    out: dict[str, Recording] = {"sse": as_wire_recording(sse)}
    out["websocket"] = await record_websocket(base, prompt=prompt, seed=seed, speed=speed)
    out["poll"] = await record_poll(
        base, prompt=prompt, seed=seed, speed=speed, interval=poll_interval
    )
    out["longpoll"] = await record_longpoll(base, prompt=prompt, seed=seed, speed=speed)
    return out


def compare_transports_sync(base_url: str, **options: Any) -> dict[str, Recording]:
    """:func:`compare_transports` for synchronous code (a plain notebook cell)."""
    return run_sync(lambda: compare_transports(base_url, **options))


def comparison_rows(recordings: Mapping[str, Recording]) -> dict[str, dict[str, Any]]:
    """Per transport: TTFT, total time, tokens, requests, bytes/token, bytes sent.

    Times are in seconds (``None`` when unknown); ready for a DataFrame or a
    printed table.
    """
    rows: dict[str, dict[str, Any]] = {}
    for name, rec in recordings.items():
        times = rec.token_times
        rows[name] = {
            "ttft_s": times[0] if times else None,
            "total_s": rec.end_time,
            "tokens": len(times),
            "requests": rec.requests,
            "bytes_received": total_bytes_received(rec),
            "bytes_per_token": bytes_per_token(rec),
            "bytes_sent": rec.bytes_sent if isinstance(rec, WireRecording) else None,
        }
    return rows
