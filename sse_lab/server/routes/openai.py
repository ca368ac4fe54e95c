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

from sse_lab.model import SimulatedLLM, tokenize
from sse_lab.protocol import DONE
from sse_lab.server.context import ServerContext
from sse_lab.server.handler import ContextHandler, SSEHandler
from sse_lab.server.tornado_internals import reason, response_header

__all__ = ["MODEL_ID", "ChatRequest", "APIError", "parse_chat_request", "routes"]

#: The model id ``GET /v1/models`` lists (any name is accepted in requests).
MODEL_ID = "sse-lab-sim"
_CREATED = 1_700_000_000  # a fixed "created" for the model listing
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
    """

    model: str
    prompt: str
    prompt_tokens: int
    seed: int = 0
    stream: bool = False
    speed: float | None = None
    max_tokens: int | None = None
    include_usage: bool = False


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


def parse_chat_request(raw: bytes, speed_header: str | None = None) -> ChatRequest:
    """Validate a request body; raise :class:`APIError` (400) on anything wrong."""
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise APIError(400, "the request body is not valid JSON") from None
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
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise APIError(400, f"{where} must be an object", param=where)
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool", "function"):
            raise APIError(400, f"{where}.role is not a valid role: {role!r}", param=where)
        text = _message_text(message.get("content"), f"{where}.content")
        texts.append(text)
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
    return ChatRequest(
        model=model,
        prompt=prompt,
        prompt_tokens=sum(len(tokenize(t)) for t in texts),
        seed=seed,
        stream=stream,
        speed=speed,
        max_tokens=max_tokens,
        include_usage=include_usage,
    )


def _write_api_error(handler: tornado.web.RequestHandler, status: int, kwargs: Any) -> None:
    exc = kwargs.get("exc_info", (None, None, None))[1]
    if isinstance(exc, APIError):
        error = {"message": exc.message, "type": exc.type, "param": exc.param, "code": exc.code}
    else:
        error = {
            "message": reason(handler),
            "type": "invalid_request_error" if status < 500 else "server_error",
            "param": None,
            "code": None,
        }
    handler.set_header("Content-Type", "application/json; charset=utf-8")
    handler.finish(json.dumps({"error": error}))


class ChatCompletionsHandler(SSEHandler):
    """``POST /v1/chat/completions``: streamed chunks or one completion object."""

    SUPPORTED_METHODS = ("POST", "OPTIONS")  # type: ignore[assignment]

    req: ChatRequest
    model: SimulatedLLM

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        _write_api_error(self, status_code, kwargs)

    def options(self) -> None:
        """CORS preflight (browsers send one before a JSON ``POST``)."""
        self.set_status(204)
        if response_header(self, "Access-Control-Allow-Origin"):
            self.set_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.set_header("Access-Control-Allow-Headers", _ALLOW_HEADERS)
        self.finish()

    async def post(self) -> None:
        self.req = parse_chat_request(
            self.request.body, self.request.headers.get("X-SSE-Lab-Speed")
        )
        base = self.context.config.model
        self.model = base if self.req.speed is None else replace(base, speed=self.req.speed)
        self.completion_id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        if self.req.stream:
            await self.get()  # SSEHandler's machinery: task, cancel on leave, counters
        else:
            await self._complete()

    # -- stream: true -------------------------------------------------------------
    def _chunk(
        self,
        delta: dict[str, Any] | None,
        finish_reason: str | None = None,
        usage: dict[str, int] | None = None,
    ) -> str:
        chunk: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.req.model,
            "system_fingerprint": None,
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if self.req.include_usage:
            chunk["usage"] = usage
        return json.dumps(chunk, ensure_ascii=False, separators=(",", ":"))

    async def stream(self) -> None:
        req = self.req
        await self.send(self._chunk({"role": "assistant", "content": ""}))
        n = 0
        finish = "stop"
        async for token in self.model.stream(req.prompt, req.seed):
            if req.max_tokens is not None and n >= req.max_tokens:
                finish = "length"
                break
            await self.send(self._chunk({"content": token.text}))
            n += 1
        await self.send(self._chunk({}, finish))
        if req.include_usage:
            await self.send(self._chunk(None, usage=_usage(req, n)))
        await self.send(DONE)

    # -- stream: false ------------------------------------------------------------
    async def _complete(self) -> None:
        req = self.req
        plan = self.model.plan(req.prompt, req.seed)
        tokens = plan.tokens
        finish = "stop"
        if req.max_tokens is not None and len(tokens) > req.max_tokens:
            tokens, finish = tokens[: req.max_tokens], "length"
        wait = sum(plan.delays[: len(tokens)])
        context = self.context
        # As /complete: the answer exists only once it is all "generated"; the
        # task is counted and cancelled if the client leaves meanwhile.
        self._task = asyncio.ensure_future(asyncio.sleep(wait))
        context.tasks.add(self._task)
        try:
            await self._task
        except asyncio.CancelledError:
            return
        finally:
            context.tasks.discard(self._task)
        body = {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": req.model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(tokens), "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": _usage(req, len(tokens)),
        }
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))


def _usage(req: ChatRequest, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": req.prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": req.prompt_tokens + completion_tokens,
    }


def _model_object(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": _CREATED, "owned_by": "sse-lab"}


class ModelsHandler(ContextHandler):
    """``GET /v1/models`` and ``GET /v1/models/<id>``."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        super().set_default_headers()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        _write_api_error(self, status_code, kwargs)

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
