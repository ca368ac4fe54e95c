"""An SSE client that measures: every event stamped with its arrival time.

It speaks HTTP/1.1 over raw asyncio streams (no HTTP library in between), so
it sees exactly what crossed the wire: the time the connection opened, the
time the first body byte arrived, every chunk, and the byte count including
headers and chunked framing. Events are decoded by
:class:`sse_lab.protocol.EventParser`, the same decoder the notebooks teach.

Like a browser's ``EventSource`` it can reconnect: it waits the server's
``retry:`` time (or a capped, jittered exponential backoff), and sends
``Last-Event-ID`` so the server resumes where the stream broke.

* :class:`SSEClient` -- ``async for arrival in SSEClient(url): ...``
* :func:`record` -- read a whole stream into a :class:`Recording`.
* :func:`fetch_blocking` -- the non-streaming style: one response at the end.
* :func:`record_sync` / :func:`fetch_blocking_sync` -- the same from plain code
  (or from a notebook cell that does not ``await``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from sse_lab.protocol import DONE, Event, EventParser
from sse_lab.recording import Arrival, Recording

__all__ = [
    "HTTPError",
    "SSEClient",
    "fetch_blocking",
    "fetch_blocking_sync",
    "record",
    "record_sync",
    "backoff_delay",
    "run_sync",
]

T = TypeVar("T")
_CHUNK = 65536


class HTTPError(Exception):
    """The server answered with a status or content type that is not a stream."""

    def __init__(self, status: int, reason: str, body: bytes = b"") -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status
        self.body = body


def backoff_delay(
    attempt: int, *, base: float = 0.25, cap: float = 5.0, rng: random.Random | None = None
) -> float:
    """Capped exponential backoff with full jitter, in seconds.

    ``attempt`` counts from 0. The ceiling doubles per attempt up to ``cap``;
    the delay is drawn uniformly below it so many clients that lost the same
    server do not all come back in the same instant.
    """
    ceiling = min(cap, base * 2.0 ** min(attempt, 60))  # 2**1024 would overflow
    return (rng or random).uniform(0, ceiling)


class _Response:
    """One HTTP/1.1 response being read: status, headers, then body bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.status = 0
        self.reason = ""
        self.headers: dict[str, str] = {}
        self.header_bytes = 0
        self.wire_bytes = 0  # body bytes incl. chunked framing
        self._chunked = False
        self._remaining: int | None = None  # Content-Length left, None = until close
        self._chunk_left = 0
        self._buf = b""
        self._eof = False

    async def read_head(self) -> None:
        head = await self.reader.readuntil(b"\r\n\r\n")
        self.header_bytes = len(head)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                self.headers[k.strip().title()] = v.strip()
        te = self.headers.get("Transfer-Encoding", "").lower()
        self._chunked = "chunked" in te
        if not self._chunked and "Content-Length" in self.headers:
            self._remaining = int(self.headers["Content-Length"])

    async def read_some(self) -> bytes | None:
        """The next piece of body as soon as it arrives; None at the end."""
        while True:
            if self._eof:
                return None
            if not self._chunked:
                if self._remaining == 0:
                    self._eof = True
                    return None
                n = _CHUNK if self._remaining is None else min(_CHUNK, self._remaining)
                data = await self.reader.read(n)
                if not data:
                    self._eof = True
                    return None
                self.wire_bytes += len(data)
                if self._remaining is not None:
                    self._remaining -= len(data)
                return data
            out = self._decode_chunked()
            if out:
                return out
            if self._eof:
                return None
            data = await self.reader.read(_CHUNK)
            if not data:
                self._eof = True
                return None
            self.wire_bytes += len(data)
            self._buf += data

    def _decode_chunked(self) -> bytes:
        out = bytearray()
        buf = self._buf
        while buf:
            if self._chunk_left > 0:
                take = buf[: self._chunk_left]
                out += take
                buf = buf[len(take) :]
                self._chunk_left -= len(take)
                if self._chunk_left == 0:
                    self._chunk_left = -2  # expect the CRLF after the data
                continue
            if self._chunk_left < 0:  # the CRLF after a chunk's data
                if len(buf) < 2:
                    break
                buf = buf[2:]
                self._chunk_left = 0
                continue
            nl = buf.find(b"\r\n")
            if nl < 0:
                break
            size = int(buf[:nl].split(b";", 1)[0], 16)
            buf = buf[nl + 2 :]
            if size == 0:
                self._eof = True
                buf = b""
                break
            self._chunk_left = size
        self._buf = buf
        return bytes(out)

    def close(self) -> None:
        self.writer.close()


async def _open(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> _Response:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if secure else 80)
    ctx = ssl.create_default_context() if secure else None
    reader, writer = await asyncio.open_connection(host, port, ssl=ctx, limit=2**20)
    # Percent-encode what may not appear raw in a request line (spaces, CJK
    # text in a prompt); already-encoded sequences and delimiters stay.
    safe = "/?&=%+:@!$'()*,;~-._"
    target = quote(parts.path or "/", safe=safe)
    if parts.query:
        target += "?" + quote(parts.query, safe=safe)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    lines = [f"{method} {target} HTTP/1.1", f"Host: {netloc}"]
    all_headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
    all_headers.update(headers or {})
    if body is not None:
        all_headers.setdefault("Content-Length", str(len(body)))
    all_headers.setdefault("Connection", "close")
    lines += [f"{k}: {v}" for k, v in all_headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
    await writer.drain()
    return _Response(reader, writer)


class SSEClient:
    """Read one SSE stream (optionally reconnecting), yielding timed events.

    Iterate it with ``async for``; each item is an :class:`Arrival`
    (``.t`` seconds since the first request, ``.event``). Meanwhile
    ``.recording`` fills up with timings and counts.

    Args:
        url: The stream's URL (``http://`` or ``https://``).
        reconnect: Reconnect when the stream ends or breaks before ``[DONE]``,
            like ``EventSource``. Off by default: a measurement sees one
            connection unless it asks for more.
        max_reconnects: Give up after this many reconnections in a row
            without receiving an event.
        backoff_cap: Ceiling (seconds) of the exponential backoff used when
            the server set no ``retry:``.
        stop_on_done: Stop at the ``[DONE]`` sentinel (LLM APIs end that way).
        last_event_id: Start as if resuming after this event ID.
        headers: Extra request headers.
        method, body: For ``POST`` streams (``fetch``-style LLM APIs).
        timeout: Give up when nothing arrives for this many seconds.
    """

    def __init__(
        self,
        url: str,
        *,
        reconnect: bool = False,
        max_reconnects: int = 5,
        backoff_cap: float = 5.0,
        stop_on_done: bool = True,
        last_event_id: str | None = None,
        headers: dict[str, str] | None = None,
        method: str = "GET",
        body: bytes | None = None,
        timeout: float = 30.0,
        seed: int | None = None,
    ) -> None:
        self.url = url
        self.reconnect = reconnect
        self.max_reconnects = max_reconnects
        self.backoff_cap = backoff_cap
        self.stop_on_done = stop_on_done
        self.headers = dict(headers or {})
        self.method = method
        self.body = body
        self.timeout = timeout
        self.parser = EventParser()
        if last_event_id is not None:
            self.parser.last_event_id = last_event_id
        self.recording = Recording(url=url, transport="sse")
        self._rng = random.Random(seed)
        self._response: _Response | None = None
        self._closed = False
        self._t0: float | None = None

    def elapsed(self) -> float:
        """Seconds since the first request started."""
        return 0.0 if self._t0 is None else time.perf_counter() - self._t0

    async def close(self) -> None:
        """Stop reading and close the connection (the server sees it leave)."""
        self._closed = True
        if self._response is not None:
            self._response.close()

    def __aiter__(self) -> AsyncIterator[Arrival]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Arrival]:
        rec = self.recording
        self._t0 = time.perf_counter()
        failures = 0
        try:
            while not self._closed:
                got_event = False
                try:
                    # aclosing: leaving at [DONE] closes the connection (and
                    # settles its byte count) now, not whenever GC gets to it.
                    async with contextlib.aclosing(self._one_connection()) as connection:
                        async for arrival in connection:
                            got_event = True
                            failures = 0
                            yield arrival
                            if self.stop_on_done and arrival.event.data == DONE:
                                return
                except HTTPError:
                    raise
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    rec.error = f"{type(exc).__name__}: {exc}"
                if self._closed or not self.reconnect:
                    return
                failures = 0 if got_event else failures + 1
                if failures > self.max_reconnects:
                    rec.error = rec.error or "gave up reconnecting"
                    return
                if self.parser.retry is not None and failures == 0:
                    delay = self.parser.retry / 1000
                else:
                    delay = backoff_delay(failures, cap=self.backoff_cap, rng=self._rng)
                await asyncio.sleep(delay)
                rec.reconnects += 1
        finally:
            rec.end_time = self.elapsed()
            if self._response is not None:
                self._response.close()

    async def _one_connection(self) -> AsyncIterator[Arrival]:
        rec = self.recording
        headers = dict(self.headers)
        if self.parser.last_event_id:
            headers["Last-Event-ID"] = self.parser.last_event_id
        rec.requests += 1
        resp = await asyncio.wait_for(
            _open(self.url, method=self.method, headers=headers, body=self.body), self.timeout
        )
        self._response = resp
        try:
            await asyncio.wait_for(resp.read_head(), self.timeout)
            rec.header_bytes += resp.header_bytes
            if rec.connect_time is None:
                rec.connect_time = self.elapsed()
            rec.status, rec.headers = resp.status, resp.headers
            ctype = resp.headers.get("Content-Type", "")
            if resp.status != 200 or not ctype.startswith("text/event-stream"):
                body = b""
                if resp.status != 204:
                    try:
                        body = await asyncio.wait_for(resp.reader.read(_CHUNK), 1.0)
                    except (asyncio.TimeoutError, OSError):
                        pass
                self._closed = True
                raise HTTPError(resp.status, resp.reason or ctype, body)
            parser = self.parser
            while True:
                data = await asyncio.wait_for(resp.read_some(), self.timeout)
                if data is None:
                    break
                t = self.elapsed()
                if rec.first_byte_time is None:
                    rec.first_byte_time = t
                for event in parser.feed(data):
                    arrival = Arrival(t, event)
                    rec.arrivals.append(arrival)
                    yield arrival
            parser.close()
        finally:
            rec.bytes_received += resp.wire_bytes
            resp.close()
            self._response = None
            # The body-less remainder of a stream still counts for the next
            # connection's parser state: close() kept id and retry.


async def record(
    url: str,
    *,
    max_events: int | None = None,
    on_event: Callable[[Arrival], Any] | None = None,
    **client_options: Any,
) -> Recording:
    """Read a stream to its end (``[DONE]``) and return the :class:`Recording`.

    Args:
        url: The stream's URL.
        max_events: Leave after this many events (the server sees the client
            disconnect mid-answer).
        on_event: Called with each :class:`Arrival` as it comes (a widget's
            update, a print...).
        **client_options: Passed to :class:`SSEClient` (``reconnect=True``...).
    """
    client = SSEClient(url, **client_options)
    n = 0
    async for arrival in client:
        n += 1
        if on_event is not None:
            on_event(arrival)
        if max_events is not None and n >= max_events:
            await client.close()
            break
    return client.recording


async def fetch_blocking(url: str, *, timeout: float = 60.0) -> Recording:
    """The non-streaming style: one GET, the whole answer at the end.

    Reads a JSON body with a ``text`` field (the server's ``/complete``) or
    plain text, and records it as a single arrival when the body is complete.
    """
    rec = Recording(url=url, transport="blocking")
    t0 = time.perf_counter()
    rec.requests = 1
    resp = await asyncio.wait_for(_open(url, headers={"Accept": "application/json"}), timeout)
    try:
        await asyncio.wait_for(resp.read_head(), timeout)
        rec.connect_time = time.perf_counter() - t0
        rec.status, rec.headers, rec.header_bytes = resp.status, resp.headers, resp.header_bytes
        body = b""
        while True:
            data = await asyncio.wait_for(resp.read_some(), timeout)
            if data is None:
                break
            if rec.first_byte_time is None:
                rec.first_byte_time = time.perf_counter() - t0
            body += data
        t = time.perf_counter() - t0
        rec.bytes_received = resp.wire_bytes
        if resp.status != 200:
            raise HTTPError(resp.status, resp.reason, body)
        text = body.decode("utf-8", "replace")
        if resp.headers.get("Content-Type", "").startswith("application/json"):
            text = json.loads(text)["text"]
        rec.arrivals.append(Arrival(t, Event(data=text)))
        rec.end_time = t
    finally:
        resp.close()
    return rec


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code.

    Inside a running event loop (a notebook cell) it runs on a fresh loop in
    a helper thread, so it never tries to re-enter the busy loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())  # type: ignore[arg-type]
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(factory())  # type: ignore[arg-type]
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=worker, name="sse_lab-sync-client", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def record_sync(url: str, **options: Any) -> Recording:
    """:func:`record` for synchronous code (scripts, blocking notebook cells)."""
    return run_sync(lambda: record(url, **options))


def fetch_blocking_sync(url: str, **options: Any) -> Recording:
    """:func:`fetch_blocking` for synchronous code."""
    return run_sync(lambda: fetch_blocking(url, **options))
