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

from sse_lab.client.connection import Connection, HTTPError
from sse_lab.client.sse import record
from sse_lab.client.sync import run_sync
from sse_lab.client.websocket import WebSocket
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
    conn = Connection(base)
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
            resp = await conn.get(target, headers={"Accept": "application/json"}, timeout=timeout)
            body = resp.body or b""
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
        the upgrade request head plus the masked client frames. Every count
        is of the bytes actually written to and read from the socket.
    """
    ws_url = _ws_url(url)
    rec = WireRecording(url=ws_url, transport="websocket", requests=1)
    t0 = time.perf_counter()

    def elapsed() -> float:
        return time.perf_counter() - t0

    conn = await WebSocket.connect(ws_url, timeout=timeout)
    rec.connect_time = elapsed()
    rec.status = conn.status
    rec.headers = conn.headers
    request_head = conn.request_head_bytes
    response_head = conn.response_head_bytes
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
        await conn.send_text(_dumps(message))
        while True:
            raw = await asyncio.wait_for(conn.receive(), timeout)
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
            await conn.close(1000)
            # Read to the end: the server's close frame (and any message still
            # in flight) reached this client too and counts as received.
            try:
                await asyncio.wait_for(_drain(conn), 2.0)
            except asyncio.TimeoutError:  # pragma: no cover - a stuck peer
                pass
        conn.abort()
        rec.bytes_received = response_head + conn.bytes_received
        rec.bytes_sent = request_head + conn.bytes_sent
        rec.extra.update(
            {
                "upgrade_request_bytes": request_head,
                "upgrade_response_bytes": response_head,
                "messages": messages,
            }
        )
    return rec


async def _drain(conn: WebSocket) -> None:
    while await conn.receive() is not None:
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
