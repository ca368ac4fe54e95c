"""Server side of the other transports: WebSocket, short and long polling.

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
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import tornado.web
import tornado.websocket
from tornado.iostream import StreamClosedError

from sse_lab.model import SimulatedLLM
from sse_lab.server.app import _arg_float, _arg_int, _cors, _Lab, _model_for

__all__ = [
    "ChatSocketHandler",
    "PollHandler",
    "LongPollHandler",
    "routes",
    "session_count",
    "configure_sessions",
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

