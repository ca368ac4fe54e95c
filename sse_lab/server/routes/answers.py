"""Answers over HTTP: ``/chat`` as a reader of an answer's log, plus stop and state.

* ``GET /chat`` (:class:`~sse_lab.server.routes.chat.ChatHandler`) starts an
  answer, or resumes one: :func:`resume_point` reads where from, and
  :func:`stream_answer` replays the log from there and follows it live.
* ``POST /answers/<id>/stop`` stops an answer, wherever its generator runs.
* ``GET /answers/<id>`` its state as JSON (status, last offset, readers).

Where a stream resumes, in order:

1. ``Last-Event-ID: <answer-id>:<k>`` (what ``EventSource`` sends by itself),
   or the same value as ``?lastEventId=`` or ``?after=``;
2. ``?answer=<answer-id>`` with ``?after=<k>`` (or without: from the start);
3. an old-style numeric ``Last-Event-ID: k``: a *new* answer that starts at
   token ``k + 1`` (the simulated model regenerates exactly; kept so clients
   of the numeric ids keep working).

An unknown or expired answer is a 404 naming it (``EventSource`` then stops
for good instead of retrying forever); a resume point past the end of an
ended answer is a 204 (the client already has everything).
"""

from __future__ import annotations

import json
from contextlib import aclosing
from typing import Any, Protocol

import tornado.web

from sse_lab.protocol import DONE
from sse_lab.server.answers import POLICIES, Answers, event_id, parse_event_id
from sse_lab.server.args import last_event_id
from sse_lab.server.context import ServerContext
from sse_lab.server.handler import ContextHandler
from sse_lab.server.stores import AnswerSpec, LogTruncated, StoreError

__all__ = [
    "EventSink",
    "Resume",
    "resume_point",
    "answer_policy",
    "stream_answer",
    "StopAnswerHandler",
    "AnswerStateHandler",
    "routes",
]

#: ``(answer_id, after)`` to resume, or ``(None, after)`` for a new answer
#: whose log starts at ``after + 1``.
Resume = tuple[str | None, int]


def answer_policy(handler: tornado.web.RequestHandler, default: str) -> str:
    """``?policy=`` (``cancel`` or ``continue``), else ``default``; 400 otherwise."""
    policy = handler.get_argument("policy", default)
    if policy not in POLICIES:
        raise tornado.web.HTTPError(400, f"policy must be one of {', '.join(POLICIES)}")
    return policy


class EventSink(Protocol):
    """What :func:`stream_answer` writes to: an ``SSEHandler``."""

    async def send(self, data: str | None = None, *, event: str | None = None,
                   id: str | None = None) -> None: ...  # noqa: A002 - the SSE field
    def abort(self, reason: str = "") -> None: ...


async def resume_point(handler: tornado.web.RequestHandler, answers: Answers) -> Resume | None:
    """Where this request starts (see the module docstring); raises 404 or 400.

    ``None`` means the client already has the whole answer: the response was
    finished here with a 204, which tells ``EventSource`` not to reconnect.
    """
    raw = last_event_id(handler) or handler.get_argument("after", None)
    answer = handler.get_argument("answer", None)
    parsed = parse_event_id(raw)
    if parsed is None and answer is not None:
        if not (answer.isascii() and answer.isalnum() and len(answer) <= 64):
            raise tornado.web.HTTPError(400, "answer must be an answer id (letters and digits)")
        k = raw if raw is not None and raw.isascii() and raw.isdigit() else None
        if raw is not None and k is None:
            raise tornado.web.HTTPError(400, "after must be a token offset (a whole number)")
        parsed = (answer, int(k) if k is not None else -1)
    if parsed is None:
        if raw is not None and raw.isascii() and raw.isdigit() and len(raw) <= 9:
            return None, int(raw)  # an old-style numeric id: a new answer from k + 1
        return None, -1
    answer_id, after = parsed
    try:
        state = await answers.store.state(answer_id)
    except StoreError as exc:
        raise tornado.web.HTTPError(503, str(exc)) from None
    if state is None:
        raise tornado.web.HTTPError(
            404, f"answer {answer_id} is unknown or expired "
                 f"(answers are kept {answers.store.ttl:g} s after their last token)"
        )
    if state.ended and state.last <= after:
        handler.clear_header("Content-Type")
        handler.set_status(204)
        handler.finish()
        return None
    return answer_id, after


async def stream_answer(
    handler: EventSink,
    answers: Answers,
    resume: Resume,
    spec: AnswerSpec,
    *,
    drop_after: int = -1,
) -> None:
    """Send an answer's log as SSE: ``id: <answer>:<k>`` per token, then ``[DONE]``.

    A new answer (``resume[0] is None``) is started from ``spec``. Other ends:
    ``event: error`` (model failure, trimmed log, store lost: the data says
    which), ``event: stopped``. ``drop_after=n`` cuts a new answer's stream
    after ``n`` tokens (a demonstration of reconnecting).
    """
    answer_id, after = resume
    joined = False
    try:
        if answer_id is None:
            answer_id = await answers.start(spec, reader=True)
            joined = True
        sent = 0
        async with aclosing(answers.follow(answer_id, after, joined=joined)) as entries:
            async for entry in entries:
                eid = event_id(answer_id, entry.offset)
                if entry.kind == "token":
                    await handler.send(entry.text, id=eid)
                    sent += 1
                    if joined and sent == drop_after:
                        handler.abort("drop_after reached")
                        return
                elif entry.kind == "done":
                    await handler.send(DONE)
                else:  # error, stopped: with an id, so a reconnect gets a 204
                    await handler.send(entry.text or entry.kind, event=(
                        "error" if entry.kind == "error" else entry.kind), id=eid)
    except (LogTruncated, StoreError) as exc:
        # No id: the browser reconnects with the last good one once the
        # store is back; nothing is silently lost.
        await handler.send(str(exc), event="error")


class StopAnswerHandler(ContextHandler):
    """``POST /answers/<id>/stop``: stop generating; every reader gets ``event: stopped``."""

    async def post(self, answer_id: str) -> None:
        answers: Answers = self.context.answers
        try:
            if await answers.store.state(answer_id) is None:
                raise tornado.web.HTTPError(404, f"answer {answer_id} is unknown or expired")
            stopped = await answers.stop(answer_id)
        except StoreError as exc:
            raise tornado.web.HTTPError(503, str(exc)) from None
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"answer": answer_id, "stopped": stopped}))


class AnswerStateHandler(ContextHandler):
    """``GET /answers/<id>``: status, last offset, readers, policy, as JSON."""

    async def get(self, answer_id: str) -> None:
        try:
            state = await self.context.answers.store.state(answer_id)
        except StoreError as exc:
            raise tornado.web.HTTPError(503, str(exc)) from None
        if state is None:
            raise tornado.web.HTTPError(404, f"answer {answer_id} is unknown or expired")
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(json.dumps({
            "answer": answer_id, "status": state.status, "last": state.last,
            "readers": state.readers, "ended": state.ended, "policy": state.spec.policy,
            "prompt": state.spec.prompt, "seed": state.spec.seed,
        }))


def routes(context: ServerContext) -> list[tuple[Any, ...]]:
    """``/answers/<id>`` and ``/answers/<id>/stop`` for ``context.answers``.

    (``/chat`` itself lives with the chat routes and calls :func:`stream_answer`.)
    """
    kw = {"context": context}
    return [
        (r"/answers/([0-9A-Za-z]{1,64})/stop", StopAnswerHandler, kw),
        (r"/answers/([0-9A-Za-z]{1,64})", AnswerStateHandler, kw),
    ]
