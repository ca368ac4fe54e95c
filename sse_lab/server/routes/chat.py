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
import base64
import hashlib
import json
import re
import time
from importlib import resources
from typing import Any

import tornado.web

from sse_lab.protocol import DONE
from sse_lab.server.args import arg_float, arg_int, check_same_site, model_for
from sse_lab.server.context import ServerContext
from sse_lab.server.handler import ContextHandler, SSEHandler
from sse_lab.server.routes import answers as answer_routes
from sse_lab.server.routes.pages import PAGE_CSP
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
    """The source article's ``/sse``: the time every ``interval`` s, ``count`` times.

    ``count`` is at most ``ServerConfig.sse_max_events`` (else 400) and an
    ``interval`` below ``ServerConfig.sse_min_interval`` (``0`` included) is
    raised to it: ``interval=0`` would otherwise be a firehose that pins a
    core for as long as the reader stays.
    """

    def parse_arguments(self) -> None:
        cfg = self.context.config
        self.count = arg_int(self, "count", 10, 0, cfg.sse_max_events)
        interval = arg_float(self, "interval", 1.0, lo=0.0, hi=3600.0)
        self.interval = max(cfg.sse_min_interval, interval)

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
        if UpstreamModel.from_env() is not None:
            # The relay spends the upstream's API key: no cross-site caller.
            check_same_site(self, self.context.config.cors_origins)
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
    """``/complete``: the blocking style; the whole answer as JSON at the end.

    An answer that would take longer than ``ServerConfig.max_lifetime`` is
    cut with a 503 (the lifetime limit of the streams, for the blocking style).
    """

    error_format = "json"

    def initialize(self, context: ServerContext) -> None:
        super().initialize(context)
        self._task: asyncio.Task[str] | None = None

    async def get(self) -> None:
        prompt = self.get_argument("prompt", "hello")
        seed = arg_int(self, "seed", 0)
        model = model_for(self, self.context.config.model)
        self._task = asyncio.ensure_future(model.complete(prompt, seed))
        self.context.tasks.add(self._task)
        lifetime = self.context.config.max_lifetime
        try:
            text = await asyncio.wait_for(self._task, lifetime)
        except asyncio.CancelledError:
            return
        except asyncio.TimeoutError:
            self.context.lifetime_closed += 1
            raise tornado.web.HTTPError(
                503, f"the answer takes longer than max_lifetime ({lifetime:g} s)"
            ) from None
        finally:
            self.context.tasks.discard(self._task)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"text": text, "prompt": prompt, "seed": seed}))

    def on_connection_close(self) -> None:
        if self._task is not None:
            self._task.cancel()


class StatsHandler(ContextHandler):
    """``/stats``: the server's live counters as JSON."""

    error_format = "json"

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-cache")
        super().set_default_headers()

    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(self.context.snapshot()))


def _inline_script_csp(page: bytes) -> str:
    """The page CSP, with the page's own inline ``<script>`` allowed by its hash.

    ``script-src 'self' 'sha256-...'`` runs exactly the script the file holds
    and nothing else: markup that slips into the page cannot run, and the
    page stays one file.
    """
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in re.findall(rb"<script>(.*?)</script>", page, re.S)
    ]
    csp = PAGE_CSP.replace("script-src 'self'", "script-src 'self' " + " ".join(hashes))
    # The page's <style> block and style="" attributes (layout, not code).
    return csp.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class PageHandler(ContextHandler):
    """``/``: the chat page (static HTML, all streaming done by the browser).

    Served with the lab's page policy (:data:`~sse_lab.server.routes.pages.PAGE_CSP`:
    scripts and connections from this server only, framing by JupyterLab on
    the loopback interface), ``X-Content-Type-Options: nosniff`` and no referrer.
    """

    def get(self) -> None:
        page = resources.files("sse_lab.server").joinpath("static/index.html").read_bytes()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("Content-Security-Policy", _inline_script_csp(page))
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
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
