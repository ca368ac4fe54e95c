"""Writers: one planned turn in each provider's streaming JSON dialect.

A writer turns the steps of a :class:`~sse_lab.dialects.turn.Script` into
*frames*, ``(event_type_or_None, data_text)`` pairs, which
:func:`sse_lab.protocol.encode_event` makes into SSE bytes. The lab server
sends them with the model's timing; :func:`render` writes a whole stream at
once (tests, fixtures, the notebook's byte counts). The shapes follow each
provider's documented stream, field for field, as the official SDKs parse it:

* ``openai-chat``: ``chat.completion.chunk`` objects, ``delta.tool_calls``
  fragments joined by ``index``, ``finish_reason``, the optional usage chunk
  with ``"choices": []``, then ``data: [DONE]``.
* ``openai-responses``: typed events (``event: response.output_text.delta``)
  numbered by ``sequence_number``, output items for reasoning, the message
  and function calls, ending with ``response.completed`` (or
  ``.incomplete``/``.failed``); no ``[DONE]``.
* ``anthropic``: ``message_start``, ``ping``, ``content_block_start`` /
  ``_delta`` (``thinking_delta``, ``signature_delta``, ``text_delta``,
  ``input_json_delta``) / ``_stop``, ``message_delta`` with the stop reason
  and cumulative usage, ``message_stop``; errors as ``event: error``.
* ``gemini``: every event a whole ``GenerateContentResponse`` (thought parts
  flagged ``"thought": true``, a function call whole in one part), CRLF
  line ends, no end sentinel.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sse_lab.dialects.turn import Script, Step
from sse_lab.protocol import DONE, encode_event

__all__ = [
    "DIALECTS",
    "Frame",
    "Writer",
    "ChatWriter",
    "ResponsesWriter",
    "AnthropicWriter",
    "GeminiWriter",
    "make_writer",
    "render",
    "frames_to_bytes",
]

#: The dialects :func:`sse_lab.dialects.assemble` reads.
DIALECTS = ("openai-chat", "openai-responses", "anthropic", "gemini")

#: ``(event type or None, data text)``: one SSE event before encoding.
Frame = tuple[str | None, str]


def _json(obj: Any) -> str:
    # Compact, with non-ASCII kept as UTF-8, as the providers send it.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _hex(seed: str, n: int = 24) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


class Writer:
    """Base writer: call :meth:`start`, :meth:`step` per step, then :meth:`finish`.

    Args:
        script: The planned turn (its ``finish`` and token counts feed the
            end of the stream).
        model: The model name echoed in every object.
        response_id: The id of this response (dialect prefix included).
        created: Unix time of creation, echoed where the dialect has it.
    """

    dialect = ""

    def __init__(self, script: Script, *, model: str, response_id: str, created: int) -> None:
        self.script = script
        self.model = model
        self.id = response_id
        self.created = created
        self.generated = 0  # tokens streamed so far (usage on a failure)

    def start(self) -> list[Frame]:
        """Frames before the first step."""
        return []

    def step(self, step: Step) -> list[Frame]:
        """Frames for one step."""
        if step.kind != "tool_start":
            self.generated += 1
        return getattr(self, "_" + step.kind)(step)

    def finish(self) -> list[Frame]:
        """Frames that end a complete turn."""
        return []

    def fail(self, error_type: str, message: str) -> list[Frame]:
        """Frames for an error in the middle of the stream (inside the 200)."""
        error = {"message": message, "type": error_type, "param": None, "code": None}
        return [(None, _json({"error": error}))]

    def ping(self) -> list[Frame]:
        """A keep-alive the dialect defines (only Anthropic has one)."""
        return []

    def _thinking(self, step: Step) -> list[Frame]:
        return []

    def _text(self, step: Step) -> list[Frame]:
        return []

    def _tool_start(self, step: Step) -> list[Frame]:
        return []

    def _tool_arguments(self, step: Step) -> list[Frame]:
        return []


class ChatWriter(Writer):
    """OpenAI Chat Completions chunks (``include_usage`` adds the usage chunk).

    Reasoning is not part of OpenAI's chat stream; compatible servers such as
    DeepSeek and vLLM send it as ``delta.reasoning_content``, and so does this
    writer when the script has thinking.
    """

    dialect = "openai-chat"

    def __init__(self, script: Script, *, include_usage: bool = False, **kw: Any) -> None:
        super().__init__(script, **kw)
        self.include_usage = include_usage
        self._role_sent = False

    def chunk(self, delta: dict[str, Any] | None, finish: str | None = None) -> Frame:
        """One ``chat.completion.chunk`` (``delta=None``: the usage chunk's empty choices)."""
        obj: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            obj["usage"] = None
        return (None, _json(obj))

    def start(self) -> list[Frame]:
        if self.script.finish == "tool_calls":
            return []  # the role travels with the first tool call, as OpenAI sends it
        self._role_sent = True
        return [self.chunk({"role": "assistant", "content": ""})]

    def _thinking(self, step: Step) -> list[Frame]:
        return [self.chunk({"reasoning_content": step.text})]

    def _text(self, step: Step) -> list[Frame]:
        return [self.chunk({"content": step.text})]

    def _tool_start(self, step: Step) -> list[Frame]:
        call = {
            "index": step.index,
            "id": "call_" + step.call_id,
            "type": "function",
            "function": {"name": step.name, "arguments": ""},
        }
        delta: dict[str, Any] = {"tool_calls": [call]}
        if not self._role_sent:
            self._role_sent = True
            delta = {"role": "assistant", "content": None, **delta, "refusal": None}
        return [self.chunk(delta)]

    def _tool_arguments(self, step: Step) -> list[Frame]:
        fragment = {"index": step.index, "function": {"arguments": step.text}}
        return [self.chunk({"tool_calls": [fragment]})]

    def usage(self) -> dict[str, Any]:
        """Chat Completions ``usage`` for the whole turn."""
        s = self.script
        return {
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.output_tokens,
            "total_tokens": s.prompt_tokens + s.output_tokens,
            "completion_tokens_details": {"reasoning_tokens": s.reasoning_tokens},
        }

    def finish(self) -> list[Frame]:
        frames = [self.chunk({}, self.script.finish)]
        if self.include_usage:
            last = json.loads(self.chunk(None)[1])
            last["usage"] = self.usage()
            frames.append((None, _json(last)))
        frames.append((None, DONE))
        return frames


class AnthropicWriter(Writer):
    """Anthropic Messages events; a thinking block comes first when reasoning is on."""

    dialect = "anthropic"
    STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}

    def __init__(self, script: Script, **kw: Any) -> None:
        super().__init__(script, **kw)
        self._block = -1
        self._open: str | None = None  # kind of the open content block

    def _event(self, name: str, obj: dict[str, Any]) -> Frame:
        return (name, _json({"type": name, **obj}))

    def start(self) -> list[Frame]:
        message = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": self.script.prompt_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 1,
            },
        }
        return [self._event("message_start", {"message": message}), *self.ping()]

    def ping(self) -> list[Frame]:
        return [self._event("ping", {})]

    def _close(self) -> list[Frame]:
        if self._open is None:
            return []
        frames = []
        if self._open == "thinking":
            signature = _hex("signature|" + self.id, 64)
            frames.append(self._delta({"type": "signature_delta", "signature": signature}))
        self._open = None
        return [*frames, self._event("content_block_stop", {"index": self._block})]

    def _begin(self, kind: str, block: dict[str, Any]) -> list[Frame]:
        frames = self._close()
        self._block += 1
        self._open = kind
        return [*frames, self._event("content_block_start", {"index": self._block,
                                                             "content_block": block})]

    def _delta(self, delta: dict[str, Any]) -> Frame:
        return self._event("content_block_delta", {"index": self._block, "delta": delta})

    def _thinking(self, step: Step) -> list[Frame]:
        frames = []
        if self._open != "thinking":
            frames = self._begin("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        return [*frames, self._delta({"type": "thinking_delta", "thinking": step.text})]

    def _text(self, step: Step) -> list[Frame]:
        frames = []
        if self._open != "text":
            frames = self._begin("text", {"type": "text", "text": ""})
        return [*frames, self._delta({"type": "text_delta", "text": step.text})]

    def _tool_start(self, step: Step) -> list[Frame]:
        block = {"type": "tool_use", "id": "toolu_01" + step.call_id, "name": step.name,
                 "input": {}}
        return self._begin("tool_use", block)

    def _tool_arguments(self, step: Step) -> list[Frame]:
        return [self._delta({"type": "input_json_delta", "partial_json": step.text})]

    def finish(self) -> list[Frame]:
        usage = {
            "input_tokens": self.script.prompt_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": self.script.output_tokens,
        }
        delta = {"stop_reason": self.STOP[self.script.finish], "stop_sequence": None}
        return [
            *self._close(),
            self._event("message_delta", {"delta": delta, "usage": usage}),
            self._event("message_stop", {}),
        ]

    def fail(self, error_type: str, message: str) -> list[Frame]:
        return [("error", _json({"type": "error",
                                  "error": {"type": error_type, "message": message}}))]


class ResponsesWriter(Writer):
    """OpenAI Responses events, each with the next ``sequence_number``."""

    dialect = "openai-responses"

    def __init__(
        self,
        script: Script,
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = "auto",
        background: bool = False,
        max_output_tokens: int | None = None,
        summary: bool = True,
        reasoning: dict[str, Any] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(script, **kw)
        self.reasoning = reasoning or {"effort": None, "summary": None}
        self.summary = summary  # stream a reasoning summary, or only spend the time
        self.seq = 0
        self.tools = tools or []
        self.tool_choice = tool_choice
        self.background = background
        self.max_output_tokens = max_output_tokens
        self.output: list[dict[str, Any]] = []  # finished items
        self._item: dict[str, Any] | None = None  # the open item

    def _event(self, name: str, obj: dict[str, Any]) -> Frame:
        frame = (name, _json({"type": name, **obj, "sequence_number": self.seq}))
        self.seq += 1
        return frame

    def response(self, status: str, **extra: Any) -> dict[str, Any]:
        """The response object in its current state."""
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "background": self.background,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "max_output_tokens": self.max_output_tokens,
            "model": self.model,
            "output": list(self.output),
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": self.reasoning,
            "store": True,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": self.tool_choice,
            "tools": self.tools,
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": None,
            "metadata": {},
            **extra,
        }

    def start(self) -> list[Frame]:
        status = "queued" if self.background else "in_progress"
        return [
            self._event("response.created", {"response": self.response(status)}),
            self._event("response.in_progress", {"response": self.response("in_progress")}),
        ]

    @property
    def _index(self) -> int:
        return len(self.output)

    def _open(self, kind: str, item: dict[str, Any]) -> list[Frame]:
        frames = self._close()
        self._item = item
        return [*frames, self._event("response.output_item.added",
                                     {"output_index": self._index, "item": item})]

    def _close(self) -> list[Frame]:
        item = self._item
        if item is None:
            return []
        where = {"item_id": item["id"], "output_index": self._index}
        frames = []
        if item["type"] == "reasoning" and not self.summary:
            pass  # hidden reasoning: the item carries no summary
        elif item["type"] == "reasoning":
            part = {"type": "summary_text", "text": item["_text"]}
            frames += [
                self._event("response.reasoning_summary_text.done",
                            {**where, "summary_index": 0, "text": item["_text"]}),
                self._event("response.reasoning_summary_part.done",
                            {**where, "summary_index": 0, "part": part}),
            ]
            item["summary"] = [part]
        elif item["type"] == "message":
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": item["_text"]}
            frames += [
                self._event("response.output_text.done",
                            {**where, "content_index": 0, "text": item["_text"], "logprobs": []}),
                self._event("response.content_part.done",
                            {**where, "content_index": 0, "part": part}),
            ]
            item["content"] = [part]
            item["status"] = "completed"
        else:  # function_call
            frames.append(self._event("response.function_call_arguments.done",
                                      {**where, "name": item["name"],
                                       "arguments": item["arguments"]}))
            item["status"] = "completed"
        item.pop("_text", None)
        frames.append(self._event("response.output_item.done",
                                  {"output_index": self._index, "item": dict(item)}))
        self.output.append(item)
        self._item = None
        return frames

    def _thinking(self, step: Step) -> list[Frame]:
        frames: list[Frame] = []
        if self._item is None or self._item["type"] != "reasoning":
            item = {"id": "rs_" + _hex("rs|" + self.id), "type": "reasoning", "summary": []}
            frames = self._open("reasoning", item)
            item["_text"] = ""
            if self.summary:
                frames.append(self._event("response.reasoning_summary_part.added", {
                    "item_id": item["id"], "output_index": self._index, "summary_index": 0,
                    "part": {"type": "summary_text", "text": ""}}))
        assert self._item is not None
        self._item["_text"] += step.text
        if not self.summary:
            return frames
        return [*frames, self._event("response.reasoning_summary_text.delta", {
            "item_id": self._item["id"], "output_index": self._index, "summary_index": 0,
            "delta": step.text})]

    def _text(self, step: Step) -> list[Frame]:
        frames: list[Frame] = []
        if self._item is None or self._item["type"] != "message":
            item = {"id": "msg_" + _hex("msg|" + self.id), "type": "message",
                    "status": "in_progress", "role": "assistant", "content": []}
            frames = self._open("message", item)
            frames.append(self._event("response.content_part.added", {
                "item_id": item["id"], "output_index": self._index, "content_index": 0,
                "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}}))
            item["_text"] = ""
        assert self._item is not None
        self._item["_text"] += step.text
        return [*frames, self._event("response.output_text.delta", {
            "item_id": self._item["id"], "output_index": self._index, "content_index": 0,
            "delta": step.text, "logprobs": []})]

    def _tool_start(self, step: Step) -> list[Frame]:
        item = {"id": "fc_" + step.call_id, "type": "function_call", "status": "in_progress",
                "arguments": "", "call_id": "call_" + step.call_id, "name": step.name}
        return self._open("function_call", item)

    def _tool_arguments(self, step: Step) -> list[Frame]:
        assert self._item is not None
        self._item["arguments"] += step.text
        return [self._event("response.function_call_arguments.delta", {
            "item_id": self._item["id"], "output_index": self._index, "delta": step.text})]

    def usage(self) -> dict[str, Any]:
        """Responses ``usage`` for the whole turn."""
        s = self.script
        return {
            "input_tokens": s.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": s.output_tokens,
            "output_tokens_details": {"reasoning_tokens": s.reasoning_tokens},
            "total_tokens": s.prompt_tokens + s.output_tokens,
        }

    def finish(self) -> list[Frame]:
        frames = self._close()
        if self.script.finish == "length":
            final = self.response("incomplete", usage=self.usage(),
                                  incomplete_details={"reason": "max_output_tokens"})
            return [*frames, self._event("response.incomplete", {"response": final})]
        final = self.response("completed", usage=self.usage())
        return [*frames, self._event("response.completed", {"response": final})]

    def fail(self, error_type: str, message: str) -> list[Frame]:
        final = self.response("failed", error={"code": error_type, "message": message})
        return [self._event("response.failed", {"response": final})]


class GeminiWriter(Writer):
    """Gemini ``streamGenerateContent?alt=sse``: whole response objects, no sentinel.

    A function call arrives whole in one part (Gemini does not fragment
    arguments), so the tool-call steps are collected and sent at the end.
    """

    dialect = "gemini"
    FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"}

    def __init__(self, script: Script, **kw: Any) -> None:
        super().__init__(script, **kw)
        self._calls: dict[int, dict[str, Any]] = {}
        self._thoughts = 0

    def _chunk(self, parts: list[dict[str, Any]], finish: str | None = None) -> Frame:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        usage = {"promptTokenCount": self.script.prompt_tokens,
                 "candidatesTokenCount": self.generated - self._thoughts,
                 "totalTokenCount": self.script.prompt_tokens + self.generated}
        if self._thoughts:
            usage["thoughtsTokenCount"] = self._thoughts
        return (None, _json({"candidates": [candidate], "usageMetadata": usage,
                             "modelVersion": self.model, "responseId": self.id}))

    def _thinking(self, step: Step) -> list[Frame]:
        self._thoughts += 1
        return [self._chunk([{"text": step.text, "thought": True}])]

    def _text(self, step: Step) -> list[Frame]:
        return [self._chunk([{"text": step.text}])]

    def _tool_start(self, step: Step) -> list[Frame]:
        self._calls[step.index] = {"name": step.name, "args": ""}
        return []

    def _tool_arguments(self, step: Step) -> list[Frame]:
        self._calls[step.index]["args"] += step.text
        return []

    def fail(self, error_type: str, message: str) -> list[Frame]:
        # Google's error object: HTTP-like code, message, canonical status.
        return [(None, _json({"error": {"code": 503, "message": message,
                                        "status": "UNAVAILABLE"}}))]

    def finish(self) -> list[Frame]:
        parts = [{"functionCall": {"name": c["name"], "args": json.loads(c["args"])}}
                 for _, c in sorted(self._calls.items())]
        return [self._chunk(parts, self.FINISH[self.script.finish])]


def make_writer(dialect: str, script: Script, **kw: Any) -> Writer:
    """A writer for ``dialect`` (one of :data:`DIALECTS`); ``kw`` as the writer takes."""
    kw.setdefault("model", "sse-lab-sim")
    kw.setdefault("created", 1_700_000_000)
    prefix = {"openai-chat": "chatcmpl-", "openai-responses": "resp_", "anthropic": "msg_01",
              "gemini": ""}
    if dialect not in prefix:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}; got {dialect!r}")
    kw.setdefault("response_id", prefix[dialect] + _hex(f"{dialect}|{script!r}"))
    cls = {"openai-chat": ChatWriter, "openai-responses": ResponsesWriter,
           "anthropic": AnthropicWriter, "gemini": GeminiWriter}[dialect]
    return cls(script, **kw)


def frames_to_bytes(frames: list[Frame], *, crlf: bool = False) -> bytes:
    """Encode frames as SSE (``crlf=True`` ends lines with CRLF, as Gemini does)."""
    out = b"".join(encode_event(data, event=name) for name, data in frames)
    return out.replace(b"\n", b"\r\n") if crlf else out


def render(dialect: str, script: Script, *, fail_after: int | None = None, **kw: Any) -> bytes:
    """The whole stream of ``script`` in ``dialect``, as bytes on the wire.

    ``fail_after=k`` stops after ``k`` steps with the dialect's mid-stream
    error (Anthropic's ``overloaded_error``) instead of the normal end.
    """
    writer = make_writer(dialect, script, **kw)
    frames = writer.start()
    for i, step in enumerate(script.steps):
        if fail_after is not None and i == fail_after:
            frames += writer.fail("overloaded_error", "Overloaded")
            return frames_to_bytes(frames, crlf=dialect == "gemini")
        frames += writer.step(step)
    frames += writer.finish()
    return frames_to_bytes(frames, crlf=dialect == "gemini")
