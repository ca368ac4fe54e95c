"""The lab's SSE server: Tornado on its own asyncio loop in a daemon thread.

The server owns its loop in a daemon thread (see :mod:`sse_lab.server.threaded` for
why), so notebook cells may block or await as they like.

Endpoints (all SSE responses are built with :func:`sse_lab.protocol.encode_event`):

* ``GET /``         the chat page: ``EventSource``, ``textContent``, backoff.
* ``GET /sse``      the source article's clock, ``?count=10&interval=1.0``.
* ``GET /chat``     the simulated model's tokens, ``?prompt=&seed=&speed=``,
  one event per token with ``id: k``; resumes after ``Last-Event-ID: k``.
* ``GET /complete`` the same answer, blocking: JSON once it is all generated.
* ``GET /stats``    open connections, events sent, live tasks, RSS.
* ``GET /events``   broadcast subscription (:mod:`sse_lab.server.routes.broadcast`).
* ``/ws``, ``/poll``, ``/longpoll``  the same tokens over other transports
  (:mod:`sse_lab.transports`); ``/chat-noflush``, ``/chat-gzip`` what breaks
  streaming (:mod:`sse_lab.buffering`).
* ``POST /v1/chat/completions``, ``GET /v1/models``  OpenAI-compatible
  (:mod:`sse_lab.server.routes.openai`).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import Counter
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web
from tornado.iostream import StreamClosedError
from tornado.log import app_log

from sse_lab.model import SimulatedLLM
from sse_lab.protocol import DONE, encode_event
from sse_lab.server.threaded import ThreadedServer
from sse_lab.server.upstream import UpstreamError, UpstreamModel

if TYPE_CHECKING:
    from sse_lab.server.routes.broadcast import Hub

__all__ = [
    "LabServer",
    "ServerConfig",
    "SSEHandler",
    "start_server",
    "running_servers",
    "process_rss",
]

T = TypeVar("T")


@dataclass(frozen=True)
class ServerConfig:
    """Knobs of a :class:`LabServer`.

    Attributes:
        heartbeat: Seconds of silence after which an open stream gets a
            ``: heartbeat`` comment, so proxies and browsers keep it open.
        send_timeout: Seconds a write may wait for a reader; a client that
            stops reading for longer is disconnected instead of letting its
            buffer grow.
        retry_ms: The ``retry:`` reconnection time sent at the start of every
            stream.
        cors_origins: Origins allowed to read the streams cross-origin; empty
            means no ``Access-Control-Allow-Origin`` header at all.
        model: The token source behind ``/chat`` and ``/complete``.
        max_lifetime: Seconds after which a stream is ended with a hint to
            reconnect (the source article's 30-minute timeout); ``None`` for
            no limit. Bounds what a forgotten tab can hold on to.
        subscriber_queue: Bytes a broadcast subscriber may have waiting
            unsent before it is dropped as stalled.
    """

    heartbeat: float = 15.0
    send_timeout: float = 10.0
    retry_ms: int = 1000
    cors_origins: tuple[str, ...] = ()
    model: SimulatedLLM = field(default_factory=SimulatedLLM)
    max_lifetime: float | None = 30 * 60.0
    subscriber_queue: int = 256 * 1024


def process_rss() -> int:
    """Resident set size of this process in bytes."""
    try:
        import psutil  # ipykernel depends on it, so it is there in the lab

        return int(psutil.Process().memory_info().rss)
    except ImportError:  # pragma: no cover - fallback for a bare install
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _Lab:
    """Shared state of one server, touched only from the server's loop."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.open: set[SSEHandler] = set()
        self.open_by_path: Counter[str] = Counter()
        self.served = 0
        self.events_sent = 0
        self.tasks: set[asyncio.Task[Any]] = set()
        self.dropped_stalled = 0
        self.heartbeats_sent = 0
        self.lifetime_closed = 0
        self.started = time.monotonic()
        from sse_lab.server.routes.broadcast import (
            Hub,  # broadcast subclasses SSEHandler: import late
        )

        self.hub: Hub = Hub(self)

    def snapshot(self) -> dict[str, Any]:
        return {
            "open_connections": dict(+self.open_by_path),
            "open_total": len(self.open),
            "connections_served": self.served,
            "events_sent": self.events_sent,
            "generation_tasks": sum(1 for t in self.tasks if not t.done()),
            "heartbeats_sent": self.heartbeats_sent,
            "dropped_stalled": self.dropped_stalled,
            "lifetime_closed": self.lifetime_closed,
            "subscribers": len(self.hub),
            "broadcasts": self.hub.published,
            "subscribers_dropped": self.hub.dropped,
            "broadcast_replayed": self.hub.replayed,
            "rss_bytes": process_rss(),
            "uptime_s": round(time.monotonic() - self.started, 3),
        }

    def sweep(self) -> None:
        """Send heartbeats to idle streams and drop readers that stalled."""
        now = time.monotonic()
        cfg = self.config
        lifetime = cfg.max_lifetime
        for handler in list(self.open):
            pending = handler._flush_started
            if pending is not None and now - pending > cfg.send_timeout:
                self.dropped_stalled += 1
                handler.abort("send timeout: the client stopped reading")
            elif lifetime is not None and now - handler._opened >= lifetime:
                self.lifetime_closed += 1
                # Tell the client when to come back, then end the response;
                # EventSource reconnects by itself (with Last-Event-ID).
                handler._write_nowait(
                    encode_event(retry=cfg.retry_ms, comment="lifetime limit: reconnect")
                )
                handler.end()
            elif pending is None and now - handler._last_write >= cfg.heartbeat:
                self.heartbeats_sent += 1
                handler._write_nowait(encode_event(comment="heartbeat"))


#: Bytes a stream may have waiting (unflushed, or in its connection's output
#: buffer) before ``send()`` waits for the reader.
SEND_HIGH_WATER = 64 * 1024


class SSEHandler(tornado.web.RequestHandler):
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
    """

    lab: _Lab

    def initialize(self, lab: _Lab) -> None:
        self.lab = lab
        self._task: asyncio.Task[None] | None = None
        self._flush_started: float | None = None
        self._last_write = self._opened = time.monotonic()
        self._gone = False
        self._retry_pending: int | None = None
        self._iostream = getattr(self.request.connection, "stream", None)
        self._unflushed = 0
        self._flush_handle: asyncio.Handle | None = None

    # -- headers ---------------------------------------------------------------
    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        # nginx and some proxies buffer responses unless told not to.
        self.set_header("X-Accel-Buffering", "no")
        _cors(self)

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
        stream = getattr(self.request.connection, "stream", None)
        if stream is not None:
            stream.set_nodelay(True)
        lab = self.lab
        path = self.request.path
        lab.open.add(self)
        lab.open_by_path[path] += 1
        lab.served += 1
        self._task = asyncio.ensure_future(self._run(*args))
        lab.tasks.add(self._task)
        try:
            await self._task
        except (asyncio.CancelledError, StreamClosedError):
            pass
        except Exception:
            app_log.exception("stream %s failed", path)
        finally:
            lab.tasks.discard(self._task)
            lab.open.discard(self)
            lab.open_by_path[path] -= 1
        if not self._gone and not self._finished:
            try:
                self.finish()
            except StreamClosedError:  # pragma: no cover - raced with a close
                pass

    async def _run(self, *args: str) -> None:
        # A comment-only first block flushes the headers at once (time to
        # first byte). ``retry:`` rides on the first real event instead: a
        # block with retry but no data is dispatched by nobody per the spec,
        # yet several parsers (httpx-sse, the openai SDK's) turn it into an
        # empty event, which an LLM client then fails to parse as JSON.
        self._retry_pending = self.lab.config.retry_ms
        await self.send(comment="stream open")
        await self.stream(*args)

    async def stream(self, *args: str) -> None:
        """Produce the events of this endpoint (override in subclasses)."""
        raise NotImplementedError

    def on_connection_close(self) -> None:
        self._gone = True
        if self._task is not None:
            self._task.cancel()

    def end(self) -> None:
        """End the response cleanly now (what was written is still delivered)."""
        if self._task is not None:
            self._task.cancel()

    def abort(self, reason: str = "") -> None:
        """Drop the connection now (the client may reconnect)."""
        self._flush_pending()  # what send() accepted leaves first
        self._gone = True
        if self._task is not None:
            self._task.cancel()
        self.request.connection.close()

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
        if data is not None and retry is None and self._retry_pending is not None:
            retry = self._retry_pending
        if data is not None:
            self._retry_pending = None
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
        if self._gone:
            raise StreamClosedError()
        self.write(payload)
        self._last_write = time.monotonic()
        if is_event:
            self.lab.events_sent += 1
        self._unflushed += len(payload)
        buf = getattr(self._iostream, "_write_buffer", None)
        if (
            buf is not None
            and self._unflushed + len(buf) < SEND_HIGH_WATER
            and self._headers_written  # the first block goes out (and is awaited) at once
        ):
            if self._flush_handle is None:
                self._flush_handle = asyncio.get_running_loop().call_soon(self._flush_soon)
            return
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._unflushed = 0
        self._flush_started = self._last_write
        try:
            await self.flush()
        finally:
            self._flush_started = None

    def _flush_soon(self) -> None:
        self._flush_handle = None
        if not self._gone:
            self._flush_pending()

    def _flush_pending(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._unflushed and not self._finished:
            self._unflushed = 0
            try:
                self.flush().add_done_callback(_consume_exception)
            except StreamClosedError:
                pass

    def _write_nowait(self, payload: bytes) -> None:
        if self._gone:
            return
        self.write(payload)
        self._last_write = time.monotonic()
        fut = self.flush()
        fut.add_done_callback(_consume_exception)


def _consume_exception(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()


def _cors(handler: tornado.web.RequestHandler) -> None:
    origins = handler.settings["lab"].config.cors_origins
    origin = handler.request.headers.get("Origin")
    if origins and origin and (origin in origins or "*" in origins):
        handler.set_header("Access-Control-Allow-Origin", origin)
        handler.set_header("Vary", "Origin")


def _arg_float(handler: tornado.web.RequestHandler, name: str, default: float) -> float:
    raw = handler.get_argument(name, None)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise tornado.web.HTTPError(400, f"{name} must be a number") from None
    if not (value == value and abs(value) != float("inf")):
        raise tornado.web.HTTPError(400, f"{name} must be finite")
    return value


def _arg_int(handler: tornado.web.RequestHandler, name: str, default: int) -> int:
    raw = handler.get_argument(name, None)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise tornado.web.HTTPError(400, f"{name} must be an integer") from None


class ClockHandler(SSEHandler):
    """The source article's ``/sse``: the time every ``interval`` s, ``count`` times."""

    def parse_arguments(self) -> None:
        self.count = max(0, _arg_int(self, "count", 10))
        self.interval = max(0.0, _arg_float(self, "interval", 1.0))

    async def stream(self) -> None:
        for i in range(self.count):
            await asyncio.sleep(self.interval)
            await self.send(f"Current Time is {time.strftime('%H:%M:%S')}", id=str(i))
        await self.send(DONE)


def _model_for(handler: tornado.web.RequestHandler, model: SimulatedLLM) -> SimulatedLLM:
    speed = _arg_float(handler, "speed", model.speed)
    cadence = handler.get_argument("cadence", model.cadence)
    if speed <= 0:
        raise tornado.web.HTTPError(400, "speed must be positive")
    if cadence not in ("steady", "bursty"):
        raise tornado.web.HTTPError(400, "cadence must be steady or bursty")
    if speed == model.speed and cadence == model.cadence:
        return model
    return replace(model, speed=speed, cadence=cadence)  # type: ignore[arg-type]


def _resume_index(handler: tornado.web.RequestHandler) -> int:
    """The token to start from: one past ``Last-Event-ID`` (header or query)."""
    raw = handler.request.headers.get("Last-Event-ID")
    if raw is None:
        # A page that recreates its EventSource cannot set headers.
        raw = handler.get_argument("lastEventId", None)
    if raw is None or not raw.isascii() or not raw.isdigit():
        return 0
    return int(raw) + 1


class ChatHandler(SSEHandler):
    """``/chat``: one event per token, ``id: k`` = token index, then ``[DONE]``.

    ``drop_after=n`` makes the server cut the connection after ``n`` tokens of
    a fresh request (not of a resumed one), to demonstrate reconnection.

    With ``SSE_LAB_UPSTREAM_BASE_URL`` set (read per request) the tokens come
    from that OpenAI-compatible model instead (:mod:`sse_lab.server.upstream`); its
    failures arrive as one ``event: error`` whose data is the message, and
    the stream then ends without ``[DONE]``.
    """

    def parse_arguments(self) -> None:
        self.prompt = self.get_argument("prompt", "hello")
        self.seed = _arg_int(self, "seed", 0)
        self.model = _model_for(self, self.lab.config.model)
        self.start = _resume_index(self)
        self.drop_after = _arg_int(self, "drop_after", -1)
        self.upstream = UpstreamModel.from_env()
        if self.upstream is not None and self.get_argument("speed", None) is not None:
            self.upstream = replace(self.upstream, speed=self.model.speed)

    async def stream(self) -> None:
        source: SimulatedLLM | UpstreamModel = self.upstream or self.model
        sent = 0
        try:
            async with aclosing(source.stream(self.prompt, self.seed, start=self.start)) as tokens:
                async for token in tokens:
                    await self.send(token.text, id=str(token.index))
                    sent += 1
                    if self.start == 0 and sent == self.drop_after:
                        self.abort("drop_after reached")
                        return
        except UpstreamError as exc:
            await self.send(str(exc), event="error")
            return
        await self.send(DONE)


class CompleteHandler(tornado.web.RequestHandler):
    """``/complete``: the blocking style; the whole answer as JSON at the end."""

    def initialize(self, lab: _Lab) -> None:
        self.lab = lab
        self._task: asyncio.Task[str] | None = None

    def set_default_headers(self) -> None:
        _cors(self)

    async def get(self) -> None:
        prompt = self.get_argument("prompt", "hello")
        seed = _arg_int(self, "seed", 0)
        model = _model_for(self, self.lab.config.model)
        self._task = asyncio.ensure_future(model.complete(prompt, seed))
        self.lab.tasks.add(self._task)
        try:
            text = await self._task
        except asyncio.CancelledError:
            return
        finally:
            self.lab.tasks.discard(self._task)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"text": text, "prompt": prompt, "seed": seed}))

    def on_connection_close(self) -> None:
        if self._task is not None:
            self._task.cancel()


class StatsHandler(tornado.web.RequestHandler):
    """``/stats``: the server's live counters as JSON."""

    def initialize(self, lab: _Lab) -> None:
        self.lab = lab

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-cache")
        _cors(self)

    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(self.lab.snapshot()))


class PageHandler(tornado.web.RequestHandler):
    """``/``: the chat page (static HTML, all streaming done by the browser)."""

    def get(self) -> None:
        page = resources.files("sse_lab.server").joinpath("static/index.html").read_bytes()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(page)


class LabServer(ThreadedServer):
    """A running lab server. Use :func:`start_server` to get one.

    Works as a context manager (stops on exit). All methods are safe to call
    from any thread, including the notebook's.
    """

    thread_name = "sse_lab-server"

    def __init__(self, host: str, port: int, config: ServerConfig) -> None:
        super().__init__(host, port)
        self.config = config
        self._lab = _Lab(config)

    def make_application(self) -> tornado.web.Application:
        return make_app(self._lab)

    def on_started(self) -> None:
        cfg = self.config
        limits = [cfg.heartbeat, cfg.send_timeout] + (
            [cfg.max_lifetime] if cfg.max_lifetime is not None else []
        )
        # One timer for all connections, however many: a quarter of the
        # shortest limit keeps each within 25% of its nominal time.
        period = max(0.05, min(1.0, *(x / 4 for x in limits)))
        self._sweeper = tornado.ioloop.PeriodicCallback(self._lab.sweep, period * 1000)
        self._sweeper.start()

    async def on_shutdown(self) -> None:
        self._sweeper.stop()
        for handler in list(self._lab.open):
            handler.abort("server shutting down")
        for task in list(self._lab.tasks):
            task.cancel()

    def stats(self) -> dict[str, Any]:
        """The same counters as ``GET /stats``."""
        return self.call(self._lab.snapshot)

    def broadcast(
        self,
        data: str,
        *,
        event: str | None = None,
        id: str | None = None,  # noqa: A002 - the SSE field name
    ) -> int:
        """Send one event to every ``GET /events`` subscriber; return how many it reached.

        The event is encoded once and written to all subscribers without
        waiting for any of them; a subscriber too far behind is dropped
        (see :class:`sse_lab.server.routes.broadcast.Hub`). Without ``id`` the hub numbers
        events itself, so a reconnecting ``EventSource`` gets what it missed.
        """
        hub = self._lab.hub
        return self.call(lambda: hub.publish(data, event=event, id=id))

    @property
    def subscribers(self) -> int:
        """How many ``GET /events`` streams are subscribed right now."""
        hub = self._lab.hub
        return self.call(lambda: len(hub))

    def add_handler(self, pattern: str, handler: type[tornado.web.RequestHandler]) -> str:
        """Route ``pattern`` to ``handler`` on the running server; return its URL.

        Subclasses of :class:`SSEHandler` get the server's state as ``self.lab``.
        Adding a pattern again replaces the earlier handler, so re-running a
        notebook cell with a fixed class takes effect.
        """
        app = self._app
        assert app is not None
        kwargs = {"lab": self._lab} if issubclass(handler, SSEHandler) else {}

        def install() -> None:
            router = app.wildcard_router
            router.add_rules([(pattern, handler, kwargs)])
            new = router.rules.pop()
            key = getattr(new.matcher, "regex", None)
            router.rules = [
                r for r in router.rules
                if key is None or getattr(r.matcher, "regex", None) != key
            ]
            router.rules.insert(0, new)

        self.call(install)
        return self.url + pattern

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection, cancel every task and end the thread."""
        _REGISTRY.pop((self.host, self.port), None)
        super().stop(timeout)


def make_app(lab: _Lab) -> tornado.web.Application:
    """The Tornado application with every lab endpoint."""
    from sse_lab.server.routes import breakers, broadcast, openai, transports

    kw = {"lab": lab}
    routes: list[Any] = [
        (r"/", PageHandler),
        (r"/sse", ClockHandler, kw),
        (r"/chat", ChatHandler, kw),
        (r"/complete", CompleteHandler, kw),
        (r"/stats", StatsHandler, kw),
    ]
    for feature in (transports, breakers, broadcast, openai):
        routes += feature.routes(lab)
    return tornado.web.Application(routes, lab=lab)


_REGISTRY: dict[tuple[str, int], LabServer] = {}
_REGISTRY_LOCK = threading.Lock()


def start_server(
    port: int = 0, host: str = "127.0.0.1", config: ServerConfig | None = None
) -> LabServer:
    """Start a lab server in a background thread, or return the running one.

    Args:
        port: TCP port; ``0`` picks a free one. Asking again for a port this
            process already serves returns that server (re-running a notebook
            cell never fails with "address already in use").
        host: Interface to bind; the loopback default keeps the lab private.
        config: Heartbeat, send timeout, CORS origins, model...

    Raises:
        OSError: The port is taken by another process (raised here, in the
            caller, not lost in the server thread).
    """
    with _REGISTRY_LOCK:
        if port:
            existing = _REGISTRY.get((host, port))
            if existing is not None and existing.running:
                return existing
        server = LabServer(host, port, config or ServerConfig())
        server.start()
        _REGISTRY[(host, server.port)] = server
        return server


def running_servers() -> list[LabServer]:
    """Every lab server this process is running."""
    return [s for s in _REGISTRY.values() if s.running]
