"""The chat family: the page, the clock, the chat stream, the blocking answer, the stats.

* ``GET /``         the chat page: ``EventSource``, ``textContent``, backoff.
* ``GET /sse``      the source article's clock, ``?count=10&interval=1.0``.
* ``GET /chat``     the simulated model's tokens, ``?prompt=&seed=&speed=``,
  one event per token with ``id: <answer-id>:<k>``, read from the answer's
  log; resumes after ``Last-Event-ID`` on any instance sharing the store.
* ``GET /complete`` the same answer, blocking: JSON once it is all generated.
* ``GET /stats``    open connections, events sent, live tasks, RSS.
"""

from __future__ import annotations

import asyncio
import json
import time
from importlib import resources
from typing import Any

from sse_lab.protocol import DONE
from sse_lab.server.args import arg_float, arg_int, model_for
from sse_lab.server.context import ServerContext
from sse_lab.server.handler import ContextHandler, SSEHandler
from sse_lab.server.routes import answers as answer_routes
from sse_lab.server.stores import AnswerSpec
from sse_lab.server.upstream import UpstreamModel

__all__ = [
    "PageHandler",
    "ClockHandler",
    "ChatHandler",
    "CompleteHandler",
    "StatsHandler",
    "routes",
]

class ClockHandler(SSEHandler):
    """The source article's ``/sse``: the time every ``interval`` s, ``count`` times."""

    def parse_arguments(self) -> None:
        self.count = max(0, arg_int(self, "count", 10))
        self.interval = max(0.0, arg_float(self, "interval", 1.0))

    async def stream(self) -> None:
        for i in range(self.count):
            await asyncio.sleep(self.interval)
            await self.send(f"Current Time is {time.strftime('%H:%M:%S')}", id=str(i))
        await self.send(DONE)


class ChatHandler(SSEHandler):
    """``/chat``: a reader of an answer's log (:mod:`sse_lab.server.routes.answers`).

    One event per token, ``id: <answer-id>:<k>``, then ``[DONE]``. A fresh
    request starts an answer; ``Last-Event-ID`` (or ``?after=``) resumes it by
    replaying the log, on this instance or any other sharing the store.
    ``?policy=cancel|continue`` says what happens when every reader leaves.

    ``drop_after=n`` makes the server cut the connection after ``n`` tokens of
    a fresh request (not of a resumed one), to demonstrate reconnection.

    With ``SSE_LAB_UPSTREAM_BASE_URL`` set (read per request) the tokens come
    from that OpenAI-compatible model instead (:mod:`sse_lab.server.upstream`); its
    failures arrive as one ``event: error`` whose data is the message, and
    the stream then ends without ``[DONE]``.
    """

    async def get(self) -> None:  # type: ignore[override]
        resume = await answer_routes.resume_point(self, self.context.answers)
        if resume is None:
            return  # 204: the client already has the whole answer
        self.resume = resume
        await super().get()

    def parse_arguments(self) -> None:
        model = model_for(self, self.context.config.model)
        answer_id, after = self.resume
        self.spec = AnswerSpec(
            prompt=self.get_argument("prompt", "hello"),
            seed=arg_int(self, "seed", 0),
            speed=model.speed,
            cadence=model.cadence,
            policy=answer_routes.answer_policy(self, self.context.config.answers.policy),
            start=after + 1 if answer_id is None else 0,
            upstream=UpstreamModel.from_env() is not None,
        )
        self.drop_after = arg_int(self, "drop_after", -1)

    async def stream(self) -> None:
        await answer_routes.stream_answer(self, self.context.answers, self.resume, self.spec,
                                          drop_after=self.drop_after)


class CompleteHandler(ContextHandler):
    """``/complete``: the blocking style; the whole answer as JSON at the end."""

    def initialize(self, context: ServerContext) -> None:
        super().initialize(context)
        self._task: asyncio.Task[str] | None = None

    async def get(self) -> None:
        prompt = self.get_argument("prompt", "hello")
        seed = arg_int(self, "seed", 0)
        model = model_for(self, self.context.config.model)
        self._task = asyncio.ensure_future(model.complete(prompt, seed))
        self.context.tasks.add(self._task)
        try:
            text = await self._task
        except asyncio.CancelledError:
            return
        finally:
            self.context.tasks.discard(self._task)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"text": text, "prompt": prompt, "seed": seed}))

    def on_connection_close(self) -> None:
        if self._task is not None:
            self._task.cancel()


class StatsHandler(ContextHandler):
    """``/stats``: the server's live counters as JSON."""

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-cache")
        super().set_default_headers()

    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(self.context.snapshot()))


class PageHandler(ContextHandler):
    """``/``: the chat page (static HTML, all streaming done by the browser)."""

    def get(self) -> None:
        page = resources.files("sse_lab.server").joinpath("static/index.html").read_bytes()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(page)


def routes(context: ServerContext) -> list[tuple[Any, ...]]:
    """The chat family's routes: ``/``, ``/sse``, ``/chat``, ``/complete``, ``/stats``."""
    kw = {"context": context}
    return [
        (r"/", PageHandler, kw),
        (r"/sse", ClockHandler, kw),
        (r"/chat", ChatHandler, kw),
        (r"/complete", CompleteHandler, kw),
        (r"/stats", StatsHandler, kw),
    ]
