"""The base class of every streaming endpoint: :class:`SSEHandler`.

Subclass it, write :meth:`SSEHandler.stream`, and route it (in a route family,
or on a running server with ``server.add_handler``). It implements the hooks
the broadcast hub and the periodic sweep use (:class:`~sse_lab.server.hooks.StreamHooks`):
``gone``, ``opened_at``, ``last_write``, ``flush_started``, ``retry_pending``,
:meth:`~SSEHandler.write_nowait`, :meth:`~SSEHandler.end`,
:meth:`~SSEHandler.abort`, plus :meth:`~SSEHandler.pending_bytes`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import time
from typing import Any

import tornado.web
from tornado.iostream import StreamClosedError
from tornado.log import app_log

from sse_lab.protocol import encode_event
from sse_lab.server.args import InputError, apply_cors
from sse_lab.server.config import IDLE_FLUSH_GAP, SEND_HIGH_WATER
from sse_lab.server.context import ServerContext
from sse_lab.server.tornado_internals import (
    buffered_bytes,
    close_connection,
    connection_stream,
    finished,
    headers_written,
    pending_bytes,
    reason,
    stream_socket,
)

__all__ = ["ContextHandler", "SSEHandler", "consume_exception", "error_message"]


def error_message(handler: tornado.web.RequestHandler, kwargs: dict[str, Any]) -> str:
    """What an error answer says: the ``HTTPError``'s message, else the reason phrase.

    A 5xx that is not an ``HTTPError`` (a bug) says only the reason phrase
    and the request id that the server log shows with the traceback.
    """
    exc = kwargs.get("exc_info", (None, None, None))[1]
    if isinstance(exc, InputError):
        return exc.message
    if isinstance(exc, tornado.web.HTTPError) and exc.log_message:
        return exc.log_message % exc.args if exc.args else exc.log_message
    request_id = getattr(handler, "request_id", None)
    if request_id:
        return f"{reason(handler)} (request id {request_id}, in the server log)"
    return reason(handler)


class ContextHandler(tornado.web.RequestHandler):
    """A request handler that receives the server's context: the one channel.

    Route it with ``{"context": context}`` (route families do;
    ``server.add_handler`` does for any handler whose ``initialize`` takes
    ``context``). It also applies the server's CORS rule to every response,
    error responses included.

    Attributes:
        context: The server's :class:`~sse_lab.server.ServerContext`.
    """

    context: ServerContext
    #: Origins allowed to read the response; empty until ``initialize`` ran
    #: (Tornado sets default headers once before ``initialize`` is called).
    cors_origins: tuple[str, ...] = ()

    def initialize(self, context: ServerContext) -> None:
        """Receive the server's context (Tornado calls this with the route's kwargs)."""
        self.context = context
        self.cors_origins = context.config.cors_origins
        apply_cors(self, self.cors_origins)

    #: ``"text"``: errors in plain text; ``"json"``: ``{"error": {...}}``.
    error_format = "text"
    #: Set when an unexpected exception is logged; the client sees it too.
    request_id: str | None = None

    def set_default_headers(self) -> None:
        apply_cors(self, self.cors_origins)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log a real failure (not an ``HTTPError``) under a request id the client also gets."""
        if isinstance(value, tornado.web.HTTPError):
            super().log_exception(typ, value, tb)
            return
        self.request_id = secrets.token_hex(6)
        app_log.error(
            "request %s failed: %s %s", self.request_id, self.request.method,
            self.request.path, exc_info=(typ, value, tb),
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer an error with a message that names the parameter and the rule.

        Tornado's default page shows only the reason phrase; a learner who
        sends ``speed=fast`` should read ``speed must be a number``. Plain
        text, or JSON (``{"error": {"message", "param", "request_id"}}``) for
        handlers whose ``error_format`` is ``"json"``. A bug shows only the
        reason phrase and the request id of its logged traceback.
        """
        message = error_message(self, kwargs)
        if self.request_id:
            self.set_header("X-Request-Id", self.request_id)
        if self.error_format == "json":
            exc = kwargs.get("exc_info", (None, None, None))[1]
            error = {
                "message": message,
                "param": getattr(exc, "param", None),
                "status": status_code,
                "request_id": self.request_id,
            }
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(json.dumps({"error": error}))
            return
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code} {reason(self)}: {message}\n")


class SSEHandler(ContextHandler):
    """Base class for a streaming endpoint: subclass and write :meth:`stream`.

    ``get()`` sets the SSE headers, runs :meth:`stream` as its own task, and
    cancels that task the moment the client goes away (``on_connection_close``)
    or a write fails (``StreamClosedError``). Inside ``stream`` call
    :meth:`send` for each event; it writes the encoded bytes, then awaits
    ``flush()``, so a slow reader slows the producer instead of filling memory.

    Example::

        class Countdown(SSEHandler):
            async def stream(self):
                for n in range(3, 0, -1):
                    await self.send(str(n), id=str(n))
                    await asyncio.sleep(0.1)

        server.add_handler(r"/countdown", Countdown)

    Attributes:
        context: The server's :class:`~sse_lab.server.ServerContext`
            (config, counters, hub), given by ``initialize``.
        gone: True once the client left or the stream was aborted.
        opened_at: ``time.monotonic()`` when the handler was created.
        last_write: ``time.monotonic()`` of the last write to the stream.
        flush_started: When a flush still waiting for the reader began, else
            ``None`` (the sweep drops a reader stuck past ``send_timeout``).
        retry_pending: The ``retry:`` value the first event still has to
            carry, else ``None``.
    """

    def initialize(self, context: ServerContext) -> None:
        """Receive the server's context (Tornado calls this with the route's kwargs)."""
        super().initialize(context)
        self.gone = False
        self.last_write = self.opened_at = time.monotonic()
        self.flush_started: float | None = None
        self.retry_pending: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._iostream = connection_stream(self)
        self._unflushed = 0
        self._headers_out = False
        self._flush_handle: asyncio.Handle | None = None
        self._flushed_at = 0.0  # when a flush last started (monotonic)

    # -- headers ---------------------------------------------------------------
    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        # nginx and some proxies buffer responses unless told not to.
        self.set_header("X-Accel-Buffering", "no")
        super().set_default_headers()

    def compute_etag(self) -> None:
        return None  # a stream has no stable body to hash

    # -- the request -----------------------------------------------------------
    def parse_arguments(self) -> None:
        """Read and validate query arguments before the stream starts.

        Raise ``tornado.web.HTTPError(400, ...)`` here: once the first event
        is out, the status line has been sent and can no longer change.
        """

    async def get(self, *args: str) -> None:
        self.parse_arguments()
        # One token is a tiny write; send it now rather than letting Nagle's
        # algorithm hold it for the previous one's ACK.
        if self._iostream is not None:
            self._iostream.set_nodelay(True)
            self._cap_send_buffer()
        context = self.context
        path = self.request.path
        context.open.add(self)
        context.open_by_path[path] += 1
        context.served += 1
        self._task = asyncio.ensure_future(self._run(*args))
        context.tasks.add(self._task)
        try:
            await self._task
        except (asyncio.CancelledError, StreamClosedError):
            pass
        except Exception as exc:
            self._stream_failed(exc)
        finally:
            context.tasks.discard(self._task)
            context.open.discard(self)
            context.open_by_path[path] -= 1
        if not self.gone and not finished(self):
            try:
                self.finish()
            except StreamClosedError:  # pragma: no cover - raced with a close
                pass

    def _cap_send_buffer(self) -> None:
        # The kernel would otherwise grow a socket's send buffer to ~4 MB
        # (autotuning), all of which a reader that stopped reading absorbs
        # before a flush stalls and ``send_timeout`` starts counting.
        size = self.context.config.stream_sndbuf
        sock = stream_socket(self._iostream)
        if size is None or sock is None:
            return
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
        except OSError:  # pragma: no cover - not a TCP socket
            pass

    def _stream_failed(self, exc: Exception) -> None:
        """A stream's task raised: tell the client in an ``event: error``, log a bug."""
        if isinstance(exc, tornado.web.HTTPError):
            message = error_message(self, {"exc_info": (type(exc), exc, None)})
        else:
            self.request_id = secrets.token_hex(6)
            app_log.error("request %s failed: stream %s", self.request_id, self.request.path,
                          exc_info=exc)
            message = f"internal error (request id {self.request_id}, in the server log)"
        if self.gone or finished(self):
            return
        if not headers_written(self):
            # Nothing sent yet: a proper error answer is still possible.
            self.send_error(
                exc.status_code if isinstance(exc, tornado.web.HTTPError) else 500,
                exc_info=(type(exc), exc, None),
            )
            return
        self.write(encode_event(message, event="error"))

    async def _run(self, *args: str) -> None:
        # A comment-only first block flushes the headers at once (time to
        # first byte). ``retry:`` rides on the first real event instead: a
        # block with retry but no data is dispatched by nobody per the spec,
        # yet several parsers (httpx-sse, the openai SDK's) turn it into an
        # empty event, which an LLM client then fails to parse as JSON.
        self.retry_pending = self.context.config.retry_ms
        await self.send(comment="stream open")
        await self.stream(*args)

    async def stream(self, *args: str) -> None:
        """Produce the events of this endpoint (override in subclasses)."""
        raise NotImplementedError

    def on_connection_close(self) -> None:
        """Tornado's notice that the client left: cancel the stream's task."""
        self.gone = True
        if self._task is not None:
            self._task.cancel()

    def end(self) -> None:
        """End the response cleanly now (what was written is still delivered)."""
        if self._task is not None:
            self._task.cancel()

    def abort(self, reason: str = "") -> None:
        """Drop the connection now (the client may reconnect)."""
        self._flush_pending()  # what send() accepted leaves first
        self.gone = True
        if self._task is not None:
            self._task.cancel()
        close_connection(self)

    # -- writing ---------------------------------------------------------------
    async def send(
        self,
        data: str | None = None,
        *,
        event: str | None = None,
        id: str | None = None,  # noqa: A002 - the SSE field name
        retry: int | None = None,
        comment: str | None = None,
    ) -> None:
        """Encode one event, write it, and wait until it is on the socket."""
        if data is not None and retry is None and self.retry_pending is not None:
            retry = self.retry_pending
        if data is not None:
            self.retry_pending = None
        await self.send_bytes(
            encode_event(data, event=event, id=id, retry=retry, comment=comment),
            is_event=data is not None,
        )

    async def send_bytes(self, payload: bytes, *, is_event: bool = True) -> None:
        """Write already-encoded bytes (one or more whole blocks); flush them soon.

        The bytes are flushed when the current task next yields to the loop
        (so events sent back to back leave in one TCP write, and an event
        sent on its own leaves at once). ``send`` waits for the socket only
        once more than :data:`SEND_HIGH_WATER` bytes are waiting (a slow or
        stalled reader, or a producer that never yields).
        """
        if self.gone:
            raise StreamClosedError()
        self.write(payload)
        self.last_write = time.monotonic()
        if is_event:
            self.context.events_sent += 1
        self._unflushed += len(payload)
        buffered = buffered_bytes(self._iostream)
        if (
            buffered is not None
            and self._unflushed + buffered < SEND_HIGH_WATER
            # The first block goes out (and is awaited) at once. Once the
            # headers are out they stay out: remember it, one call less per event.
            and (self._headers_out or self._note_headers_out())
        ):
            if self._flush_handle is None:
                if self.last_write - self._flushed_at >= IDLE_FLUSH_GAP:
                    # Nothing went out just now: a paced event, not a burst.
                    # Send it at once rather than one loop turn later.
                    self._flush_pending()
                else:
                    self._flush_handle = asyncio.get_running_loop().call_soon(self._flush_soon)
            return
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._unflushed = 0
        self.flush_started = self._flushed_at = self.last_write
        try:
            await self.flush()
        finally:
            self.flush_started = None

    def _note_headers_out(self) -> bool:
        self._headers_out = headers_written(self)
        return self._headers_out

    def _flush_soon(self) -> None:
        self._flush_handle = None
        if not self.gone:
            self._flush_pending()

    def _flush_pending(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._unflushed and not finished(self):
            self._unflushed = 0
            self._flushed_at = time.monotonic()
            try:
                self.flush().add_done_callback(consume_exception)
            except StreamClosedError:
                pass

    def write_nowait(self, payload: bytes) -> None:
        """Write encoded SSE bytes and start flushing them without waiting.

        For writers that must not block on one reader (the hub, the sweep's
        heartbeats); the stall sweep and the hub's backlog limit bound what a
        reader that stopped can hold. Does nothing once the stream is gone.
        """
        if self.gone:
            return
        self.write(payload)
        self.last_write = time.monotonic()
        fut = self.flush()
        fut.add_done_callback(consume_exception)

    def pending_bytes(self) -> int:
        """Bytes written to this connection that the kernel has not taken yet (0 if unknown).

        It stays near zero for a reader that keeps up and only grows once the
        reader's receive window and our kernel send buffer are both full,
        i.e. when the reader has stopped reading.
        """
        return pending_bytes(self._iostream)


def consume_exception(fut: asyncio.Future[Any]) -> None:
    """Done-callback for a write nobody awaits: read its exception so none is logged."""
    if not fut.cancelled():
        fut.exception()
