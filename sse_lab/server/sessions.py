"""Polling sessions: one answer generated once, read by repeated requests.

``/poll`` and ``/longpoll`` (:mod:`sse_lab.server.routes.transports`) cannot
keep a stream open, so the server keeps the answer instead: the first poll
starts a :class:`Session` that generates tokens into a list, later polls read
what is new. Sessions are keyed by ``(sid, prompt, seed, speed, cadence)``. An
idle session expires after ``ttl`` seconds (30 by default) and its generation
task is cancelled; at most ``max_sessions`` exist at once (the least recently
polled one is evicted). The :class:`SessionStore` of a server is
``context.sessions``; :func:`session_count` and :func:`configure_sessions`
reach it from any thread.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sse_lab.model import SimulatedLLM
from sse_lab.server.config import MAX_SESSIONS, SESSION_TTL

__all__ = [
    "AnswerRequest",
    "Session",
    "SessionStore",
    "session_count",
    "configure_sessions",
]


@dataclass(frozen=True)
class AnswerRequest:
    """One validated request for an answer (from a poll or a WebSocket message).

    Attributes:
        model: The token source, with the request's speed and cadence.
        prompt: The prompt.
        seed: Picks the answer and its timing.
        start: First token index to generate (``after + 1``).
    """

    model: SimulatedLLM
    prompt: str
    seed: int
    start: int


class Session:
    """One answer being generated for pollers, on the server's loop."""

    def __init__(self, key: tuple[Any, ...], request: AnswerRequest) -> None:
        self.key = key
        self.base = request.start
        self.tokens: list[str] = []
        self.done = False
        self.closed = False  # generation over: done, expired or cancelled
        self.waiters = 0
        self.last_seen = time.monotonic()
        self._changed = asyncio.Event()
        self.task = asyncio.ensure_future(self._generate(request))

    async def _generate(self, request: AnswerRequest) -> None:
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

    Args:
        tasks: The server's set of live tasks; each session's generation task
            is registered there (``/stats`` counts it, shutdown cancels it).

    Attributes:
        ttl: Idle seconds after which a session expires.
        max_sessions: Bound on live sessions; the least recently polled one
            is evicted to make room.
        created, expired, evicted: Counters since the server started.
    """

    def __init__(
        self,
        tasks: set[asyncio.Task[Any]],
        ttl: float = SESSION_TTL,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self.tasks = tasks
        self.ttl = ttl
        self.max_sessions = max_sessions
        self.sessions: OrderedDict[tuple[Any, ...], Session] = OrderedDict()
        self.created = 0
        self.expired = 0
        self.evicted = 0

    def __len__(self) -> int:
        return len(self.sessions)

    def session(self, key: tuple[Any, ...], request: AnswerRequest) -> Session:
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
            session = Session(key, request)
            self.sessions[key] = session
            self.created += 1
            self.tasks.add(session.task)
            session.task.add_done_callback(self.tasks.discard)
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

    def evict_over_bound(self) -> None:
        """Evict the least recently polled sessions until at most ``max_sessions`` remain."""
        while len(self.sessions) > self.max_sessions:
            self._drop(next(iter(self.sessions)))
            self.evicted += 1

    def _drop(self, key: tuple[Any, ...]) -> None:
        session = self.sessions.pop(key, None)
        if session is not None:
            session.task.cancel()

    def _schedule(self, session: Session, delay: float) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(max(0.01, delay), self._check, session)

    def _check(self, session: Session) -> None:
        if self.sessions.get(session.key) is not session:
            return  # already gone
        idle = time.monotonic() - session.last_seen
        if session.waiters == 0 and idle >= self.ttl:
            self._drop(session.key)
            self.expired += 1
        else:
            self._schedule(session, self.ttl - idle if session.waiters == 0 else self.ttl)


def _store_of(server_or_context: Any) -> SessionStore:
    context = getattr(server_or_context, "context", server_or_context)
    store = getattr(context, "sessions", None)
    if not isinstance(store, SessionStore):
        raise TypeError("expected a LabServer or a ServerContext")
    return store


def _on_loop(server_or_context: Any, fn: Any) -> Any:
    call = getattr(server_or_context, "call", None)
    return call(fn) if call is not None else fn()


def session_count(server_or_context: Any) -> int:
    """How many polling sessions the server holds right now.

    Args:
        server_or_context: A :class:`~sse_lab.server.LabServer` (safe from
            any thread), or its :class:`~sse_lab.server.ServerContext` (from
            the server's loop only).
    """
    store = _store_of(server_or_context)

    def count() -> int:
        store.sweep()
        return len(store)

    return int(_on_loop(server_or_context, count))


def configure_sessions(
    server_or_context: Any, *, ttl: float | None = None, max_sessions: int | None = None
) -> dict[str, Any]:
    """Change the session expiry and bound of a server; return the settings and counters.

    Args:
        server_or_context: A :class:`~sse_lab.server.LabServer` (or its context).
        ttl: Idle seconds before a session expires (default 30).
        max_sessions: At most this many live sessions (default 256).

    Raises:
        ValueError: ``ttl`` not positive or ``max_sessions`` below 1.
    """
    store = _store_of(server_or_context)
    if ttl is not None and not ttl > 0:
        raise ValueError("ttl must be positive")
    if max_sessions is not None and max_sessions < 1:
        raise ValueError("max_sessions must be at least 1")

    def apply() -> dict[str, Any]:
        if ttl is not None:
            store.ttl = float(ttl)
        if max_sessions is not None:
            store.max_sessions = int(max_sessions)
            store.evict_over_bound()
        store.sweep()
        return {
            "ttl": store.ttl,
            "max_sessions": store.max_sessions,
            "sessions": len(store),
            "created": store.created,
            "expired": store.expired,
            "evicted": store.evicted,
        }

    return dict(_on_loop(server_or_context, apply))
