"""An Anthropic Messages API in front of the simulated model: ``POST /v1/messages``.

The official ``anthropic`` SDK streams from it as from the real API::

    from anthropic import Anthropic
    client = Anthropic(base_url=server.url, api_key="unused")
    with client.messages.stream(model="sse-lab-sim", max_tokens=1024,
                                messages=[{"role": "user", "content": "why stream?"}],
                                extra_body={"seed": 3}) as stream:
        for text in stream.text_stream:
            print(text, end="")

The answer is ``/chat``'s for the last user message's text and ``seed`` (a lab
extension: Anthropic has no seed), token for token. The stream is
``message_start`` (usage with ``input_tokens``), a ``ping``, then per content
block ``content_block_start`` / ``content_block_delta`` / ``content_block_stop``
(``thinking_delta`` and ``signature_delta`` when ``thinking`` is enabled,
``text_delta``, ``input_json_delta`` for a ``tool_use`` block's input), then
``message_delta`` (``stop_reason``, cumulative ``usage``) and
``message_stop``. While the model is silent for longer than ``ping_interval``
seconds (a lab extension, default 2) a ``ping`` event keeps the line alive.

Tool use follows :mod:`sse_lab.dialects.turn`: ``tool_choice`` ``auto``
calls the offered tools whose names appear in the prompt, ``any`` forces
one, ``{"type": "tool", "name": ...}`` names it, ``none`` forbids it; a last
user message carrying a ``tool_result`` gets a text answer.

Errors use Anthropic's shape ``{"type": "error", "error": {"type", "message"}}``:
400 ``invalid_request_error`` naming the field, 404 ``not_found_error``, 413
``request_too_large``, 429 ``rate_limit_error`` (the fault switch
``X-SSE-Lab-Fault: rate_limit``). ``X-SSE-Lab-Fault: overloaded; after=N``
sends ``event: error`` with ``overloaded_error`` after ``N`` steps *inside*
the HTTP 200, as the real API can under load; the SDK raises it as its own
``APIStatusError`` carrying that body.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

import tornado.web

from sse_lab.dialects import Script, ToolSpec, plan_turn
from sse_lab.dialects.writers import AnthropicWriter
from sse_lab.model import SimulatedLLM, tokenize
from sse_lab.server.args import (
    InputError,
    check_prompt_tokens,
    check_speed,
    off_loop,
    parse_json,
)
from sse_lab.server.context import ServerContext
from sse_lab.server.handler import ContextHandler, SSEHandler, error_message
from sse_lab.server.routes.openai import (
    MAX_BODY,
    APIError,
    fault_step,
    parse_fault,
    play,
    send_frames,
)

__all__ = ["AnthropicError", "MessagesRequest", "parse_messages_request", "routes"]

#: Seconds of silence after which the stream gets a ``ping`` event.
PING_INTERVAL = 2.0


class AnthropicError(tornado.web.HTTPError):
    """An error answered in Anthropic's shape."""

    TYPES = {400: "invalid_request_error", 404: "not_found_error", 405: "invalid_request_error",
             413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error"}

    def __init__(self, status: int, message: str, error_type: str | None = None) -> None:
        super().__init__(status, message.replace("%", "%%"))
        self.message = message
        self.type = error_type or self.TYPES.get(status, "api_error")


def _bad(message: str) -> AnthropicError:
    return AnthropicError(400, message)


@dataclass(frozen=True)
class MessagesRequest:
    """A validated ``/v1/messages`` request (lab extensions: ``seed``, ``speed``)."""

    model: str
    prompt: str
    prompt_tokens: int
    max_tokens: int
    stream: bool = False
    seed: int = 0
    speed: float | None = None
    thinking: bool = False
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str = "auto"
    ping_interval: float = PING_INTERVAL

    def script(self, model: SimulatedLLM) -> Script:
        """The planned turn; ``max_tokens`` bounds the visible answer."""
        return plan_turn(model, self.prompt, self.seed, tools=list(self.tools),
                         tool_choice=self.tool_choice, thinking=self.thinking,
                         max_tokens=self.max_tokens, prompt_tokens=self.prompt_tokens)


def _content_text(content: Any, where: str) -> tuple[str, bool]:
    """The text of a message's content, and whether it carries a tool result."""
    if isinstance(content, str):
        return content, False
    if not isinstance(content, list):
        raise _bad(f"{where}: content must be a string or an array of content blocks")
    texts, tool_result = [], False
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _bad(f"{where}.{j}: a content block needs a 'type'")
        kind = block["type"]
        if kind == "text":
            if not isinstance(block.get("text"), str):
                raise _bad(f"{where}.{j}.text: Field required (a string)")
            texts.append(block["text"])
        elif kind == "tool_result":
            tool_result = True
        elif kind not in ("tool_use", "thinking", "redacted_thinking", "image", "document"):
            raise _bad(f"{where}.{j}.type: unknown content block type {kind!r}")
    return "".join(texts), tool_result


def _number(body: dict[str, Any], name: str, default: float | None) -> float | None:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value <= 0:
        raise _bad(f"{name}: must be a positive number")
    return float(value)


def _tools(body: dict[str, Any]) -> tuple[tuple[ToolSpec, ...], str]:
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise _bad("tools: Input should be a valid list")
    specs = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) \
                or not tool["name"]:
            raise _bad(f"tools.{i}.name: Field required (a non-empty string)")
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise _bad(f"tools.{i}.input_schema: must be a JSON schema with type 'object'")
        specs.append(ToolSpec(tool["name"], schema))
    choice = body.get("tool_choice") or {"type": "auto"}
    if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
        raise _bad("tool_choice.type: must be 'auto', 'any', 'tool' or 'none'")
    kind = choice["type"]
    if kind == "tool":
        name = choice.get("name")
        if name not in {t.name for t in specs}:
            raise _bad(f"tool_choice.name: {name!r} is not one of the tools")
        return tuple(specs), name
    if kind == "any" and not specs:
        raise _bad("tool_choice: 'any' needs at least one tool")
    return tuple(specs), {"auto": "auto", "any": "required", "none": "none"}[kind]


def parse_messages_request(raw: bytes, speed_header: str | None = None) -> MessagesRequest:
    """Validate a body the way the Messages API does; raise :class:`AnthropicError`."""
    if len(raw) > MAX_BODY:
        raise AnthropicError(413, f"Request exceeds the maximum allowed size ({MAX_BODY} bytes)")
    try:
        body = parse_json(raw or b"null")  # depth bounded, no lone surrogates
    except InputError as exc:
        raise _bad(exc.message) from None
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("model: Field required")
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise _bad("max_tokens: Field required (an integer >= 1)")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages: Field required (a non-empty array)")
    texts: list[str] = []
    system = body.get("system")
    if system is not None:
        texts.append(_content_text(system, "system")[0])
    prompt, after_tool = None, False
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise _bad(f"{where}.role: Input should be 'user' or 'assistant'")
        text, tool_result = _content_text(message.get("content"), f"{where}.content")
        texts.append(text)
        if message["role"] == "user":
            prompt, after_tool = text, tool_result
    if prompt is None:
        raise _bad("messages: the conversation needs a user message")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _bad("stream: Input should be a valid boolean")
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _bad("seed: must be an integer (a lab extension)")
    speed = _number(body, "speed", None)
    if speed is None and speed_header is not None:
        try:
            speed = float(speed_header)
        except ValueError:
            speed = -1.0
        if not (math.isfinite(speed) and speed > 0):
            raise _bad("X-SSE-Lab-Speed: must be a positive number")
    thinking = body.get("thinking")
    enabled = False
    if thinking is not None:
        if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled",
                                                                          "adaptive"):
            raise _bad("thinking.type: must be 'enabled', 'adaptive' or 'disabled'")
        enabled = thinking["type"] != "disabled"
        if thinking["type"] == "enabled":
            budget = thinking.get("budget_tokens")
            if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1024:
                raise _bad("thinking.budget_tokens: must be an integer >= 1024")
            if budget >= max_tokens:
                raise _bad("max_tokens: must be greater than thinking.budget_tokens")
    tools, choice = _tools(body)
    if after_tool:
        choice = "none"
    return MessagesRequest(
        model=model,
        prompt=prompt,
        prompt_tokens=sum(len(tokenize(t)) for t in texts),
        max_tokens=max_tokens,
        stream=stream,
        seed=seed,
        speed=speed,
        thinking=enabled,
        tools=tools,
        tool_choice=choice,
        ping_interval=_number(body, "ping_interval", PING_INTERVAL) or PING_INTERVAL,
    )


def write_anthropic_error(handler: tornado.web.RequestHandler, status: int, kwargs: Any) -> None:
    """``write_error`` body: ``{"type": "error", "error": {"type", "message"}}``."""
    exc = kwargs.get("exc_info", (None, None, None))[1]
    if isinstance(exc, AnthropicError):
        error = {"type": exc.type, "message": exc.message}
    elif isinstance(exc, APIError):  # the shared fault-header parser speaks OpenAI
        error = {"type": AnthropicError.TYPES.get(status, "api_error"), "message": exc.message}
    else:
        error = {"type": AnthropicError.TYPES.get(status, "api_error"),
                 "message": error_message(handler, kwargs)}
    handler.set_header("Content-Type", "application/json")
    handler.finish(json.dumps({"type": "error", "error": error}))


class MessagesHandler(SSEHandler):
    """``POST /v1/messages``: a stream of message events, or one message object."""

    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        write_anthropic_error(self, status_code, kwargs)

    async def post(self) -> None:
        size = len(self.request.body)  # parse and plan in proportion to it: off the loop
        self.req = await off_loop(parse_messages_request, self.request.body,
                                  self.request.headers.get("X-SSE-Lab-Speed"), size=size)
        check_prompt_tokens(self.req.prompt_tokens, self.context.config.max_prompt_tokens)
        check_speed(self.req.speed)
        self.fault = parse_fault(self.request.headers.get("X-SSE-Lab-Fault"))
        if self.fault is not None and self.fault.kind == "rate_limit":
            raise AnthropicError(429, "Number of requests has exceeded your rate limit "
                                      "(the lab's fault switch).")
        base = self.context.config.model
        self.model = base if self.req.speed is None else replace(base, speed=self.req.speed)
        self.message_id = "msg_01" + secrets.token_hex(11)
        self.set_header("request-id", "req_01" + secrets.token_hex(11))
        self.script = await off_loop(self.req.script, self.model, size=size)
        if self.req.stream:
            await self.get()
        else:
            await self._complete()

    def _writer(self) -> AnthropicWriter:
        return AnthropicWriter(self.script, model=self.req.model, response_id=self.message_id,
                               created=int(time.time()))

    async def stream(self) -> None:
        self.retry_pending = None  # no retry: line, as Anthropic sends none
        await play(lambda frames: send_frames(self, frames), self._writer(), self.script,
                   fail_after=fault_step(self.fault, self.script),
                   ping_every=self.req.ping_interval)

    async def _complete(self) -> None:
        script = self.script
        self._task = asyncio.ensure_future(asyncio.sleep(sum(s.delay for s in script.steps)))
        self.context.tasks.add(self._task)
        try:
            await self._task
        except asyncio.CancelledError:
            return
        finally:
            self.context.tasks.discard(self._task)
        content: list[dict[str, Any]] = []
        if script.thinking:
            content.append({"type": "thinking", "thinking": script.thinking,
                            "signature": secrets.token_hex(32)})
        if script.text:
            content.append({"type": "text", "text": script.text})
        for call in script.tool_calls:
            content.append({"type": "tool_use", "id": "toolu_01" + call["call_id"],
                            "name": call["name"], "input": json.loads(call["arguments"])})
        usage = {"input_tokens": script.prompt_tokens, "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": 0, "output_tokens": script.output_tokens}
        body = {"id": self.message_id, "type": "message", "role": "assistant",
                "model": self.req.model, "content": content,
                "stop_reason": AnthropicWriter.STOP[script.finish], "stop_sequence": None,
                "usage": usage}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, ensure_ascii=False))


class NotFoundHandler(ContextHandler):
    """Anything else under ``/v1/messages/``: Anthropic's 404 body."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        write_anthropic_error(self, status_code, kwargs)

    def prepare(self) -> None:
        raise AnthropicError(404, f"{self.request.method} {self.request.path}: not found")


def routes(context: ServerContext) -> list[tuple[Any, ...]]:
    """Tornado routes this module adds to the lab server."""
    kw = {"context": context}
    return [
        (r"/v1/messages", MessagesHandler, kw),
        (r"/v1/messages/.+", NotFoundHandler, kw),
    ]
