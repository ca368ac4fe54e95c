"""One HTTP/1.1 connection over asyncio streams, every byte counted.

The measuring clients (:mod:`sse_lab.client.sse`, the polling clients in
:mod:`sse_lab.client.transports`, the lab's x-ray and load tools) all go
through this module: it writes request heads and reads responses with
:mod:`sse_lab.http1`, the lab's one HTTP/1.1 codec, and keeps the byte counts
a library would hide (response head, chunked framing, payload).

* :func:`open_request` -- one request on a fresh connection
  (``Connection: close``), the way an ``EventSource`` opens a stream.
* :class:`Connection` -- sequential requests over one kept-alive connection
  (reconnecting when the server closed it), the way ``fetch`` polls.
* :class:`Response` -- the response being read: status, headers, body pieces
  as they arrive, and the byte counts.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping

from sse_lab import http1

__all__ = ["Connection", "HTTPError", "Response", "open_request"]

# One socket read; also the most a measuring client hands on at once.
READ_SIZE = 65536
# StreamReader's buffer limit: a whole burst of events fits.
_STREAM_LIMIT = 2**20


class HTTPError(Exception):
    """The server answered with a status or content type that is not a stream.

    Attributes:
        status: The HTTP status code.
        body: The start of the response body (may be empty).
    """

    def __init__(self, status: int, reason: str, body: bytes = b"") -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status
        self.body = body


class Response:
    """One HTTP/1.1 response being read: its head, then body pieces.

    Get one from :func:`open_request` or :meth:`Connection.request`.

    Attributes:
        status, reason: From the status line.
        headers: ``Title-Case`` names to values (repeated ones joined).
        head: The :class:`sse_lab.http1.ResponseHead` itself.
        header_bytes: Bytes of the response head (and of any ``1xx`` before it).
        body: The whole body once :meth:`read_all` read it, else ``None``.
        truncated: The connection closed before the body's framing said it
            was complete (a chunked stream cut off mid-answer).
        request_bytes: Bytes of the request that asked for this response
            (head and body).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        parser: http1.ResponseParser,
        leftover: bytes = b"",
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = parser
        self._pending = leftover  # bytes read with the head, not yet fed to the body
        self._eof = False
        self.head: http1.ResponseHead | None = None
        self.status = 0
        self.reason = ""
        self.headers: dict[str, str] = {}
        self.header_bytes = 0
        self.body: bytes | None = None
        self.truncated = False
        self.request_bytes = 0

    @property
    def wire_bytes(self) -> int:
        """Body bytes received so far, chunked framing included."""
        return self._parser.framing_bytes + self._parser.payload_bytes

    @property
    def framing_bytes(self) -> int:
        """Bytes of chunked framing received so far."""
        return self._parser.framing_bytes

    @property
    def payload_bytes(self) -> int:
        """Body payload bytes received so far (framing removed)."""
        return self._parser.payload_bytes

    @property
    def complete(self) -> bool:
        """The whole response (head and body) has been read."""
        return self._parser.done

    @property
    def unused(self) -> bytes:
        """Bytes received after this response (the start of the next one)."""
        return self._parser.unused

    async def read_head(self) -> None:
        """Read up to the end of the (final) response head.

        Raises:
            asyncio.IncompleteReadError: The connection closed first.
            sse_lab.http1.ProtocolError: Not a valid HTTP/1.1 response head.
        """
        parser = self._parser
        while parser.head is None:
            data = await self._reader.read(READ_SIZE)
            if not data:
                raise asyncio.IncompleteReadError(b"", None)
            for event in parser.feed(data):
                if isinstance(event, http1.Data):
                    self._pending += event.data
        head = parser.head
        self.head = head
        self.status, self.reason, self.headers = head.status, head.reason, dict(head.headers)
        self.header_bytes = parser.head_bytes

    async def read_some(self) -> bytes | None:
        """The next piece of body as soon as it arrives; ``None`` at the end.

        A piece is the payload of one socket read (several chunks of a
        chunked body come out together), never empty.
        """
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        parser = self._parser
        while not parser.done and not self._eof:
            n = READ_SIZE
            body = parser.body
            if isinstance(body, http1.ContentLengthDecoder):
                n = min(n, body.remaining)  # never read into the next response
            data = await self._reader.read(n)
            if not data:
                self._eof = True
                try:
                    parser.feed_eof()
                except http1.IncompleteMessage:
                    # Reported, not raised: a stream cut off by the server ends
                    # like any other (a reconnecting client just comes back).
                    self.truncated = True
                return None
            piece = b"".join(e.data for e in parser.feed(data) if isinstance(e, http1.Data))
            if piece:
                return piece
        return None

    async def read_all(self, limit: int = 2**26) -> bytes:
        """The rest of the body (at most ``limit`` bytes are kept)."""
        out = bytearray()
        while (data := await self.read_some()) is not None:
            if len(out) < limit:
                out += data[: limit - len(out)]
        self.body = bytes(out)
        return self.body

    def detach(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Hand the connection's streams over (after ``101 Switching Protocols``).

        Bytes that arrived after the head are in :attr:`unused`.
        """
        return self._reader, self._writer

    def close(self) -> None:
        """Close the connection under this response (the server sees the client leave)."""
        self._writer.close()


async def _connect(
    origin: http1.Origin,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    ctx = ssl.create_default_context() if origin.secure else None
    return await asyncio.open_connection(origin.host, origin.port, ssl=ctx, limit=_STREAM_LIMIT)


def _all_headers(
    headers: Mapping[str, str] | None, body: bytes | None, connection: str | None
) -> dict[str, str]:
    out = dict(headers or {})
    if body is not None:
        out.setdefault("Content-Length", str(len(body)))
    if connection is not None:
        out.setdefault("Connection", connection)
    return out


async def open_request(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Response:
    """Open a fresh connection to ``url``, send one request, return its response.

    The request says ``Connection: close`` (unless ``headers`` says otherwise)
    and ``Content-Length`` for a ``body``. Call :meth:`Response.read_head`
    next, then :meth:`Response.read_some` until it returns ``None``;
    :meth:`Response.close` when done.

    Raises:
        OSError: The connection failed.
        sse_lab.http1.ProtocolError: Not an http(s) URL, or a header that
            would inject a line break.
    """
    origin = http1.split_url(url)
    head = http1.build_request(
        method, origin.target, origin.netloc, _all_headers(headers, body, "close")
    )
    reader, writer = await _connect(origin)
    writer.write(head + (body or b""))
    await writer.drain()
    resp = Response(reader, writer, http1.ResponseParser(method))
    resp.request_bytes = len(head) + len(body or b"")
    return resp


class Connection:
    """Sequential HTTP/1.1 requests over one kept-alive connection, bytes counted.

    Opens the connection on the first request, keeps it while the server
    allows (``Connection: keep-alive`` semantics of HTTP/1.1), and opens a new
    one when the server closed it (retrying once when a reused connection
    turns out to be closed).

    Args:
        base_url: ``http(s)://host:port`` (a path is ignored; requests give
            their own target).

    Attributes:
        bytes_sent: Request bytes written (heads and bodies).
        connections: Connections opened so far.
    """

    def __init__(self, base_url: str) -> None:
        self.origin = http1.split_url(base_url)
        self.bytes_sent = 0
        self.connections = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = False

    async def request(
        self,
        method: str,
        target: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 30.0,
    ) -> Response:
        """Send one request and read its head; the body is the caller's to read.

        Read the body to its end (:meth:`Response.read_all`) before the next
        request, or the connection is closed and reopened.

        Raises:
            OSError, asyncio.IncompleteReadError: The connection failed.
            asyncio.TimeoutError: No head within ``timeout`` seconds.
        """
        head = http1.build_request(
            method, target, self.origin.netloc, _all_headers(headers, body, None)
        )
        for attempt in range(2):
            if self._writer is None:
                self._reader, self._writer = await asyncio.wait_for(_connect(self.origin), timeout)
                self.connections += 1
                self._used = False
            assert self._reader is not None and self._writer is not None
            reused = self._used
            self._used = True
            resp = Response(self._reader, self._writer, http1.ResponseParser(method))
            resp.request_bytes = len(head) + len(body or b"")
            try:
                self._writer.write(head + (body or b""))
                await self._writer.drain()
                self.bytes_sent += len(head) + len(body or b"")
                await asyncio.wait_for(resp.read_head(), timeout)
            except (OSError, asyncio.IncompleteReadError):
                self.close()
                if reused and attempt == 0:
                    continue  # the server closed an idle kept-alive connection
                raise
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    async def get(
        self, target: str, *, headers: Mapping[str, str] | None = None, timeout: float = 30.0
    ) -> Response:
        """``GET target`` and read the whole body (``resp.body``); see :meth:`finish`."""
        resp = await self.request("GET", target, headers=headers, timeout=timeout)
        await self.finish(resp, timeout)
        return resp

    async def finish(self, resp: Response, timeout: float = 30.0) -> bytes:
        """Read the rest of ``resp``'s body; keep the connection if the server allows.

        The body is returned and also kept as ``resp.body``.
        """
        try:
            body = await asyncio.wait_for(resp.read_all(), timeout)
        except BaseException:
            self.close()
            raise
        # Bytes beyond the response would be an answer to a request never
        # sent: a connection in that state is not reused.
        if not (resp.complete and resp.head is not None and resp.head.keep_alive) or resp.unused:
            self.close()
        return body

    def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
