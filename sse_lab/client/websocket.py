"""A small WebSocket client (RFC 6455) over asyncio, every byte counted.

Just enough for the lab's transport comparison: the upgrade handshake (a
request head written and a ``101`` head parsed by :mod:`sse_lab.http1`),
masked text frames out, text frames in, ping/pong and the closing handshake.
It counts the bytes of both heads and of every frame in each direction, so
a WebSocket answer is measured exactly like an SSE one. No extensions
(``permessage-deflate`` is never offered) and no subprotocols.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from collections.abc import Mapping

from sse_lab import http1
from sse_lab.client.connection import READ_SIZE, HTTPError, open_request

__all__ = ["MAX_MESSAGE_BYTES", "WebSocket", "WebSocketError"]

#: The largest message accepted; a bigger one closes the socket with 1009.
MAX_MESSAGE_BYTES = 16 * 2**20
# RFC 6455 section 1.3: the server proves it read our key with this GUID.
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TEXT, _BINARY, _CONTINUATION, _CLOSE, _PING, _PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


class WebSocketError(Exception):
    """The peer broke the WebSocket protocol (or the handshake failed)."""


def _frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame (clients must mask, RFC 6455 section 5.3)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 2**16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    mask = os.urandom(4)
    # XOR with the repeated key, done on integers: fast even in pure Python.
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return head + mask + masked


class WebSocket:
    """One client WebSocket; open it with :meth:`connect`.

    Attributes:
        status: ``101`` once the handshake succeeded.
        headers: The ``101`` response's headers (``Title-Case`` names).
        request_head_bytes, response_head_bytes: Sizes of the two upgrade heads.
        bytes_received, bytes_sent: Bytes of frames read and written after the
            handshake (frame headers, masks and payloads; close frames too).
        close_code, close_reason: From the server's close frame, if any.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request_head_bytes: int,
        head: http1.ResponseHead,
        leftover: bytes,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._buf = bytearray(leftover)
        self.status = head.status
        self.headers = dict(head.headers)
        self.request_head_bytes = request_head_bytes
        self.response_head_bytes = head.size
        self.bytes_received = len(leftover)
        self.bytes_sent = 0
        self.close_code: int | None = None
        self.close_reason = ""
        self._close_sent = False
        self._closed = False

    @classmethod
    async def connect(
        cls, url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 30.0
    ) -> WebSocket:
        """Open ``url`` (``ws://``, ``wss://``, or their ``http(s)://`` spelling).

        Raises:
            HTTPError: The server answered without switching protocols.
            WebSocketError: The ``101`` answer does not prove the handshake.
            OSError, asyncio.TimeoutError: No connection.
        """
        http_url = url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        all_headers = {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13",
            **(headers or {}),
        }
        resp = await asyncio.wait_for(open_request(http_url, headers=all_headers), timeout)
        try:
            await asyncio.wait_for(resp.read_head(), timeout)
            head = resp.head
            assert head is not None
            if head.status != 101:
                body = await asyncio.wait_for(resp.read_some(), timeout) or b""
                raise HTTPError(head.status, head.reason, body)
            accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
            if head.headers.get("Sec-Websocket-Accept") != accept:
                raise WebSocketError("the server's Sec-WebSocket-Accept does not match our key")
        except BaseException:
            resp.close()
            raise
        reader, writer = resp.detach()
        return cls(reader, writer, resp.request_bytes, head, resp.unused)

    async def send_text(self, text: str) -> None:
        """Send one text message."""
        await self._send(_TEXT, text.encode("utf-8"))

    async def _send(self, opcode: int, payload: bytes) -> None:
        frame = _frame(opcode, payload)
        self._writer.write(frame)
        self.bytes_sent += len(frame)
        await self._writer.drain()

    async def _read_exactly(self, n: int) -> bytes:
        while len(self._buf) < n:
            data = await self._reader.read(READ_SIZE)
            if not data:
                raise asyncio.IncompleteReadError(bytes(self._buf), n)
            self.bytes_received += len(data)
            self._buf += data
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    async def _read_frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = await self._read_exactly(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self._read_exactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self._read_exactly(8))
        if n > MAX_MESSAGE_BYTES:
            raise WebSocketError(f"a frame of {n} bytes is over the limit")
        mask = await self._read_exactly(4) if b1 & 0x80 else b""
        payload = await self._read_exactly(n)
        if mask:
            key = (mask * (n // 4 + 1))[:n]
            payload = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(
                n, "big"
            )
        return bool(b0 & 0x80), b0 & 0x0F, payload

    async def receive(self) -> str | None:
        """The next text message, or ``None`` once the connection closed.

        Answers pings; on the server's close frame it answers with its own
        (the closing handshake) and returns ``None``.
        """
        message = bytearray()
        while not self._closed:
            try:
                fin, opcode, payload = await self._read_frame()
            except (asyncio.IncompleteReadError, OSError):
                self._closed = True
                return None
            if opcode == _PING:
                await self._send(_PONG, payload)
            elif opcode == _PONG:
                continue
            elif opcode == _CLOSE:
                if len(payload) >= 2:
                    (self.close_code,) = struct.unpack("!H", payload[:2])
                    self.close_reason = payload[2:].decode("utf-8", "replace")
                if not self._close_sent:
                    await self.close(self.close_code or 1000)
                self._closed = True
                self._writer.close()
                return None
            else:
                message += payload
                if len(message) > MAX_MESSAGE_BYTES:
                    raise WebSocketError("message over the size limit")
                if fin:
                    return message.decode("utf-8", "replace")
        return None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start (or answer) the closing handshake; read on to see the server's close."""
        if self._close_sent or self._closed:
            return
        self._close_sent = True
        try:
            await self._send(_CLOSE, struct.pack("!H", code) + reason.encode("utf-8"))
        except OSError:  # the peer is already gone
            self._closed = True

    def abort(self) -> None:
        """Drop the TCP connection at once."""
        self._closed = True
        self._writer.close()
