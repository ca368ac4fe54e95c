"""An OpenAI Responses API in front of the simulated model: ``POST /v1/responses``.

With ``"stream": true`` the answer is a stream of *typed* events, each with
``event: <type>`` and a ``sequence_number`` counting from 0:
``response.created``, ``response.in_progress``, then per output item
``response.output_item.added``, its parts and deltas
(``response.output_text.delta``, ``response.function_call_arguments.delta``,
``response.reasoning_summary_text.delta``), ``….done`` events, and finally
``response.completed`` (or ``response.incomplete`` when
``max_output_tokens`` cut the answer, ``response.failed`` on the fault
switch). There is no ``[DONE]``. The text equals ``/chat``'s for the last
user input and ``seed`` (a lab extension, as ``speed``).

``reasoning: {"effort": ...}`` makes the model think first (the time passes
before the first visible token); with ``"summary"`` set the thinking streams
as reasoning-summary deltas, else it stays hidden, as OpenAI does.

**Background mode and resume.** ``"background": true`` runs the generation
as a task of its own that outlives the connection; its events are kept in
memory, so ``GET /v1/responses/{id}?stream=true&starting_after=N`` replays
the events after sequence number ``N`` and then follows the live ones: a
dropped reader resumes without a gap or a duplicate. ``GET /v1/responses/{id}``
returns the response object; ``POST /v1/responses/{id}/cancel`` stops it.
The store is bounded: at most :data:`MAX_STORED` responses, each kept
:data:`TTL` seconds after it ends; when it is full of running responses a new
background request gets 429. Only background responses are stored (a plain
stream's id is 404 later).

Errors use OpenAI's ``{"error": {message, type, param, code}}`` with 400 for
bad input (naming the parameter), 404 for an unknown id, 413 for a body over
1 MiB, 429 from the store limit or ``X-SSE-Lab-Fault: rate_limit``.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from sse_lab.dialects import Script, ToolSpec, plan_turn
from sse_lab.dialects.writers import Frame, ResponsesWriter
from sse_lab.model import SimulatedLLM, tokenize
from sse_lab.server.args import (
    InputError,
    check_prompt_tokens,
    check_speed,
    off_loop,
    parse_json,
)
from sse_lab.server.context import ServerContext
from sse_lab.server.handler import SSEHandler
from sse_lab.server.routes.openai import (
    MAX_BODY,
    APIError,
    Fault,
    fault_step,
    parse_fault,
    play,
    send_frames,
    write_api_error,
)

__all__ = [
    "MAX_STORED",
    "TTL",
    "ResponseStore",
    "ResponsesRequest",
    "Run",
    "follow",
    "parse_responses_request",
    "routes",
    "store_for",
]

#: Background responses kept at most, and seconds each is kept after it ends.
MAX_STORED = 64
TTL = 600.0


@dataclass(frozen=True)
class ResponsesRequest:
    """A validated ``/v1/responses`` request."""

    model: str
    prompt: str
    prompt_tokens: int
    stream: bool = False
    background: bool = False
    seed: int = 0
    speed: float | None = None
    max_output_tokens: int | None = None
    tools: tuple[ToolSpec, ...] = ()
    tools_echo: tuple[dict[str, Any], ...] = ()
    tool_choice: Any = "auto"
    choice: str = "auto"
    reasoning: dict[str, Any] | None = None

    def script(self, model: SimulatedLLM) -> Script:
        """The planned turn for this request."""
        return plan_turn(model, self.prompt, self.seed, tools=list(self.tools),
                         tool_choice=self.choice, thinking=self.reasoning is not None,
                         max_tokens=self.max_output_tokens, prompt_tokens=self.prompt_tokens)

    def writer(self, script: Script, response_id: str) -> ResponsesWriter:
        """The Responses writer for ``script``, echoing this request's settings."""
        reasoning = self.reasoning or {"effort": None, "summary": None}
        return ResponsesWriter(
            script, model=self.model, response_id=response_id, created=int(time.time()),
            tools=list(self.tools_echo), tool_choice=self.tool_choice,
            background=self.background, max_output_tokens=self.max_output_tokens,
            summary=bool(reasoning.get("summary")), reasoning=reasoning,
        )


def _text_of(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise APIError(400, f"{where} must be a string or an array of content parts", param=where)
    texts = []
    for j, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in ("input_text", "output_text"):
            raise APIError(400, f"{where}[{j}] must be an input_text part (text only here)",
                           param=f"{where}[{j}]")
        if not isinstance(part.get("text"), str):
            raise APIError(400, f"{where}[{j}].text must be a string", param=f"{where}[{j}].text")
        texts.append(part["text"])
    return "".join(texts)


def _input(body: dict[str, Any]) -> tuple[str, list[str], bool]:
    """The prompt, all texts (for the token count), and whether a tool output came last."""
    given = body.get("input")
    if isinstance(given, str):
        if not given:
            raise APIError(400, "input must not be empty", param="input")
        return given, [given], False
    if not isinstance(given, list) or not given:
        raise APIError(400, "input must be a string or a non-empty array of items", param="input")
    prompt, texts, after_tool = None, [], False
    for i, item in enumerate(given):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise APIError(400, f"{where} must be an object", param=where)
        kind = item.get("type", "message")
        if kind == "function_call_output":
            after_tool = True
            continue
        if kind in ("function_call", "reasoning"):
            continue
        if kind != "message" or item.get("role") not in ("user", "assistant", "system",
                                                         "developer"):
            raise APIError(400, f"{where}.role must be user, assistant, system or developer",
                           param=f"{where}.role")
        text = _text_of(item.get("content"), f"{where}.content")
        texts.append(text)
        if item["role"] == "user":
            prompt, after_tool = text, False
    if prompt is None:
        raise APIError(400, "input must contain a user message", param="input")
    return prompt, texts, after_tool


def _tools(body: dict[str, Any]) -> tuple[tuple[ToolSpec, ...], tuple[dict[str, Any], ...],
                                          Any, str]:
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise APIError(400, "tools must be an array", param="tools")
    specs, echo = [], []
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise APIError(400, f"{where}.type must be 'function' here", param=f"{where}.type")
        name = tool.get("name")
        if not isinstance(name, str) or not name or len(name) > 64:
            raise APIError(400, f"{where}.name must be a string of 1-64 characters",
                           param=f"{where}.name")
        params = tool.get("parameters") or {}
        if not isinstance(params, dict):
            raise APIError(400, f"{where}.parameters must be a JSON schema object",
                           param=f"{where}.parameters")
        specs.append(ToolSpec(name, params))
        echo.append({"type": "function", "name": name, "parameters": params,
                     "strict": bool(tool.get("strict", False)),
                     "description": tool.get("description")})
    given = body.get("tool_choice", "auto")
    if isinstance(given, dict):
        if given.get("type") != "function" or given.get("name") not in {t.name for t in specs}:
            raise APIError(400, "tool_choice must name one of the function tools",
                           param="tool_choice")
        choice = given["name"]
    elif given in ("auto", "none", "required"):
        choice = given
        if given == "required" and not specs:
            raise APIError(400, "tool_choice 'required' needs tools", param="tool_choice")
    else:
        raise APIError(400, "tool_choice must be 'auto', 'none', 'required' or a function",
                       param="tool_choice")
    return tuple(specs), tuple(echo), given, choice


def parse_responses_request(raw: bytes, speed_header: str | None = None) -> ResponsesRequest:
    """Validate a ``/v1/responses`` body; raise :class:`APIError` naming the parameter."""
    if len(raw) > MAX_BODY:
        raise APIError(413, f"the request body is over {MAX_BODY} bytes",
                       code="request_too_large")
    try:
        body = parse_json(raw or b"null")  # depth bounded, no lone surrogates
    except InputError as exc:
        raise APIError(400, exc.message, param=exc.param) from None
    if not isinstance(body, dict):
        raise APIError(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise APIError(400, "you must provide a model name", param="model")
    prompt, texts, after_tool = _input(body)
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise APIError(400, "instructions must be a string", param="instructions")
        texts.append(instructions)
    flags = {}
    for name in ("stream", "background"):
        value = body.get(name, False)
        if value is None:
            value = False
        if not isinstance(value, bool):
            raise APIError(400, f"{name} must be a boolean", param=name)
        flags[name] = value
    if flags["background"] and body.get("store") is False:
        raise APIError(400, "background responses need store: true", param="store")
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise APIError(400, "seed must be an integer", param="seed")
    speed = body.get("speed")
    if speed is None and speed_header is not None:
        try:
            speed = float(speed_header)
        except ValueError:
            speed = -1.0
    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, int | float)
                              or not math.isfinite(speed) or speed <= 0):
        raise APIError(400, "speed must be a positive number", param="speed")
    limit = body.get("max_output_tokens")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise APIError(400, "max_output_tokens must be an integer >= 1",
                       param="max_output_tokens")
    reasoning = body.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, dict):
            raise APIError(400, "reasoning must be an object", param="reasoning")
        effort = reasoning.get("effort", "medium")
        if effort not in (None, "none", "minimal", "low", "medium", "high"):
            raise APIError(400, "reasoning.effort must be none, minimal, low, medium or high",
                           param="reasoning.effort")
        summary = reasoning.get("summary")
        if summary not in (None, "auto", "concise", "detailed"):
            raise APIError(400, "reasoning.summary must be auto, concise or detailed",
                           param="reasoning.summary")
        reasoning = None if effort in (None, "none") else {"effort": effort, "summary": summary}
    specs, echo, given, choice = _tools(body)
    if after_tool:
        choice = "none"
    return ResponsesRequest(
        model=model, prompt=prompt, prompt_tokens=sum(len(tokenize(t)) for t in texts),
        stream=flags["stream"], background=flags["background"], seed=seed,
        speed=None if speed is None else float(speed), max_output_tokens=limit,
        tools=specs, tools_echo=echo, tool_choice=given, choice=choice, reasoning=reasoning,
    )


@dataclass
class Run:
    """One background response: its events so far, and who waits for more."""

    id: str
    writer: ResponsesWriter
    frames: list[Frame] = field(default_factory=list)
    snapshot: dict[str, Any] = field(default_factory=dict)
    done: bool = False
    ended: float | None = None
    task: asyncio.Task[None] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def emit(self, frames: list[Frame]) -> None:
        """Append frames to the log and wake the readers following it."""
        for event, data in frames:
            self.frames.append((event, data))
            if event in ("response.created", "response.in_progress", "response.completed",
                         "response.incomplete", "response.failed"):
                self.snapshot = json.loads(data)["response"]
        self.changed.set()  # wake every reader, then arm a fresh event
        self.changed = asyncio.Event()

    def end(self) -> None:
        """Mark the response ended (its TTL starts now) and wake the readers."""
        self.done = True
        self.ended = time.monotonic()
        self.changed.set()


class ResponseStore:
    """Background responses in memory: bounded in number, each dropped ``ttl`` after it ends."""

    def __init__(self, max_stored: int = MAX_STORED, ttl: float = TTL) -> None:
        self.max_stored = max_stored
        self.ttl = ttl
        self.runs: OrderedDict[str, Run] = OrderedDict()

    def sweep(self) -> None:
        """Forget ended responses older than the TTL."""
        now = time.monotonic()
        for rid, run in list(self.runs.items()):
            if run.ended is not None and now - run.ended > self.ttl:
                del self.runs[rid]

    def add(self, run: Run) -> None:
        """Keep ``run``; evict the oldest ended one if full, else refuse with 429."""
        self.sweep()
        if len(self.runs) >= self.max_stored:
            ended = [rid for rid, r in self.runs.items() if r.done]
            if not ended:
                raise APIError(429, f"too many background responses running (at most "
                               f"{self.max_stored})", type="requests", code="rate_limit_exceeded")
            del self.runs[ended[0]]
        self.runs[run.id] = run

    def get(self, rid: str) -> Run:
        """The stored response ``rid``, or a 404 :class:`APIError`."""
        self.sweep()
        run = self.runs.get(rid)
        if run is None:
            raise APIError(404, f"Response with id '{rid}' not found.", param="response_id")
        return run


class ResponsesHandler(SSEHandler):
    """``POST /v1/responses``: stream events, answer once, or start in the background."""

    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]
    store: ResponseStore

    def initialize(self, context: ServerContext) -> None:
        super().initialize(context)
        self.store = store_for(context)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        write_api_error(self, status_code, kwargs)

    async def post(self) -> None:
        size = len(self.request.body)  # parse and plan in proportion to it: off the loop
        req = await off_loop(parse_responses_request, self.request.body,
                             self.request.headers.get("X-SSE-Lab-Speed"), size=size)
        check_prompt_tokens(req.prompt_tokens, self.context.config.max_prompt_tokens)
        check_speed(req.speed)
        self.fault: Fault | None = parse_fault(self.request.headers.get("X-SSE-Lab-Fault"))
        if self.fault is not None and self.fault.kind == "rate_limit":
            raise APIError(429, "Rate limit reached (the lab's fault switch)",
                           type="requests", code="rate_limit_exceeded")
        base = self.context.config.model
        model = base if req.speed is None else replace(base, speed=req.speed)
        self.script = await off_loop(req.script, model, size=size)
        self.writer = req.writer(self.script, "resp_" + secrets.token_hex(24))
        self.run: Run | None = None
        if req.background:
            self.run = Run(self.writer.id, self.writer)
            self.store.add(self.run)
            self.run.task = asyncio.ensure_future(self._generate(self.run))
            self.context.tasks.add(self.run.task)
            self.run.task.add_done_callback(self.context.tasks.discard)
        if req.stream:
            await self.get()
        elif self.run is not None:
            self._json(self.writer.response("queued"))
        else:
            await self._complete()

    async def _generate(self, run: Run) -> None:
        try:
            await play(run.emit, run.writer, self.script,
                       fail_after=fault_step(self.fault, self.script))
        except asyncio.CancelledError:
            run.snapshot = run.writer.response("cancelled")
            raise
        finally:
            run.end()

    def _json(self, obj: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(obj, ensure_ascii=False))

    async def stream(self) -> None:
        self.retry_pending = None  # no retry: line; resuming is starting_after's job
        if self.run is not None:
            await follow(self, self.run, -1)
        else:
            await play(lambda frames: send_frames(self, frames), self.writer, self.script,
                       fail_after=fault_step(self.fault, self.script))

    async def _complete(self) -> None:
        # As /complete: the answer exists only once it is all "generated".
        self._task = asyncio.ensure_future(
            asyncio.sleep(sum(s.delay for s in self.script.steps)))
        self.context.tasks.add(self._task)
        try:
            await self._task
        except asyncio.CancelledError:
            return
        finally:
            self.context.tasks.discard(self._task)
        frames = self.writer.start()
        for step in self.script.steps:
            frames += self.writer.step(step)
        frames += self.writer.finish()
        self._json(json.loads(frames[-1][1])["response"])


async def follow(handler: SSEHandler, run: Run, after: int) -> None:
    """Send ``run``'s events with ``sequence_number > after``, then the live ones."""
    cursor = after + 1
    while True:
        changed = run.changed
        while cursor < len(run.frames):
            event, data = run.frames[cursor]
            await handler.send(data, event=event)
            cursor += 1
        if run.done:
            return
        await changed.wait()


class ResponseHandler(SSEHandler):
    """``GET /v1/responses/{id}`` (``?stream=true&starting_after=N``) and ``…/cancel``."""

    SUPPORTED_METHODS = ("GET", "POST")  # type: ignore[assignment]
    store: ResponseStore

    def initialize(self, context: ServerContext) -> None:
        super().initialize(context)
        self.store = store_for(context)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        write_api_error(self, status_code, kwargs)

    async def get(self, rid: str, action: str | None = None) -> None:
        if action is not None:
            raise APIError(405, f"use POST for /v1/responses/{{id}}/{action}")
        stream = self.get_query_argument("stream", "false")
        if stream not in ("true", "false"):
            raise APIError(400, "stream must be true or false", param="stream")
        after_text = self.get_query_argument("starting_after", "-1")
        try:
            self.after = int(after_text)
        except ValueError:
            raise APIError(400, "starting_after must be an integer >= 0",
                           param="starting_after") from None
        if self.after < -1:
            raise APIError(400, "starting_after must be an integer >= 0", param="starting_after")
        self.run = self.store.get(rid)
        if stream == "false":
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(json.dumps(self.run.snapshot, ensure_ascii=False))
            return
        await super().get()

    async def stream(self) -> None:
        self.retry_pending = None
        await follow(self, self.run, self.after)

    async def post(self, rid: str, action: str | None = None) -> None:
        if action != "cancel":
            raise APIError(404, "unknown action", param="response_id")
        run = self.store.get(rid)
        if run.task is not None and not run.done:
            run.task.cancel()
            await asyncio.wait([run.task])
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(run.snapshot, ensure_ascii=False))


#: One store per server; it goes away with the server's context.
_STORES: weakref.WeakKeyDictionary[ServerContext, ResponseStore] = weakref.WeakKeyDictionary()


def store_for(context: ServerContext) -> ResponseStore:
    """The background-response store of the server that owns ``context``."""
    store = _STORES.get(context)
    if store is None:
        store = _STORES[context] = ResponseStore()
    return store


def routes(context: ServerContext) -> list[tuple[Any, ...]]:
    """Tornado routes this module adds to the lab server."""
    kw = {"context": context}
    return [
        (r"/v1/responses", ResponsesHandler, kw),
        (r"/v1/responses/([A-Za-z0-9_]+)(?:/(cancel))?", ResponseHandler, kw),
    ]
