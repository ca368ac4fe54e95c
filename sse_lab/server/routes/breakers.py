"""What breaks streaming on the server: a forgotten flush, compression without sync flush.

Teaching routes, mounted only when asked for: ``ServerConfig(teaching_routes=True)``
or ``python -m sse_lab serve --teaching-routes``. Plain ``serve`` never has them.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

from tornado.iostream import StreamClosedError

from sse_lab.server.context import ServerContext
from sse_lab.server.routes.chat import ChatHandler

__all__ = ["NoFlushChatHandler", "GzipChatHandler", "routes"]

# -- server-side mistakes -------------------------------------------------------------


class NoFlushChatHandler(ChatHandler):
    """``/chat-noflush``: ``/chat`` written by a handler that never flushes.

    ``send_bytes`` calls ``self.write(payload)`` and returns: no
    ``await self.flush()``. Tornado keeps everything (headers included) in the
    handler's write buffer until ``finish()``, so the client receives the
    whole answer in one piece at the end. Heartbeats and the lifetime notice
    are written the same way (unflushed), as such a handler would. Events
    still count in ``events_sent`` when written; the client going away still
    cancels the generation.
    """

    async def send_bytes(self, payload: bytes, *, is_event: bool = True) -> None:
        if self.gone:
            raise StreamClosedError()
        self.write(payload)  # the mistake: no `await self.flush()` after it
        self.last_write = time.monotonic()
        if is_event:
            self.context.events_sent += 1

    def write_nowait(self, payload: bytes) -> None:
        if not self.gone:
            self.write(payload)
            self.last_write = time.monotonic()


class GzipChatHandler(ChatHandler):
    """``/chat-gzip``: ``/chat`` through a gzip layer that never sync-flushes.

    With ``Accept-Encoding: gzip`` the response gets ``Content-Encoding: gzip``
    and every event goes through one ``zlib.compressobj`` (level 6, gzip
    container) with plain ``compress()``: deflate holds the data back until
    its block buffer fills, which a chat answer never does, so only the gzip
    header leaves at once and the rest at the final ``flush()``. Each
    Tornado ``flush()`` still happens, but has (almost) nothing to send.

    ``?sync_flush=1`` adds ``Z_SYNC_FLUSH`` after every event (what Tornado's
    ``compress_response=True`` does): the stream streams again. Without
    ``gzip`` in ``Accept-Encoding`` the stream is sent uncompressed.
    """

    def initialize(self, context: ServerContext) -> None:
        super().initialize(context)
        self._z: Any = None
        self._sync = False

    def parse_arguments(self) -> None:
        super().parse_arguments()
        self._sync = self.get_argument("sync_flush", "0").lower() in ("1", "true", "yes")
        self.set_header("Vary", "Accept-Encoding")
        if "gzip" in self.request.headers.get("Accept-Encoding", ""):
            self.set_header("Content-Encoding", "gzip")
            self._z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def _compress(self, payload: bytes) -> bytes:
        out = self._z.compress(payload)
        if self._sync:
            out += self._z.flush(zlib.Z_SYNC_FLUSH)
        return bytes(out)

    async def send_bytes(self, payload: bytes, *, is_event: bool = True) -> None:
        if self._z is None:
            await super().send_bytes(payload, is_event=is_event)
            return
        out = self._compress(payload)
        if out:
            await super().send_bytes(out, is_event=is_event)
            return
        # Swallowed by the compressor: the application wrote, nothing left.
        if self.gone:
            raise StreamClosedError()
        self.last_write = time.monotonic()
        if is_event:
            self.context.events_sent += 1

    def write_nowait(self, payload: bytes) -> None:
        if self._z is None:
            super().write_nowait(payload)
            return
        out = self._compress(payload)
        if out:
            super().write_nowait(out)
        else:
            self.last_write = time.monotonic()

    def finish(self, chunk: Any = None) -> Any:
        z, self._z = self._z, None
        if z is not None and not self.gone:
            self.write(z.flush())  # the held-back answer, all at once
        return super().finish(chunk)


def routes(context: ServerContext) -> list[tuple[Any, ...]]:
    """The teaching family's routes: ``/chat-noflush``, ``/chat-gzip``."""
    kw = {"context": context}
    return [
        (r"/chat-noflush", NoFlushChatHandler, kw),
        (r"/chat-gzip", GzipChatHandler, kw),
    ]
