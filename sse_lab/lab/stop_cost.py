"""What Stop saves, measured on the server: tokens generated for nobody.

Two lessons of notebook 10, each a measurement against a running lab server:

* :func:`stop_cost` -- a client reads ``stop_after`` tokens and leaves. A
  server that cancels the generation when the connection closes (every lab
  endpoint does) generates at most the tokens in flight; one that does not
  (:class:`NoCancelChatHandler`) generates the whole answer anyway.
* :func:`visibility_cost` -- a client drops the stream (a hidden tab) and
  comes back. Re-sending the request regenerates the answer from the start (a
  popular fetch-SSE library does this for a ``POST`` when the tab becomes
  visible again); resuming the same answer after its last event id
  generates only the rest.

Tokens are counted by the server, never by the client.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, ClassVar
from urllib.parse import urlencode

import tornado.web
from tornado.iostream import StreamClosedError

from sse_lab.client import record_sync
from sse_lab.model import SimulatedLLM
from sse_lab.protocol import DONE
from sse_lab.server import LabServer, SSEHandler

__all__ = [
    "NoCancelChatHandler",
    "StopCost",
    "VisibilityCost",
    "stop_cost",
    "visibility_cost",
]


class NoCancelChatHandler(SSEHandler):
    """``/chat-nocancel``: ``/chat`` by a server that ignores the client leaving.

    ``on_connection_close`` does not cancel the generation (the mistake), so
    every token of the answer is generated, and written into a closed
    connection, whoever is still reading. ``generated[tag]`` counts them.
    """

    generated: ClassVar[Counter[str]] = Counter()

    def parse_arguments(self) -> None:
        self.prompt = self.get_argument("prompt", "hello")
        self.tag = self.get_argument("tag", "")
        try:
            self.seed = int(self.get_argument("seed", "0"))
            self.speed = float(self.get_argument("speed", "1"))
        except ValueError:
            raise tornado.web.HTTPError(400, "seed must be an integer, speed a number") from None
        if not 0 < self.speed < 1000:
            raise tornado.web.HTTPError(400, "speed must be between 0 and 1000")
        self.client_left = False

    def on_connection_close(self) -> None:
        self.client_left = True  # ...and the generation goes on

    async def stream(self) -> None:
        model = replace(self.context.config.model, speed=self.speed)
        async for token in model.stream(self.prompt, self.seed):
            type(self).generated[self.tag] += 1
            if self.client_left:
                continue
            try:
                await self.send(token.text, id=str(token.index))
            except StreamClosedError:
                self.client_left = True
        if not self.client_left:
            await self.send(DONE)


def _wait_idle(server: LabServer, timeout: float) -> None:
    """Wait until the server has no live generation task (or ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while server.stats()["generation_tasks"] and time.monotonic() < deadline:
        time.sleep(0.02)


def _query(prompt: str, seed: int, speed: float, **more: Any) -> str:
    return urlencode({"prompt": prompt, "seed": seed, "speed": speed, **more})


@dataclass(frozen=True)
class StopCost:
    """Tokens of one answer, and how many were generated after Stop.

    Attributes:
        answer_tokens: Tokens in the whole answer (input: the model's plan).
        read: Tokens the client read before it stopped (input).
        generated_with_cancel: Tokens the cancelling server generated
            (measured: its ``events_sent``).
        generated_without_cancel: Tokens the non-cancelling server generated
            (measured: :attr:`NoCancelChatHandler.generated`).
    """

    answer_tokens: int
    read: int
    generated_with_cancel: int
    generated_without_cancel: int

    @property
    def wasted_with_cancel(self) -> int:
        """Tokens generated after Stop by the cancelling server."""
        return self.generated_with_cancel - self.read

    @property
    def wasted_without_cancel(self) -> int:
        """Tokens generated after Stop by the server that ignores it."""
        return self.generated_without_cancel - self.read


def stop_cost(
    server: LabServer, prompt: str, *, seed: int = 0, speed: float = 8.0, stop_after: int = 5
) -> StopCost:
    """Read ``stop_after`` tokens from ``/chat`` and from ``/chat-nocancel``, then leave."""
    server.add_handler(r"/chat-nocancel", NoCancelChatHandler)
    plan = SimulatedLLM(speed=speed).plan(prompt, seed)
    _wait_idle(server, 10)
    before = server.stats()["events_sent"]
    record_sync(f"{server.url}/chat?{_query(prompt, seed, speed)}", max_events=stop_after)
    _wait_idle(server, plan.total + 10)
    with_cancel = server.stats()["events_sent"] - before

    tag = secrets.token_hex(8)
    url = f"{server.url}/chat-nocancel?{_query(prompt, seed, speed, tag=tag)}"
    record_sync(url, max_events=stop_after)
    _wait_idle(server, plan.total + 10)  # it generates on, to the end of the answer
    return StopCost(
        answer_tokens=len(plan.tokens),
        read=stop_after,
        generated_with_cancel=with_cancel,
        generated_without_cancel=NoCancelChatHandler.generated[tag],
    )


@dataclass(frozen=True)
class VisibilityCost:
    """Tokens generated for one answer whose reader left after ``read`` tokens.

    Attributes:
        answer_tokens: Tokens in the whole answer (input).
        read: Tokens read before the tab was hidden (input).
        generated_resend: Tokens generated when the client re-sends the
            request from scratch (measured).
        generated_resume: Tokens generated when it resumes the same answer
            after its last event id (measured).
        text_resend, text_resume: What the client ended up showing.
    """

    answer_tokens: int
    read: int
    generated_resend: int
    generated_resume: int
    text_resend: str
    text_resume: str


def visibility_cost(
    server: LabServer, prompt: str, *, seed: int = 0, speed: float = 8.0, read: int = 20
) -> VisibilityCost:
    """Leave after ``read`` tokens, come back: re-send vs resume, counted by the server."""
    plan = SimulatedLLM(speed=speed).plan(prompt, seed)
    url = f"{server.url}/chat?{_query(prompt, seed, speed)}"

    def generated(second_request: dict[str, Any]) -> tuple[int, str]:
        _wait_idle(server, 10)
        before = server.stats()["events_sent"]
        first = record_sync(url, max_events=read)
        _wait_idle(server, plan.total + 10)
        if second_request.get("last_event_id") == "last":
            second_request = {"last_event_id": first.arrivals[-1].event.id}
        second = record_sync(url, **second_request)
        _wait_idle(server, 10)
        sent = server.stats()["events_sent"] - before
        shown = second.text if "last_event_id" not in second_request else first.text + second.text
        return sent - 1, shown  # minus the one [DONE]

    resend, text_resend = generated({})
    resume, text_resume = generated({"last_event_id": "last"})
    return VisibilityCost(len(plan.tokens), read, resend, resume, text_resend, text_resume)
