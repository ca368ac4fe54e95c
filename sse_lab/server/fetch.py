"""A streamed ``AsyncHTTPClient`` fetch as an awaitable head and body.

The upstream relay (:mod:`sse_lab.server.upstream`) and the buffering proxy
(:mod:`sse_lab.server.proxy`) both read another server's answer while it
streams. Tornado's ``AsyncHTTPClient`` gives it through two callbacks:
``header_callback`` per head line and ``streaming_callback`` per body piece
(a coroutine since Tornado 6.6: the next piece is not read until it returns).
:class:`StreamedFetch` turns them into ``await fetch.head()`` and
``async for piece in fetch.body()``, with backpressure (at most
:data:`BUFFERED_PIECES` pieces wait for a slow reader) and a :meth:`close`
that makes the connection drop, so the other server sees its client leave.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from tornado import httputil
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

__all__ = ["BUFFERED_PIECES", "FetchFailed", "StreamedFetch", "UpstreamHead"]

#: Body pieces read ahead of a slow reader before the upstream read pauses.
BUFFERED_PIECES = 16


class FetchFailed(Exception):
    """The fetch failed (no connection, timeout, cut off); ``__cause__`` says how."""


class _Abandoned(httputil.HTTPInputError):
    # Raised in the streaming callback after close(): Tornado then closes the
    # connection. An HTTPInputError, because Tornado's client logs any other
    # exception from a callback as "Uncaught exception".
    pass


@dataclass(frozen=True)
class UpstreamHead:
    """The status line and headers of the answer being fetched."""

    code: int
    reason: str
    headers: httputil.HTTPHeaders


class StreamedFetch:
    """Start ``request`` now; read its head, then its body as it arrives.

    Args:
        request: The request (its ``header_callback`` and
            ``streaming_callback`` are set here).
        idle_timeout: Seconds without a head line or body piece before
            :meth:`head` or :meth:`body` raises ``asyncio.TimeoutError``.

    Use as ``try: ... finally: fetch.close()``.
    """

    def __init__(self, request: HTTPRequest, idle_timeout: float) -> None:
        self.idle_timeout = idle_timeout
        self.closed = False
        self._queue: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        self._room = asyncio.Semaphore(BUFFERED_PIECES)
        self._code, self._phrase = 0, ""
        self._response_headers = httputil.HTTPHeaders()
        request.header_callback = self._on_header
        request.streaming_callback = self._on_chunk
        self._client = AsyncHTTPClient(force_instance=True)
        self._fetch = asyncio.ensure_future(self._client.fetch(request, raise_error=False))
        self._fetch.add_done_callback(lambda _: self._queue.put_nowait(("end", None)))

    def _on_header(self, line: str) -> None:
        if line.startswith("HTTP/"):
            try:
                start = httputil.parse_response_start_line(line.strip())
            except httputil.HTTPInputError:
                return  # Tornado fails the fetch itself
            self._code, self._phrase = start.code, start.reason
            self._response_headers = httputil.HTTPHeaders()
        elif line.strip():
            self._response_headers.parse_line(line)
        elif self._code >= 200:  # the blank line after a final (not 1xx) head
            head = UpstreamHead(self._code, self._phrase, self._response_headers)
            self._queue.put_nowait(("head", head))

    async def _on_chunk(self, chunk: bytes) -> None:
        if self.closed:
            raise _Abandoned("the client left")
        await self._room.acquire()  # wait while the reader is behind
        if self.closed:
            raise _Abandoned("the client left")
        self._queue.put_nowait(("data", chunk))

    async def _next(self) -> tuple[str, object]:
        return await asyncio.wait_for(self._queue.get(), self.idle_timeout)

    def _failure(self) -> FetchFailed | None:
        exc = self._fetch.exception()
        if exc is None:
            return None
        failed = FetchFailed(str(exc))
        failed.__cause__ = exc
        return failed

    async def head(self) -> UpstreamHead:
        """The final response head (``1xx`` skipped).

        Raises:
            FetchFailed: The fetch ended without a head.
            asyncio.TimeoutError: Nothing came for ``idle_timeout`` seconds.
        """
        kind, item = await self._next()
        if kind == "head":
            assert isinstance(item, UpstreamHead)
            return item
        raise self._failure() or FetchFailed("the upstream sent no response head")

    async def body(self) -> AsyncIterator[bytes]:
        """The body pieces as they arrive (chunked framing and gzip undone).

        Raises:
            FetchFailed: The connection broke before the body was complete.
            asyncio.TimeoutError: Nothing came for ``idle_timeout`` seconds.
        """
        while True:
            kind, item = await self._next()
            if kind == "data":
                self._room.release()
                assert isinstance(item, bytes)
                yield item
                continue
            failure = self._failure()
            if failure is not None:
                raise failure
            return

    def close(self) -> None:
        """Stop: the connection drops at once if a piece waits, else at the next one."""
        if self.closed:
            return
        self.closed = True
        for _ in range(BUFFERED_PIECES):  # wake a callback waiting for room
            self._room.release()
        if self._fetch.done():
            self._client.close()
        else:
            # Retrieve the abort's exception (no "never retrieved" warning).
            self._fetch.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._fetch.add_done_callback(lambda _: self._client.close())
