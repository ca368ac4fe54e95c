"""An SSE client that measures: every event stamped with its arrival time.

It speaks HTTP/1.1 over raw asyncio streams through
:mod:`sse_lab.client.connection` and the lab's own codec :mod:`sse_lab.http1`
(no HTTP library in between), so it sees exactly what crossed the wire: the
time the connection opened, the time the first body byte arrived, every
chunk, and the byte count including headers and chunked framing. Events are decoded by
:class:`sse_lab.protocol.EventParser`, the same decoder the notebooks teach.

Like a browser's ``EventSource`` it can reconnect: it waits the server's
``retry:`` time (or a capped, jittered exponential backoff), and sends
``Last-Event-ID`` so the server resumes where the stream broke.

* :class:`SSEClient` -- ``async for arrival in SSEClient(url): ...``
* :func:`record` -- read a whole stream into a :class:`Recording`.
* :func:`fetch_blocking` -- the non-streaming style: one response at the end.

The synchronous wrappers (:func:`~sse_lab.client.record_sync`...) live in
:mod:`sse_lab.client.sync`; the HTTP/1.1 connection in
:mod:`sse_lab.client.connection`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from sse_lab.client.connection import HTTPError, Response, open_request
from sse_lab.protocol import DONE, Event, EventParser
from sse_lab.recording import Arrival, Recording

__all__ = [
    "STREAM_HEADERS",
    "SSEClient",
    "backoff_delay",
    "fetch_blocking",
    "record",
]


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


#: Request headers of a stream request, as ``EventSource`` sends them.
STREAM_HEADERS: dict[str, str] = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}


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
        self._response: Response | None = None
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
        headers = {**STREAM_HEADERS, **self.headers}
        if self.parser.last_event_id:
            headers["Last-Event-ID"] = self.parser.last_event_id
        rec.requests += 1
        resp = await asyncio.wait_for(
            open_request(self.url, method=self.method, headers=headers, body=self.body),
            self.timeout,
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
                        body = await asyncio.wait_for(resp.read_some(), 1.0) or b""
                    except (asyncio.TimeoutError, OSError, ValueError):
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
    headers = {**STREAM_HEADERS, "Accept": "application/json"}
    resp = await asyncio.wait_for(open_request(url, headers=headers), timeout)
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
