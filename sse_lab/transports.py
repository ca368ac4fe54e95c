"""The same token stream over other transports: WebSocket, short and long polling.

``/chat`` streams one answer as Server-Sent Events. This module serves the very
same answer (same :class:`~sse_lab.model.SimulatedLLM`, same prompt and seed,
same timing) three other ways, and gives each a measuring client that returns
a :class:`~sse_lab.recording.Recording` with the SSE client's semantics, so the
metrics, plots and widgets compare them side by side:

* ``/ws`` -- a WebSocket. The client sends one JSON request
  ``{"prompt": ..., "seed": ..., "speed": ..., "after": k}``; the server answers
  with one text message per token, ``{"id": k, "token": "..."}``, then
  ``{"done": true}``. More requests may follow on the same socket;
  ``{"stop": true}`` stops the answer being generated. Query arguments
  (``/ws?prompt=...``) start an answer at once instead. ``"after": k`` resumes
  after token ``k``: what ``Last-Event-ID`` does for SSE by itself, a WebSocket
  client has to do in its own code.
* ``/poll?prompt=&seed=&speed=&after=k&sid=`` -- short polling. The first poll
  starts a generation *session* on the server; every poll returns at once
  ``{"tokens": [{"id": k, "token": "..."}, ...], "done": false}`` with the
  tokens after ``after`` generated so far. The client asks again every
  ``interval`` seconds.
* ``/longpoll?...`` -- long polling: the same sessions, but a request waits
  until at least one new token exists (or the answer is done, or ``timeout``
  seconds, 25 by default, have passed) before it answers.

Sessions are keyed by ``(sid, prompt, seed, speed, cadence)``; ``sid`` is a
client-chosen identifier (the clients here pick a random one per answer), so
two clients never share a generation unless they send the same ``sid``. An
idle session expires after ``ttl`` seconds (30 by default) and its generation
task is cancelled; at most ``max_sessions`` exist at once (the least recently
polled one is evicted). See :func:`session_count` and
:func:`configure_sessions`.

Clients: :func:`record_websocket`, :func:`record_poll`,
:func:`record_longpoll`, and :func:`compare_transports` which runs all four
(with :func:`sse_lab.client.record` for SSE) on one answer. Their
recordings are :class:`WireRecording` objects whose ``bytes_received`` counts
*every* byte the client received for the answer (see there), so
:func:`bytes_per_token` compares transports fairly.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import tornado.web
import tornado.websocket
from tornado.iostream import StreamClosedError

from .client import HTTPError, _Response, record, run_sync
from .model import SimulatedLLM
from .protocol import DONE, Event
from .recording import Arrival, Recording
from .server import _arg_float, _arg_int, _cors, _Lab, _model_for

__all__ = [
    "WireRecording",
    "ChatSocketHandler",
    "PollHandler",
    "LongPollHandler",
    "routes",
    "session_count",
    "configure_sessions",
    "record_websocket",
    "record_poll",
    "record_longpoll",
    "compare_transports",
    "compare_transports_sync",
    "bytes_per_token",
    "total_bytes_received",
    "comparison_rows",
]

#: Seconds a long poll waits for a new token before it answers empty-handed.
LONGPOLL_TIMEOUT = 25.0
#: Default idle time after which a polling session expires.
SESSION_TTL = 30.0
#: Default bound on the number of live polling sessions.
MAX_SESSIONS = 256


def _dumps(obj: Any) -> str:
    """Compact JSON, as one would put on the wire."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# -- recordings ------------------------------------------------------------------


@dataclass(repr=False)
class WireRecording(Recording):
    """A :class:`Recording` whose byte counts cover the whole exchange.

    Unlike the SSE client's recordings (where ``bytes_received`` is the body
    only and ``header_bytes`` comes on top), here ``bytes_received`` is every
    byte the client received for this answer above TCP: the HTTP response
    heads of every request, bodies with their chunked framing, and for a
    WebSocket the upgrade response plus every frame (headers included, the
    closing handshake too). ``header_bytes`` is the part of it that was HTTP
    response heads. :func:`bytes_per_token` knows the difference.

    Attributes:
        bytes_sent: Bytes the client sent (request heads, WebSocket frames),
            ``None`` when not measured.
        extra: Further numbers of this transport (handshake sizes, frames...).
    """

    bytes_sent: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def total_bytes_received(rec: Recording) -> int:
    """Every byte received for ``rec``, HTTP heads included, whatever its type."""
    if isinstance(rec, WireRecording):
        return rec.bytes_received
    return rec.bytes_received + rec.header_bytes


def bytes_per_token(rec: Recording) -> float:
    """Bytes received per token (heads, framing and bodies included).

    Works for the SSE client's recordings too (their header bytes are added).
    ``nan`` when the recording holds no token.
    """
    n = len(rec.tokens)
    return total_bytes_received(rec) / n if n else math.nan


def _as_wire(rec: Recording) -> WireRecording:
    if isinstance(rec, WireRecording):
        return rec
    values = {f.name: getattr(rec, f.name) for f in fields(rec)}
    wire = WireRecording(**values)
    wire.bytes_received = rec.bytes_received + rec.header_bytes
    return wire


# -- request parameters ----------------------------------------------------------


@dataclass(frozen=True)
class _AnswerRequest:
    model: SimulatedLLM
    prompt: str
    seed: int
    start: int  # first token index to generate (after + 1)


def _answer_request(values: Mapping[str, Any], base: SimulatedLLM) -> _AnswerRequest:
    """Validate a WebSocket request (JSON object or query arguments).

    Raises:
        ValueError: with a message fit to send back to the client.
    """
    prompt = values.get("prompt", "hello")
    if not isinstance(prompt, str):
        raise ValueError("prompt must be a string")
    seed = _int_value(values.get("seed", 0), "seed")
    after = _int_value(values.get("after", -1), "after")
    if after < -1:
        raise ValueError("after must be -1 or a token index")
    raw_speed = values.get("speed", base.speed)
    if isinstance(raw_speed, bool):
        raise ValueError("speed must be a number")
    try:
        speed = float(raw_speed)
    except (TypeError, ValueError):
        raise ValueError("speed must be a number") from None
    if not math.isfinite(speed) or speed <= 0:
        raise ValueError("speed must be positive")
    cadence = values.get("cadence", base.cadence)
    if cadence not in ("steady", "bursty"):
        raise ValueError("cadence must be steady or bursty")
    model = base
    if speed != base.speed or cadence != base.cadence:
        model = replace(base, speed=speed, cadence=cadence)
    return _AnswerRequest(model=model, prompt=prompt, seed=seed, start=after + 1)


def _int_value(raw: Any, name: str) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"{name} must be an integer")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:
            pass
    raise ValueError(f"{name} must be an integer")


# -- WebSocket -------------------------------------------------------------------


class ChatSocketHandler(tornado.websocket.WebSocketHandler):
    """``/ws``: the chat answer as WebSocket messages, one per token.

    Protocol (text frames, JSON):

    * client -> server ``{"prompt": "...", "seed": 0, "speed": 1.0}``, optional
      ``"cadence"`` and ``"after": k`` (resume after token ``k``). A new
      request replaces an answer still running.
    * client -> server ``{"stop": true}``: stop generating (the socket stays
      open); the server answers ``{"stopped": true}``.
    * server -> client ``{"id": k, "token": "..."}`` per token, then
      ``{"done": true}``; ``{"error": "..."}`` for a bad request.

    Query arguments (``/ws?prompt=...&after=k``) start an answer on connect.
    The generation runs as a task registered in the server's ``tasks`` (so
    ``/stats`` counts it) and is cancelled when the client goes away. The
    connection is counted in ``open_connections`` and ``connections_served``
    and each message in ``events_sent``, like the SSE streams; it is not in
    ``open_total`` (that set belongs to the SSE heartbeat sweeper). Instead of
    SSE's comment heartbeats it sends WebSocket pings every ``heartbeat``
    seconds of the server's config.
    """

    def initialize(self, lab: _Lab) -> None:
        self.lab = lab
        self._task: asyncio.Task[None] | None = None
        self._counted = False
        self._gone = False
        self._cancel_reason: str | None = None

    # -- connection ------------------------------------------------------------
    def check_origin(self, origin: str) -> bool:
        """Same-origin pages, plus the server's configured CORS origins."""
        origins = self.lab.config.cors_origins
        if origins and (origin in origins or "*" in origins):
            return True
        return super().check_origin(origin)

    @property
    def ping_interval(self) -> float | None:
        """WebSocket pings keep idle sockets open, as SSE heartbeats do."""
        return self.lab.config.heartbeat

    def open(self, *args: str, **kwargs: str) -> None:
        # Small frames must not wait for Nagle's algorithm (and the peer's
        # delayed ACK): a token is worth sending alone.
        self.set_nodelay(True)
        lab = self.lab
        lab.served += 1
        lab.open_by_path[self.request.path] += 1
        self._counted = True
        if self.get_argument("prompt", None) is not None:
            query = {k: self.get_argument(k) for k in self.request.arguments}
            self._start(query)

    def on_message(self, message: str | bytes) -> None:
        try:
            request = json.loads(message)
        except ValueError:
            self._reply({"error": "messages must be JSON objects"})
            return
        if not isinstance(request, dict):
            self._reply({"error": "messages must be JSON objects"})
            return
        if request.get("stop"):
            self._cancel("stopped by the client")
            self._reply({"stopped": True})
            return
        self._start(request)

    def on_close(self) -> None:
        self._gone = True
        self._cancel("client left")
        if self._counted:
            self._counted = False
            self.lab.open_by_path[self.request.path] -= 1

    # -- answering -------------------------------------------------------------
    def _start(self, values: Mapping[str, Any]) -> None:
        try:
            request = _answer_request(values, self.lab.config.model)
        except ValueError as exc:
            self._reply({"error": str(exc)})
            return
        self._cancel("replaced by a new request")
        self._cancel_reason = None
        task = asyncio.ensure_future(self._answer(request))
        self._task = task
        self.lab.tasks.add(task)
        task.add_done_callback(self.lab.tasks.discard)

    def _cancel(self, reason: str) -> None:
        task = self._task
        if task is not None and not task.done():
            self._cancel_reason = reason
            task.cancel()

    async def _answer(self, request: _AnswerRequest) -> None:
        lab = self.lab
        try:
            stream = request.model.stream(request.prompt, request.seed, start=request.start)
            async for token in stream:
                await self.write_message(_dumps({"id": token.index, "token": token.text}))
                lab.events_sent += 1
            await self.write_message(_dumps({"done": True}))
            lab.events_sent += 1
        except (tornado.websocket.WebSocketClosedError, StreamClosedError):
            pass
        except asyncio.CancelledError:
            if self._cancel_reason is None and not self._gone:
                # Nobody here asked for it: the server is shutting down.
                self.close(1001, "server shutting down")
            raise

    def _reply(self, obj: dict[str, Any]) -> None:
        try:
            fut = self.write_message(_dumps(obj))
        except tornado.websocket.WebSocketClosedError:
            return
        fut.add_done_callback(_consume_exception)


def _consume_exception(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()


# -- polling sessions ------------------------------------------------------------


class _Session:
    """One answer being generated for pollers, on the server's loop."""

    def __init__(self, key: tuple[Any, ...], request: _AnswerRequest) -> None:
        self.key = key
        self.base = request.start
        self.tokens: list[str] = []
        self.done = False
        self.closed = False  # generation over: done, expired or cancelled
        self.waiters = 0
        self.last_seen = time.monotonic()
        self._changed = asyncio.Event()
        self.task = asyncio.ensure_future(self._generate(request))

    async def _generate(self, request: _AnswerRequest) -> None:
        try:
            stream = request.model.stream(request.prompt, request.seed, start=request.start)
            async for token in stream:
                self.tokens.append(token.text)
                self._notify()
            self.done = True
        finally:
            self.closed = True
            self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    @property
    def next_index(self) -> int:
        """Index of the next token to be generated."""
        return self.base + len(self.tokens)

    def since(self, after: int) -> list[dict[str, Any]]:
        """The tokens generated so far with index > ``after``."""
        lo = max(after + 1, self.base)
        return [{"id": i, "token": self.tokens[i - self.base]} for i in range(lo, self.next_index)]

    def payload(self, after: int) -> dict[str, Any]:
        out: dict[str, Any] = {"tokens": self.since(after), "done": self.done}
        if self.closed and not self.done:
            out["expired"] = True
        return out

    def has_news(self, after: int) -> bool:
        return self.next_index > after + 1 or self.closed

    async def wait(self, after: int, timeout: float) -> None:
        """Return once a token after ``after`` exists, the session ends, or timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.has_news(after):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                return


class SessionStore:
    """The polling sessions of one server (touched only on the server's loop).

    Attributes:
        ttl: Idle seconds after which a session expires.
        max_sessions: Bound on live sessions; the least recently polled one
            is evicted to make room.
        created, expired, evicted: Counters since the server started.
    """

    def __init__(self, lab: _Lab, ttl: float = SESSION_TTL, max_sessions: int = MAX_SESSIONS):
        self.lab = lab
        self.ttl = ttl
        self.max_sessions = max_sessions
        self.sessions: OrderedDict[tuple[Any, ...], _Session] = OrderedDict()
        self.created = 0
        self.expired = 0
        self.evicted = 0

    def __len__(self) -> int:
        return len(self.sessions)

    def session(self, key: tuple[Any, ...], request: _AnswerRequest) -> _Session:
        """The session for ``key``, created (generating) if there is none."""
        self.sweep()
        session = self.sessions.get(key)
        if session is not None and request.start < session.base:
            # Asked for tokens this session never generated: start over.
            self._drop(key)
            session = None
        if session is None:
            while len(self.sessions) >= max(1, self.max_sessions):
                oldest = next(iter(self.sessions))
                self._drop(oldest)
                self.evicted += 1
            session = _Session(key, request)
            self.sessions[key] = session
            self.created += 1
            self.lab.tasks.add(session.task)
            session.task.add_done_callback(self.lab.tasks.discard)
            self._schedule(session, self.ttl)
        else:
            self.sessions.move_to_end(key)
        session.last_seen = time.monotonic()
        return session

    def sweep(self) -> None:
        """Expire every session idle for ``ttl`` seconds or more."""
        now = time.monotonic()
        for key, session in list(self.sessions.items()):
            if session.waiters == 0 and now - session.last_seen >= self.ttl:
                self._drop(key)
                self.expired += 1

    def clear(self) -> None:
        """Drop every session now."""
        for key in list(self.sessions):
            self._drop(key)

    def _drop(self, key: tuple[Any, ...]) -> None:
        session = self.sessions.pop(key, None)
        if session is not None:
            session.task.cancel()

    def _schedule(self, session: _Session, delay: float) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(max(0.01, delay), self._check, session)

    def _check(self, session: _Session) -> None:
        if self.sessions.get(session.key) is not session:
            return  # already gone
        idle = time.monotonic() - session.last_seen
        if session.waiters == 0 and idle >= self.ttl:
            self._drop(session.key)
            self.expired += 1
        else:
            self._schedule(session, self.ttl - idle if session.waiters == 0 else self.ttl)


_STORES: weakref.WeakKeyDictionary[_Lab, SessionStore] = weakref.WeakKeyDictionary()


def _store(lab: _Lab) -> SessionStore:
    store = _STORES.get(lab)
    if store is None:
        store = _STORES[lab] = SessionStore(lab)
    return store


def _lab_of(server_or_lab: Any) -> _Lab:
    lab = getattr(server_or_lab, "_lab", server_or_lab)
    if not isinstance(lab, _Lab):
        raise TypeError("expected a LabServer (or its internal lab state)")
    return lab


def _on_loop(server_or_lab: Any, fn: Any) -> Any:
    call = getattr(server_or_lab, "call", None)
    return call(fn) if call is not None else fn()


def session_count(server_or_lab: Any) -> int:
    """How many polling sessions the server holds right now.

    Args:
        server_or_lab: A :class:`~sse_lab.server.LabServer` (safe from any
            thread), or its internal state (from the server's loop only).
    """
    lab = _lab_of(server_or_lab)

    def count() -> int:
        store = _store(lab)
        store.sweep()
        return len(store)

    return int(_on_loop(server_or_lab, count))


def configure_sessions(
    server_or_lab: Any, *, ttl: float | None = None, max_sessions: int | None = None
) -> dict[str, Any]:
    """Change the session expiry and bound of a server; return the settings and counters.

    Args:
        server_or_lab: A :class:`~sse_lab.server.LabServer` (or its internal state).
        ttl: Idle seconds before a session expires (default 30).
        max_sessions: At most this many live sessions (default 256).
    """
    lab = _lab_of(server_or_lab)

    def apply() -> dict[str, Any]:
        store = _store(lab)
        if ttl is not None:
            if not ttl > 0:
                raise ValueError("ttl must be positive")
            store.ttl = float(ttl)
        if max_sessions is not None:
            if max_sessions < 1:
                raise ValueError("max_sessions must be at least 1")
            store.max_sessions = int(max_sessions)
            while len(store.sessions) > store.max_sessions:
                store._drop(next(iter(store.sessions)))
                store.evicted += 1
        store.sweep()
        return {
            "ttl": store.ttl,
            "max_sessions": store.max_sessions,
            "sessions": len(store),
            "created": store.created,
            "expired": store.expired,
            "evicted": store.evicted,
        }

    return dict(_on_loop(server_or_lab, apply))


class PollHandler(tornado.web.RequestHandler):
    """``/poll``: short polling; returns at once the tokens after ``after``.

    Query: ``prompt``, ``seed``, ``speed``, ``cadence`` (as ``/chat``),
    ``after`` (the last token index the client has, ``-1`` for none) and
    ``sid`` (the client's session id). Answer:
    ``{"tokens": [{"id": k, "token": "..."}, ...], "done": bool}``, plus
    ``"expired": true`` if the session ended without finishing.
    """

    def initialize(self, lab: _Lab) -> None:
        self.lab = lab
        self._gone = False

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        _cors(self)

    def compute_etag(self) -> None:
        return None  # every poll may differ; an ETag would only cost bytes

    def _session_request(self) -> tuple[_Session, int]:
        prompt = self.get_argument("prompt", "hello")
        seed = _arg_int(self, "seed", 0)
        model = _model_for(self, self.lab.config.model)
        after = _arg_int(self, "after", -1)
        if after < -1:
            raise tornado.web.HTTPError(400, "after must be -1 or a token index")
        sid = self.get_argument("sid", "")[:128]
        request = _AnswerRequest(model=model, prompt=prompt, seed=seed, start=after + 1)
        key = (sid, prompt, seed, model.speed, model.cadence)
        return _store(self.lab).session(key, request), after

    def _answer(self, session: _Session, after: int) -> None:
        payload = session.payload(after)
        self.lab.events_sent += len(payload["tokens"])
        self.finish(_dumps(payload))

    def get(self) -> None:
        session, after = self._session_request()
        self.lab.served += 1
        self._answer(session, after)


class LongPollHandler(PollHandler):
    """``/longpoll``: like ``/poll`` but waits for news before answering.

    The request is held until a token after ``after`` exists, the answer is
    done, or ``timeout`` seconds (default 25, at most 60) pass; a client that
    leaves stops the wait (the session lives on until it expires).
    """

    def initialize(self, lab: _Lab) -> None:
        super().initialize(lab)
        self._wait: asyncio.Future[None] | None = None

    async def get(self) -> None:  # type: ignore[override]
        lab = self.lab
        timeout = min(max(_arg_float(self, "timeout", LONGPOLL_TIMEOUT), 0.0), 60.0)
        session, after = self._session_request()
        path = self.request.path
        lab.served += 1
        lab.open_by_path[path] += 1
        session.waiters += 1
        self._wait = asyncio.ensure_future(session.wait(after, timeout))
        try:
            await self._wait
        except asyncio.CancelledError:
            return
        finally:
            session.waiters -= 1
            session.last_seen = time.monotonic()
            lab.open_by_path[path] -= 1
        if not self._gone:
            self._answer(session, after)

    def on_connection_close(self) -> None:
        self._gone = True
        if self._wait is not None:
            self._wait.cancel()


def routes(lab: _Lab) -> list[tuple[Any, ...]]:
    """Tornado routes this module adds to the lab server: ``/ws``, ``/poll``, ``/longpoll``."""
    _store(lab)
    kw = {"lab": lab}
    return [
        (r"/ws", ChatSocketHandler, kw),
        (r"/poll", PollHandler, kw),
        (r"/longpoll", LongPollHandler, kw),
    ]


# -- clients -----------------------------------------------------------------------


def _base(url: str) -> str:
    return url.rstrip("/")


def _query(prompt: str, seed: int, speed: float, cadence: str | None, **more: Any) -> str:
    params: dict[str, Any] = {"prompt": prompt, "seed": seed, "speed": speed}
    if cadence is not None:
        params["cadence"] = cadence
    params.update(more)
    return urlencode(params)


class _KeepAliveConnection:
    """Sequential HTTP/1.1 GETs over one kept-alive connection, bytes counted.

    Reuses :class:`sse_lab.client._Response` to read each answer, so the
    header and body byte counts are those of the raw wire (chunked framing
    included). Reconnects when the server closes the connection.
    """

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"an http(s) URL is needed, got {base_url!r}")
        self.secure = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.secure else 80)
        self.netloc = parts.netloc.rsplit("@", 1)[-1]
        self.bytes_sent = 0
        self.connections = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = False

    async def get(self, target: str, timeout: float) -> tuple[_Response, bytes]:
        """GET ``target`` (path and query); return the response and its body."""
        head = (
            f"GET {target} HTTP/1.1\r\nHost: {self.netloc}\r\nAccept: application/json\r\n\r\n"
        ).encode("latin-1")
        for attempt in range(2):
            if self._writer is None:
                ssl_ctx: Any = None
                if self.secure:
                    import ssl

                    ssl_ctx = ssl.create_default_context()
                self._reader, self._writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port, ssl=ssl_ctx, limit=2**20),
                    timeout,
                )
                self.connections += 1
                self._used = False
            assert self._reader is not None and self._writer is not None
            reused = self._used
            self._used = True
            resp = _Response(self._reader, self._writer)
            try:
                self._writer.write(head)
                await self._writer.drain()
                self.bytes_sent += len(head)
                await asyncio.wait_for(resp.read_head(), timeout)
            except (OSError, asyncio.IncompleteReadError):
                self.close()
                if reused and attempt == 0:
                    continue  # the server closed an idle kept-alive connection
                raise
            body = b""
            try:
                while True:
                    data = await asyncio.wait_for(resp.read_some(), timeout)
                    if data is None:
                        break
                    body += data
            except BaseException:
                self.close()
                raise
            keep = (
                resp.headers.get("Connection", "").lower() != "close"
                and "Content-Length" in resp.headers
                and "chunked" not in resp.headers.get("Transfer-Encoding", "").lower()
            )
            if not keep:
                self.close()
            return resp, body
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


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
    conn = _KeepAliveConnection(base)
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
            resp, body = await conn.get(target, timeout)
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


class _SocketCounter:
    """Counts the bytes an IOStream reads and writes from now on.

    Wraps the stream's ``read_from_fd``/``write_to_fd`` (the two calls every
    byte passes through) on this one stream object.
    """

    def __init__(self, stream: Any) -> None:
        self.received = 0
        self.sent = 0
        read, write = stream.read_from_fd, stream.write_to_fd

        def read_from_fd(buf: Any) -> int | None:
            n = read(buf)
            if n:
                self.received += n
            return n

        def write_to_fd(data: memoryview) -> int:
            n = write(data)
            self.sent += n
            return n

        stream.read_from_fd = read_from_fd
        stream.write_to_fd = write_to_fd


def _head_size(start_line: str, headers: Any) -> int:
    """Bytes of an HTTP/1.1 head as Tornado writes it: lines, CRLFs, blank line."""
    lines = [start_line] + [f"{k}: {v}" for k, v in headers.get_all()]
    return sum(len(line.encode("latin-1")) + 2 for line in lines) + 2


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
        the upgrade request head plus the masked client frames. Both heads are
        measured from the header lines Tornado wrote and parsed (the bytes
        after the upgrade are counted on the socket itself).
    """
    ws_url = _ws_url(url)
    rec = WireRecording(url=ws_url, transport="websocket", requests=1)
    t0 = time.perf_counter()

    def elapsed() -> float:
        return time.perf_counter() - t0

    conn = await asyncio.wait_for(tornado.websocket.websocket_connect(ws_url), timeout)
    assert conn.protocol is not None
    counter = _SocketCounter(conn.protocol.stream)
    rec.connect_time = elapsed()
    rec.status = 101
    rec.headers = dict(conn.headers)
    request = conn.request
    parts = urlsplit(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request_head = _head_size(f"GET {target} HTTP/1.1", request.headers)
    response_head = _head_size("HTTP/1.1 101 Switching Protocols", conn.headers)
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
        await conn.write_message(_dumps(message))
        while True:
            raw = await asyncio.wait_for(conn.read_message(), timeout)
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
            conn.close(1000)
            # Read to the end: the server's close frame (and any message still
            # in flight) reached this client too and counts as received.
            try:
                await asyncio.wait_for(_drain(conn), 2.0)
            except asyncio.TimeoutError:  # pragma: no cover - a stuck peer
                pass
        rec.bytes_received = response_head + counter.received
        rec.bytes_sent = request_head + counter.sent
        rec.extra.update(
            {
                "upgrade_request_bytes": request_head,
                "upgrade_response_bytes": response_head,
                "messages": messages,
            }
        )
    return rec


async def _drain(conn: Any) -> None:
    while await conn.read_message() is not None:
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
    out: dict[str, Recording] = {"sse": _as_wire(sse)}
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
