"""The hooks of an open stream: what the broadcast hub and the sweeper may touch.

:class:`~sse_lab.server.SSEHandler` implements this contract; the hub
(:mod:`sse_lab.server.hub`) and the periodic sweep
(:meth:`sse_lab.server.ServerContext.sweep`) use only these names, never a
handler's private fields. It is a :class:`typing.Protocol` so that they
depend on the contract, not on the handler class (which keeps the server's
modules free of import cycles).
"""

from __future__ import annotations

from typing import Protocol

import tornado.httputil

__all__ = ["StreamHooks"]


class StreamHooks(Protocol):
    """An open event stream, as seen by the hub and the sweeper.

    Attributes:
        request: The Tornado request (its connection carries the bytes).
        gone: True once the client left or the stream was aborted; nothing
            may be written any more.
        opened_at: ``time.monotonic()`` when the stream opened.
        last_write: ``time.monotonic()`` of the last write (whoever wrote it
            sets it; the sweeper sends a heartbeat after a silence).
        flush_started: ``time.monotonic()`` when a flush that is still
            waiting for the reader began, else ``None`` (the sweeper drops a
            reader stuck longer than ``ServerConfig.send_timeout``).
        retry_pending: The ``retry:`` value still owed to the client, else
            ``None``; whoever writes the stream's first event sends it with
            that event and sets this to ``None``.
    """

    request: tornado.httputil.HTTPServerRequest
    gone: bool
    opened_at: float
    last_write: float
    flush_started: float | None
    retry_pending: int | None

    def write_nowait(self, payload: bytes) -> None:
        """Write encoded SSE bytes and start flushing them without waiting."""

    def end(self) -> None:
        """End the response cleanly (what was written is still delivered)."""

    def abort(self, reason: str = "") -> None:
        """Drop the connection now."""


