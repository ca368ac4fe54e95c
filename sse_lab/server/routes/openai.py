"""An OpenAI-compatible API in front of the simulated model.

``POST /v1/chat/completions`` speaks the Chat Completions wire format, so the
official ``openai`` SDK, ``httpx-sse``, LangChain and friends can stream from
the lab exactly as from a hosted model::

    from openai import OpenAI
    client = OpenAI(base_url=server.url + "/v1", api_key="unused")
    for chunk in client.chat.completions.create(
        model="sse-lab-sim", messages=[{"role": "user", "content": "why stream?"}],
        stream=True, seed=3,
    ):
        print(chunk.choices[0].delta.content or "", end="")

The prompt is the last ``user`` message; the answer, its tokens and their
timing are exactly those of ``/chat?prompt=<that message>&seed=<seed>``.

With ``"stream": true`` the response is an event stream of
``chat.completion.chunk`` objects: first ``delta: {role, content: ""}``, then
one chunk per token, then an empty delta with ``finish_reason``, then
``data: [DONE]``. Every block carries data (the SDK parses each as JSON).
Leaving mid-stream cancels generation at once. With ``"stream": false`` the
whole ``chat.completion`` object comes at the end, with ``usage``.

Lab extensions: a ``speed`` body field or an ``X-SSE-Lab-Speed`` header
scales the delays (the body wins). Any ``model`` name is accepted and echoed
back. ``max_tokens`` / ``max_completion_tokens`` cut the answer with
``finish_reason: "length"``, and ``stream_options.include_usage`` adds the
usage-only last chunk, as OpenAI does. ``GET /v1/models`` lists
``sse-lab-sim``.

**Reasoning (a lab option, off by default).** OpenAI's own Chat Completions stream
has no thinking text, so by default this endpoint sends none. A request with
``"enable_thinking": true`` (Qwen / DashScope's switch) or ``"thinking": {"type":
"enabled"}`` (Zhipu GLM's and DeepSeek's) makes the simulated model think first, as
the OpenAI-compatible Chinese providers stream it: ``delta.reasoning_content`` chunks
before the first ``delta.content``, ``usage.completion_tokens_details.reasoning_tokens``
counting them, and ``message.reasoning_content`` in a non-streamed answer. The answer
text stays ``/chat``'s.

**Tool calls.** With ``tools`` in the request the simulated model calls every
offered function whose name appears in the prompt (``tool_choice``
``"required"`` or a named function forces a call, ``"none"`` forbids it;
``parallel_tool_calls: false`` keeps only the first), as
:mod:`sse_lab.dialects.turn` plans it. The stream then carries
``delta.tool_calls`` exactly as OpenAI sends them: the first fragment of each
call has ``index``, ``id``, ``type`` and ``function.name`` with empty
``arguments``; later fragments carry pieces of the arguments cut anywhere
(mid-key, mid-string, inside a ``\\uXXXX`` escape), joined by ``index``; the
last chunk says ``finish_reason: "tool_calls"``. A request whose last message
is a ``tool`` result gets a text answer.

Lab fault switch: the header ``X-SSE-Lab-Fault: overloaded; after=N`` breaks
the stream after ``N`` steps with the dialect's in-stream error (here an
``{"error": ...}`` chunk, inside the HTTP 200); ``X-SSE-Lab-Fault:
rate_limit`` answers 429 before streaming. Bodies over :data:`MAX_BODY`
bytes get 413.

This API always serves the simulated model, even when ``/chat`` relays an
upstream (:mod:`sse_lab.server.upstream`): pointing the upstream at the lab's own
``/v1`` is therefore safe, not a loop.
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
from sse_lab.dialects.writers import ChatWriter, Frame, Writer
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
from sse_lab.server.tornado_internals import response_header

__all__ = [
    "MODEL_ID",
    "MAX_BODY",
    "ChatRequest",
    "APIError",
    "Fault",
    "parse_chat_request",
    "parse_thinking",
    "parse_fault",
    "fault_step",
    "play",
    "send_frames",
    "write_api_error",
    "routes",
]

#: The model id ``GET /v1/models`` lists (any name is accepted in requests).
MODEL_ID = "sse-lab-sim"
_CREATED = 1_700_000_000  # a fixed "created" for the model listing
#: Largest request body the dialect endpoints accept (bigger gets 413).
MAX_BODY = 1024 * 1024
_ALLOW_HEADERS = "Authorization, Content-Type, X-SSE-Lab-Speed, OpenAI-Organization"


class APIError(tornado.web.HTTPError):
    """An error answered with OpenAI's body: ``{"error": {message, type, param, code}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",  # noqa: A002 - OpenAI's field name
    ) -> None:
        super().__init__(status, message.replace("%", "%%"))
        self.message = message
        self.param = param
        self.code = code
        self.type = type


@dataclass(frozen=True)
class ChatRequest:
    """A validated ``/v1/chat/completions`` request.

    Attributes:
        model: The requested model name (echoed in the response).
        prompt: The content of the last ``user`` message.
        prompt_tokens: Tokens in all messages (for ``usage``).
        seed: Picks the answer and its timing, as ``/chat``'s ``seed``.
        stream: Stream chunks (True) or answer once (False).
        speed: Delay divisor, or ``None`` for the server's model default.
        max_tokens: Cut the answer after this many tokens, or ``None``.
        include_usage: ``stream_options.include_usage``.
        tools: The functions offered (name and JSON-schema parameters).
        tool_choice: ``"auto"``, ``"none"``, ``"required"`` or a function name.
        parallel_tool_calls: ``False`` keeps at most one call.
        thinking: Stream ``reasoning_content`` before the answer (lab option).
    """

    model: str
    prompt: str
    prompt_tokens: int
    seed: int = 0
    stream: bool = False
    speed: float | None = None
    max_tokens: int | None = None
    include_usage: bool = False
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str = "auto"
    parallel_tool_calls: bool = True
    thinking: bool = False

    def script(self, model: SimulatedLLM) -> Script:
        """The planned turn for this request."""
        script = plan_turn(
            model, self.prompt, self.seed, tools=list(self.tools), tool_choice=self.tool_choice,
            max_tokens=self.max_tokens, prompt_tokens=self.prompt_tokens,
            thinking=self.thinking,
        )
        if not self.parallel_tool_calls:
            script = _first_call_only(script)
        return script


def _first_call_only(script: Script) -> Script:
    steps = tuple(s for s in script.steps if s.kind not in ("tool_start", "tool_arguments")
                  or s.index == 0)
    return Script(steps, script.finish, script.prompt_tokens)


def parse_tools(tools: Any, choice: Any) -> tuple[tuple[ToolSpec, ...], str]:
    """Validate Chat Completions ``tools`` and ``tool_choice``; raise :class:`APIError`."""
    if tools is None:
        tools = []
    if not isinstance(tools, list):
        raise APIError(400, "tools must be an array of function tools", param="tools")
    specs = []
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise APIError(400, f"{where}.type must be 'function'", param=f"{where}.type")
        fn = tool.get("function")
        if not isinstance(fn, dict):
            raise APIError(400, f"{where}.function must be an object", param=f"{where}.function")
        name = fn.get("name")
        if not isinstance(name, str) or not name or len(name) > 64:
            raise APIError(400, f"{where}.function.name must be a string of 1-64 characters",
                           param=f"{where}.function.name")
        params = fn.get("parameters", {})
        if not isinstance(params, dict):
            raise APIError(400, f"{where}.function.parameters must be a JSON schema object",
                           param=f"{where}.function.parameters")
        specs.append(ToolSpec(name, params))
    if choice is None:
        choice = "auto" if specs else "none"
    if isinstance(choice, dict):
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, dict) else None
        if choice.get("type") != "function" or not isinstance(name, str):
            raise APIError(400, "tool_choice must be 'none', 'auto', 'required' or "
                           "{'type': 'function', 'function': {'name': ...}}", param="tool_choice")
        choice = name
    elif choice not in ("none", "auto", "required"):
        raise APIError(400, "tool_choice must be 'none', 'auto', 'required' or a named function",
                       param="tool_choice")
    if choice not in ("none", "auto", "required") and choice not in {t.name for t in specs}:
        raise APIError(400, f"tool_choice names {choice!r}, which is not in tools",
                       param="tool_choice")
    if choice in ("required",) and not specs:
        raise APIError(400, "tool_choice 'required' needs at least one tool", param="tool_choice")
    return tuple(specs), choice


def _message_text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise APIError(400, "only text content parts are supported", param=where)
            text = part.get("text")
            if not isinstance(text, str):
                raise APIError(400, "a text content part needs a string 'text'", param=where)
            texts.append(text)
        return "".join(texts)
    raise APIError(400, "content must be a string or a list of text parts", param=where)


def _positive_number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise APIError(400, f"{name} must be a number", param=name)
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise APIError(400, f"{name} must be a positive finite number", param=name)
    return value


def _optional_int(body: dict[str, Any], name: str, minimum: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise APIError(400, f"{name} must be an integer >= {minimum}", param=name)
    return value


def parse_thinking(body: dict[str, Any]) -> bool:
    """The reasoning switch: ``enable_thinking`` (bool) or ``thinking.type``; default off."""
    enable = body.get("enable_thinking")
    if enable is not None and not isinstance(enable, bool):
        raise APIError(400, "enable_thinking must be a boolean", param="enable_thinking")
    thinking = body.get("thinking")
    if thinking is not None:
        if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled"):
            raise APIError(400, "thinking must be {'type': 'enabled'} or {'type': 'disabled'}",
                           param="thinking.type")
        if enable is not None and enable != (thinking["type"] == "enabled"):
            raise APIError(400, "enable_thinking and thinking.type disagree",
                           param="enable_thinking")
        return thinking["type"] == "enabled"
    return bool(enable)


def parse_chat_request(raw: bytes, speed_header: str | None = None) -> ChatRequest:
    """Validate a request body; raise :class:`APIError` (400) on anything wrong."""
    try:
        body = parse_json(raw or b"null")  # depth bounded, no lone surrogates
    except InputError as exc:
        raise APIError(400, exc.message, param=exc.param) from None
    if not isinstance(body, dict):
        raise APIError(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise APIError(400, "you must provide a model name", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise APIError(400, "messages must be a non-empty array", param="messages")
    prompt: str | None = None
    texts = []
    last_role = None
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise APIError(400, f"{where} must be an object", param=where)
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool", "function"):
            raise APIError(400, f"{where}.role is not a valid role: {role!r}", param=where)
        text = _message_text(message.get("content"), f"{where}.content")
        texts.append(text)
        last_role = role
        if role == "user":
            prompt = text
    if prompt is None:
        raise APIError(400, "messages must contain a user message", param="messages")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise APIError(400, "stream must be a boolean", param="stream")
    seed = body.get("seed")
    if seed is None:
        seed = 0
    elif isinstance(seed, bool) or not isinstance(seed, int):
        raise APIError(400, "seed must be an integer", param="seed")
    n = body.get("n")
    if n is not None and n != 1:
        raise APIError(400, "only n=1 is supported", param="n")
    speed: float | None = None
    if body.get("speed") is not None:
        speed = _positive_number(body["speed"], "speed")
    elif speed_header is not None:
        try:
            speed = _positive_number(float(speed_header), "X-SSE-Lab-Speed")
        except ValueError:
            raise APIError(400, "X-SSE-Lab-Speed must be a number") from None
    max_tokens = _optional_int(body, "max_completion_tokens", 1)
    if max_tokens is None:
        max_tokens = _optional_int(body, "max_tokens", 1)
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise APIError(400, "stream_options must be an object", param="stream_options")
    include_usage = bool(options and options.get("include_usage"))
    tools, tool_choice = parse_tools(body.get("tools"), body.get("tool_choice"))
    if last_role == "tool":  # the tool answered: now the model answers the user
        tool_choice = "none"
    parallel = body.get("parallel_tool_calls", True)
    if not isinstance(parallel, bool):
        raise APIError(400, "parallel_tool_calls must be a boolean", param="parallel_tool_calls")
    return ChatRequest(
        model=model,
        prompt=prompt,
        prompt_tokens=sum(len(tokenize(t)) for t in texts),
        seed=seed,
        stream=stream,
        speed=speed,
        max_tokens=max_tokens,
        include_usage=include_usage,
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        thinking=parse_thinking(body),
    )


@dataclass(frozen=True)
class Fault:
    """The lab's fault switch, from the ``X-SSE-Lab-Fault`` header.

    ``kind`` is ``"overloaded"`` (an error event inside the 200 after
    ``after`` steps) or ``"rate_limit"`` (a 429 before any byte).
    """

    kind: str
    after: int | None = None


def parse_fault(header: str | None) -> Fault | None:
    """Parse ``overloaded``, ``overloaded; after=N`` or ``rate_limit``."""
    if header is None:
        return None
    kind, _, rest = header.partition(";")
    kind = kind.strip()
    if kind not in ("overloaded", "rate_limit"):
        raise APIError(400, "X-SSE-Lab-Fault must be 'overloaded[; after=N]' or 'rate_limit'")
    after = None
    if rest.strip():
        key, _, value = rest.strip().partition("=")
        if key.strip() != "after" or not value.strip().isdigit():
            raise APIError(400, "X-SSE-Lab-Fault: after must be a whole number, as 'after=5'")
        after = int(value)
    return Fault(kind, after)


def fault_step(fault: Fault | None, script: Script) -> int | None:
    """The step after which an ``overloaded`` fault breaks the stream (default: halfway)."""
    if fault is None or fault.kind != "overloaded":
        return None
    return fault.after if fault.after is not None else len(script.steps) // 2


async def send_frames(handler: SSEHandler, frames: list[Frame]) -> None:
    """Send a writer's frames as SSE events."""
    for event, data in frames:
        await handler.send(data, event=event)


async def play(
    emit: Any,
    writer: Writer,
    script: Script,
    *,
    fail_after: int | None = None,
    ping_every: float | None = None,
) -> None:
    """Stream ``script`` through ``writer`` with the planned timing.

    ``emit(frames)`` is awaited for each group of frames. Each step waits until
    its planned time (measured from the start, so timer oversleep does not add
    up). ``ping_every`` sends the writer's ping while a wait is longer than
    that; ``fail_after=k`` ends with the writer's in-stream error after ``k``
    steps. Cancelling the task stops it at once.
    """
    loop = asyncio.get_running_loop()
    await emit(writer.start())
    due = last = loop.time()
    for i, step in enumerate(script.steps):
        if fail_after is not None and i >= fail_after:
            await emit(writer.fail("overloaded_error", "Overloaded"))
            return
        due += step.delay
        while (wait := due - loop.time()) > 0:
            if ping_every is not None and loop.time() + wait - last > ping_every:
                await asyncio.sleep(max(0.0, last + ping_every - loop.time()))
                await emit(writer.ping())
                last = loop.time()
                continue
            await asyncio.sleep(wait)
        await emit(writer.step(step))
        last = loop.time()
    await emit(writer.finish())


def write_api_error(handler: tornado.web.RequestHandler, status: int, kwargs: Any) -> None:
    """``write_error`` body in OpenAI's shape: ``{"error": {message, type, param, code}}``."""
    exc = kwargs.get("exc_info", (None, None, None))[1]
    if isinstance(exc, APIError):
        error = {"message": exc.message, "type": exc.type, "param": exc.param, "code": exc.code}
    else:
        error = {
            "message": error_message(handler, kwargs),
            "type": "invalid_request_error" if status < 500 else "server_error",
            "param": getattr(exc, "param", None),
            "code": None,
        }
    handler.set_header("Content-Type", "application/json; charset=utf-8")
    handler.finish(json.dumps({"error": error}))


class ChatCompletionsHandler(SSEHandler):
    """``POST /v1/chat/completions``: streamed chunks or one completion object."""

    SUPPORTED_METHODS = ("POST", "OPTIONS")  # type: ignore[assignment]

    req: ChatRequest
    script: Script
    model: SimulatedLLM

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        write_api_error(self, status_code, kwargs)

    def options(self) -> None:
        """CORS preflight (browsers send one before a JSON ``POST``)."""
        self.set_status(204)
        if response_header(self, "Access-Control-Allow-Origin"):
            self.set_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.set_header("Access-Control-Allow-Headers", _ALLOW_HEADERS)
        self.finish()

    async def post(self) -> None:
        limit = self.context.config.max_body  # the server's limits, in one place
        if len(self.request.body) > limit:
            raise APIError(413, f"the request body is over {limit} bytes",
                           code="request_too_large")
        size = len(self.request.body)  # parse and plan in proportion to it: off the loop
        self.req = await off_loop(
            parse_chat_request, self.request.body, self.request.headers.get("X-SSE-Lab-Speed"),
            size=size,
        )
        check_prompt_tokens(self.req.prompt_tokens, self.context.config.max_prompt_tokens)
        check_speed(self.req.speed)
        self.fault = parse_fault(self.request.headers.get("X-SSE-Lab-Fault"))
        if self.fault is not None and self.fault.kind == "rate_limit":
            raise APIError(429, "Rate limit reached (the lab's fault switch)",
                           type="requests", code="rate_limit_exceeded")
        base = self.context.config.model
        self.model = base if self.req.speed is None else replace(base, speed=self.req.speed)
        self.completion_id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.script = await off_loop(self.req.script, self.model, size=size)
        if self.req.stream:
            await self.get()  # SSEHandler's machinery: task, cancel on leave, counters
        else:
            await self._complete()

    # -- stream: true -------------------------------------------------------------
    async def stream(self) -> None:
        self.retry_pending = None  # no retry: line, as OpenAI sends none (a POST cannot resume)
        script = self.script
        writer = ChatWriter(script, include_usage=self.req.include_usage, model=self.req.model,
                            response_id=self.completion_id, created=self.created)
        fail_after = fault_step(self.fault, script)
        await play(lambda frames: send_frames(self, frames), writer, script,
                   fail_after=fail_after)

    # -- stream: false ------------------------------------------------------------
    async def _complete(self) -> None:
        req = self.req
        script = self.script
        context = self.context
        # As /complete: the answer exists only once it is all "generated"; the
        # task is counted and cancelled if the client leaves meanwhile.
        wait = sum(s.delay for s in script.steps)
        lifetime = context.config.max_lifetime
        if lifetime is not None and wait > lifetime:  # the streams' lifetime limit, up front
            raise APIError(503, f"the answer would take {wait:.0f} s, longer than max_lifetime "
                           f"({lifetime:g} s): stream it, or raise speed", code="timeout",
                           type="server_error")
        self._task = asyncio.ensure_future(asyncio.sleep(wait))
        context.tasks.add(self._task)
        try:
            await self._task
        except asyncio.CancelledError:
            return
        finally:
            context.tasks.discard(self._task)
        message: dict[str, Any] = {"role": "assistant", "content": script.text, "refusal": None}
        if req.thinking:
            message["reasoning_content"] = script.thinking
        if script.finish == "tool_calls":
            message["content"] = None
            message["tool_calls"] = [
                {"id": "call_" + c["call_id"], "type": "function",
                 "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in script.tool_calls
            ]
        writer = ChatWriter(script, model=req.model, response_id=self.completion_id,
                            created=self.created)
        body = {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": req.model,
            "system_fingerprint": None,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": script.finish}
            ],
            "usage": writer.usage(),
        }
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))


def _model_object(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": _CREATED, "owned_by": "sse-lab"}


class ModelsHandler(ContextHandler):
    """``GET /v1/models`` and ``GET /v1/models/<id>``."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        super().set_default_headers()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        write_api_error(self, status_code, kwargs)

    def get(self, model_id: str | None = None) -> None:
        if model_id is None:
            self.finish(json.dumps({"object": "list", "data": [_model_object(MODEL_ID)]}))
        elif model_id == MODEL_ID:
            self.finish(json.dumps(_model_object(MODEL_ID)))
        else:
            raise APIError(
                404,
                f"The model '{model_id}' does not exist",
                param="model",
                code="model_not_found",
            )


def routes(context: ServerContext) -> list[tuple[Any, ...]]:
    """Tornado routes this module adds to the lab server."""
    kw = {"context": context}
    return [
        (r"/v1/chat/completions", ChatCompletionsHandler, kw),
        (r"/v1/models", ModelsHandler, kw),
        (r"/v1/models/([^/]+)", ModelsHandler, kw),
    ]
