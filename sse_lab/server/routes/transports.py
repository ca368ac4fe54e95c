"""The transports family: the chat answer over WebSocket, short and long polling.

``/chat`` streams one answer as Server-Sent Events. This family serves the very
same answer (same :class:`~sse_lab.model.SimulatedLLM`, same prompt and seed,
same timing) three other ways; the measuring clients are
:mod:`sse_lab.client.transports`.

* ``/ws`` -- a WebSocket. The client sends one JSON request
  ``{"prompt": ..., "seed": ..., "speed": ..., "after": k}``; the server answers
  with one text message per token, ``{"id": k, "token": "..."}``, then
  ``{"done": true}``. More requests may follow on the same socket;
  ``{"stop": true}`` stops the answer being generated. Query arguments
  (``/ws?prompt=...``) start an answer at once instead. ``"after": k`` resumes
  after token ``k``: what ``Last-Event-ID`` does for SSE by itself, a WebSocket
  client has to do in its own code.
* ``/poll?prompt=&seed=&speed=&after=k&sid=`` -- short polling. The first poll
  starts a generation *session* on the server (:mod:`sse_lab.server.sessions`);
  every poll returns at once
  ``{"tokens": [{"id": k, "token": "..."}, ...], "done": false}`` with the
  tokens after ``after`` generated so far.
* ``/longpoll?...`` -- long polling: the same sessions, but a request waits
  until at least one new token exists (or the answer is done, or ``timeout``
  seconds, 25 by default, have passed) before it answers.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import tornado.ioloop
import tornado.web
import tornado.websocket
from tornado.iostream import StreamClosedError

from sse_lab.model import SimulatedLLM
from sse_lab.server.args import (
    InputError,
    arg_float,
    arg_int,
    check_text,
    host_is_local,
    model_for,
    parse_int,
    parse_json,
)
from sse_lab.server.config import (
    LONGPOLL_TIMEOUT,
    LONGPOLL_TIMEOUT_MAX,
    MAX_INT_DIGITS,
    MAX_SID_LENGTH,
    SPEED_RANGE,
)
from sse_lab.server.context import ServerContext
from sse_lab.server.handler import ContextHandler, consume_exception
from sse_lab.server.sessions import AnswerRequest, Session

__all__ = ["ChatSocketHandler", "PollHandler", "LongPollHandler", "answer_request", "routes"]


def _dumps(obj: Any) -> str:
    """Compact JSON, as one would put on the wire."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# -- request parameters ----------------------------------------------------------


def answer_request(values: Mapping[str, Any], base: SimulatedLLM) -> AnswerRequest:
    """Validate a WebSocket request (JSON object or query arguments).

    Raises:
        ValueError: with a message fit to send back to the client.
    """
    prompt = values.get("prompt", "hello")
    if not isinstance(prompt, str):
        raise ValueError("prompt must be a string")
    try:
        check_text(prompt, "prompt")
    except InputError as exc:
        raise ValueError(exc.message) from None
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
    lo, hi = SPEED_RANGE
    if not math.isfinite(speed) or not lo <= speed <= hi:
        raise ValueError(f"speed must be between {lo:g} and {hi:g}")
    cadence = values.get("cadence", base.cadence)
    if cadence not in ("steady", "bursty"):
        raise ValueError("cadence must be steady or bursty")
    model = base
    if speed != base.speed or cadence != base.cadence:
        model = replace(base, speed=speed, cadence=cadence)
    return AnswerRequest(model=model, prompt=prompt, seed=seed, start=after + 1)


def _int_value(raw: Any, name: str) -> int:
    rule = f"{name} must be an integer (at most {MAX_INT_DIGITS} digits)"
    if isinstance(raw, bool):
        raise ValueError(rule)
    if isinstance(raw, int):
        if abs(raw) >= 10**MAX_INT_DIGITS:
            raise ValueError(rule)
        return raw
    if isinstance(raw, str):
        try:
            return parse_int(raw, name)
        except InputError:
            pass
    raise ValueError(rule)


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

    def initialize(self, context: ServerContext) -> None:
        self.context = context
        self._task: asyncio.Task[None] | None = None
        self._counted = False
        self._gone = False
        self._cancel_reason: str | None = None
        self._lifetime: object | None = None

    # -- connection ------------------------------------------------------------
    def prepare(self) -> None:
        """Refuse a ``Host`` that is not local (403) unless the page's origin is configured.

        Tornado lets an ``Origin`` equal to ``Host`` (or ``Sec-Fetch-Site:
        same-origin``) through without asking :meth:`check_origin`; a
        DNS-rebinding page controls both (its own name, resolved to
        127.0.0.1), so the ``Host`` must be a loopback name or an IP address.
        """
        origin = self.request.headers.get("Origin")
        origins = self.context.config.cors_origins
        if not host_is_local(self.request.headers.get("Host", "")) and not (
            origin is not None and (origin in origins or "*" in origins)
        ):
            raise tornado.web.HTTPError(403, "Host must be localhost or an IP address")

    def check_origin(self, origin: str) -> bool:
        """Same-origin pages, plus the server's configured CORS origins."""
        origins = self.context.config.cors_origins
        if origins and (origin in origins or "*" in origins):
            return True
        return super().check_origin(origin)

    @property
    def ping_interval(self) -> float | None:
        """WebSocket pings keep idle sockets open, as SSE heartbeats do."""
        return self.context.config.heartbeat

    def open(self, *args: str, **kwargs: str) -> None:
        # Small frames must not wait for Nagle's algorithm (and the peer's
        # delayed ACK): a token is worth sending alone.
        self.set_nodelay(True)
        context = self.context
        context.served += 1
        context.open_by_path[self.request.path] += 1
        self._counted = True
        lifetime = context.config.max_lifetime
        if lifetime is not None:
            # As the SSE streams: a socket is closed after max_lifetime.
            self._lifetime = tornado.ioloop.IOLoop.current().call_later(
                lifetime, self.close, 1001, "lifetime limit: reconnect"
            )
        if self.get_argument("prompt", None) is not None:
            query = {k: self.get_argument(k) for k in self.request.arguments}
            self._start(query)

    def on_message(self, message: str | bytes) -> None:
        try:
            request = parse_json(message, "message")
        except InputError as exc:
            self._reply({"error": exc.message})
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
        if self._lifetime is not None:
            tornado.ioloop.IOLoop.current().remove_timeout(self._lifetime)
            self._lifetime = None
        self._cancel("client left")
        if self._counted:
            self._counted = False
            self.context.open_by_path[self.request.path] -= 1

    # -- answering -------------------------------------------------------------
    def _start(self, values: Mapping[str, Any]) -> None:
        try:
            request = answer_request(values, self.context.config.model)
        except ValueError as exc:
            self._reply({"error": str(exc)})
            return
        self._cancel("replaced by a new request")
        self._cancel_reason = None
        task = asyncio.ensure_future(self._answer(request))
        self._task = task
        self.context.tasks.add(task)
        task.add_done_callback(self.context.tasks.discard)

    def _cancel(self, reason: str) -> None:
        task = self._task
        if task is not None and not task.done():
            self._cancel_reason = reason
            task.cancel()

    async def _answer(self, request: AnswerRequest) -> None:
        context = self.context
        try:
            stream = request.model.stream(request.prompt, request.seed, start=request.start)
            async for token in stream:
                await self.write_message(_dumps({"id": token.index, "token": token.text}))
                context.events_sent += 1
            await self.write_message(_dumps({"done": True}))
            context.events_sent += 1
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
        fut.add_done_callback(consume_exception)


class PollHandler(ContextHandler):
    """``/poll``: short polling; returns at once the tokens after ``after``.

    Query: ``prompt``, ``seed``, ``speed``, ``cadence`` (as ``/chat``),
    ``after`` (the last token index the client has, ``-1`` for none) and
    ``sid`` (the client's session id). Answer:
    ``{"tokens": [{"id": k, "token": "..."}, ...], "done": bool}``, plus
    ``"expired": true`` if the session ended without finishing.
    """

    error_format = "json"

    def initialize(self, context: ServerContext) -> None:
        super().initialize(context)
        self._gone = False

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        super().set_default_headers()

    def compute_etag(self) -> None:
        return None  # every poll may differ; an ETag would only cost bytes

    def _session_request(self) -> tuple[Session, int]:
        prompt = self.get_argument("prompt", "hello")
        seed = arg_int(self, "seed", 0)
        model = model_for(self, self.context.config.model)
        after = arg_int(self, "after", -1)
        if after < -1:
            raise tornado.web.HTTPError(400, "after must be -1 or a token index")
        sid = self.get_argument("sid", "")[:MAX_SID_LENGTH]
        request = AnswerRequest(model=model, prompt=prompt, seed=seed, start=after + 1)
        key = (sid, prompt, seed, model.speed, model.cadence)
        return self.context.sessions.session(key, request), after

    def _answer(self, session: Session, after: int) -> None:
        payload = session.payload(after)
        self.context.events_sent += len(payload["tokens"])
        self.finish(_dumps(payload))

    def get(self) -> None:
        session, after = self._session_request()
        self.context.served += 1
        self._answer(session, after)


class LongPollHandler(PollHandler):
    """``/longpoll``: like ``/poll`` but waits for news before answering.

    The request is held until a token after ``after`` exists, the answer is
    done, or ``timeout`` seconds (default 25, at most 60) pass; a client that
    leaves stops the wait (the session lives on until it expires).
    """

    def initialize(self, context: ServerContext) -> None:
        super().initialize(context)
        self._wait: asyncio.Future[None] | None = None

    async def get(self) -> None:  # type: ignore[override]
        context = self.context
        timeout = min(max(arg_float(self, "timeout", LONGPOLL_TIMEOUT), 0.0), LONGPOLL_TIMEOUT_MAX)
        session, after = self._session_request()
        path = self.request.path
        context.served += 1
        context.open_by_path[path] += 1
        session.waiters += 1
        self._wait = asyncio.ensure_future(session.wait(after, timeout))
        try:
            await self._wait
        except asyncio.CancelledError:
            return
        finally:
            session.waiters -= 1
            session.last_seen = time.monotonic()
            context.open_by_path[path] -= 1
        if not self._gone:
            self._answer(session, after)

    def on_connection_close(self) -> None:
        self._gone = True
        if self._wait is not None:
            self._wait.cancel()


def routes(context: ServerContext) -> list[tuple[Any, ...]]:
    """The transports family's routes: ``/ws``, ``/poll``, ``/longpoll``."""
    kw = {"context": context}
    return [
        (r"/ws", ChatSocketHandler, kw),
        (r"/poll", PollHandler, kw),
        (r"/longpoll", LongPollHandler, kw),
    ]
