"""One client-side assembler for four streaming dialects.

The SSE layer is the same everywhere; the JSON on top is not. An
:class:`Assembler` reads one response's bytes with sse_lab's own
:class:`~sse_lab.protocol.EventParser` (so any chunking works: a chunk may end
inside a UTF-8 character, inside ``\\r\\n``, inside an event) and turns each
event into :class:`Delta` objects (text, reasoning, a tool call starting, a
piece of its arguments, usage, the end, an error). :attr:`Assembler.result`
is the :class:`Assembled` answer so far; :func:`assemble` does it all for a
whole byte string.

Rules that hold for every dialect:

* Tool-call argument fragments are joined per call (``index`` for OpenAI
  chat, ``output_index`` for Responses, the content block ``index`` for
  Anthropic); only the first fragment names the call. ``arguments`` is the
  parsed JSON object once the joined text parses, else ``None``.
* ``finish`` is set only when the dialect's own end marker arrives
  (``[DONE]``, ``response.completed``/``.incomplete``/``.failed``,
  ``message_stop``, a Gemini ``finishReason``); a stream cut short keeps
  ``finish=None`` and everything received so far. Nothing here raises on
  truncated or malformed input: a ``data`` that is not JSON becomes
  ``error={"type": "invalid_json", ...}``.
* ``finish`` and ``usage`` keep each provider's own names (``"stop"`` /
  ``"end_turn"`` / ``"completed"`` / ``"STOP"``; ``prompt_tokens`` /
  ``input_tokens`` / ``promptTokenCount``): the point is to see them differ.
  :func:`token_counts` reads any of them into one :class:`TokenCounts`.

OpenAI-compatible providers (DeepSeek, Qwen, Kimi, GLM, vLLM; see
:mod:`sse_lab.dialects.compatible`) are read as ``"openai-chat"``:

* the chain of thought in ``delta.reasoning_content`` (or ``delta.reasoning``, as
  OpenRouter names it) goes to :attr:`Assembled.reasoning` and ``"reasoning"``
  deltas, never into the answer ``text``;
* SSE comments such as DeepSeek's ``: keep-alive`` while a request is queued are
  dropped by the SSE parser: they are neither events nor text;
* usage is taken wherever it comes: a chunk's top-level ``usage`` (OpenAI's
  ``"choices": []`` chunk, or the finish chunk as DeepSeek and GLM send it), or
  ``choices[0].usage`` (Kimi); ``"usage": null`` on the other chunks is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from sse_lab.protocol import DONE, Event, EventParser

__all__ = [
    "Assembled",
    "Assembler",
    "Delta",
    "ToolCall",
    "TokenCounts",
    "assemble",
    "token_counts",
    "DIALECT_NAMES",
]

#: The dialects the assembler reads.
DIALECT_NAMES = ("openai-chat", "openai-responses", "anthropic", "gemini")

DeltaKind = Literal["text", "reasoning", "tool_call", "tool_arguments", "usage", "finish", "error"]


@dataclass
class ToolCall:
    """One tool call: ``arguments`` is the parsed JSON object, or ``None`` until it parses."""

    id: str | None
    name: str | None
    arguments: Any = None
    raw_arguments: str = ""
    index: int = 0

    def _update(self) -> bool:
        try:
            self.arguments = json.loads(self.raw_arguments)
        except ValueError:
            self.arguments = None
            return False
        return True


@dataclass
class Assembled:
    """What a stream said, assembled: see the module docs for each field's rules.

    Attributes:
        text: The visible answer (``content``, text deltas, non-thought parts).
        reasoning: The model's thinking, kept apart from ``text``: OpenAI-compatible
            ``reasoning_content``, Anthropic ``thinking`` blocks, Responses reasoning
            summaries, Gemini thought parts. Empty when the model did not show any.
        tool_calls: The calls, in index order.
        usage: The provider's usage object as sent (its own field names), or ``None``
            when the stream never carried one (a cut stream, or usage not requested).
        finish: The provider's own finish reason, or ``None`` when the end never came.
        error: An error object that arrived inside the stream, or ``None``.
    """

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    finish: str | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Delta:
    """One change an event made.

    ``kind``: ``"text"`` / ``"reasoning"`` (``text`` is the new piece),
    ``"tool_call"`` (a call starts: ``index``, ``id``, ``name``),
    ``"tool_arguments"`` (``text`` is the piece, ``snapshot`` the arguments
    so far, ``parses`` whether the snapshot is valid JSON yet),
    ``"usage"``, ``"finish"`` (``text`` is the reason) or ``"error"``
    (``error`` is the error object).
    """

    kind: DeltaKind
    text: str = ""
    index: int | None = None
    id: str | None = None
    name: str | None = None
    snapshot: str = ""
    parses: bool = False
    usage: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class Assembler:
    """Incremental assembler: feed bytes (or parsed events), get deltas.

    Args:
        dialect: ``"openai-chat"``, ``"openai-responses"``, ``"anthropic"`` or
            ``"gemini"``.

    Example::

        asm = Assembler("anthropic")
        for chunk in response_chunks:
            for delta in asm.feed(chunk):
                if delta.kind == "text":
                    print(delta.text, end="")
        answer = asm.close()
    """

    def __init__(self, dialect: str) -> None:
        if dialect not in DIALECT_NAMES:
            raise ValueError(f"dialect must be one of {', '.join(DIALECT_NAMES)}; got {dialect!r}")
        self.dialect = dialect
        self.result = Assembled()
        self.parser = EventParser()
        self.events = 0
        self._calls: dict[int, ToolCall] = {}
        self._pending_finish: str | None = None
        self._handle = {
            "openai-chat": self._chat,
            "openai-responses": self._responses,
            "anthropic": self._anthropic,
            "gemini": self._gemini,
        }[dialect]

    # -- input -------------------------------------------------------------------
    def feed(self, chunk: bytes) -> list[Delta]:
        """Parse ``chunk`` and return the deltas of the events it completes."""
        out: list[Delta] = []
        for event in self.parser.feed(chunk):
            out += self.feed_event(event)
        return out

    def close(self) -> Assembled:
        """End of the bytes: return the result (an unfinished last event is dropped)."""
        for event in self.parser.close():
            self.feed_event(event)
        return self.result

    def feed_event(self, event: Event) -> list[Delta]:
        """Apply one parsed SSE event; never raises on unexpected content."""
        self.events += 1
        if self.dialect == "openai-chat" and event.data == DONE:
            return self._end(self._pending_finish or "stop")
        try:
            obj = json.loads(event.data)
        except ValueError as exc:
            return self._error({"type": "invalid_json", "message": str(exc), "data": event.data})
        if not isinstance(obj, dict):
            return self._error({"type": "invalid_json", "message": "not a JSON object",
                                "data": event.data})
        try:
            return self._handle(event.event, obj)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # A shape this dialect never sends: report it, keep what we have.
            return self._error({"type": "unexpected_shape", "message": repr(exc),
                                "data": event.data})

    # -- shared steps ------------------------------------------------------------
    def _text(self, piece: Any, kind: DeltaKind = "text") -> list[Delta]:
        if not isinstance(piece, str) or not piece:
            return []
        if kind == "text":
            self.result.text += piece
        else:
            self.result.reasoning += piece
        return [Delta(kind, piece)]

    def _call_start(self, index: int, call_id: str | None, name: str | None,
                    raw: str = "") -> list[Delta]:
        call = ToolCall(call_id, name, None, raw, index)
        call._update()
        self._calls[index] = call
        self.result.tool_calls = [self._calls[i] for i in sorted(self._calls)]
        return [Delta("tool_call", index=index, id=call_id, name=name)]

    def _call_piece(self, index: int, piece: Any) -> list[Delta]:
        if not isinstance(piece, str) or not piece:
            return []
        if index not in self._calls:  # a fragment without its start: keep it anyway
            self._call_start(index, None, None)
        call = self._calls[index]
        call.raw_arguments += piece
        parses = call._update()
        return [Delta("tool_arguments", piece, index=index, id=call.id, name=call.name,
                      snapshot=call.raw_arguments, parses=parses)]

    def _usage(self, usage: Any, merge: bool = False) -> list[Delta]:
        if not isinstance(usage, dict):
            return []
        if merge and self.result.usage:
            usage = {**self.result.usage, **{k: v for k, v in usage.items() if v is not None}}
        self.result.usage = dict(usage)
        return [Delta("usage", usage=self.result.usage)]

    def _end(self, reason: Any) -> list[Delta]:
        self.result.finish = str(reason)
        return [Delta("finish", str(reason))]

    def _error(self, error: Any) -> list[Delta]:
        if not isinstance(error, dict):
            error = {"message": str(error)}
        self.result.error = error
        return [Delta("error", error=error)]

    # -- dialects ----------------------------------------------------------------
    def _chat(self, _type: str, obj: dict[str, Any]) -> list[Delta]:
        if "error" in obj:
            return self._error(obj["error"])
        out: list[Delta] = []
        for choice in obj.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue  # n > 1: this assembler follows the first choice
            delta = choice.get("delta") or {}
            # reasoning_content (DeepSeek, vLLM) or reasoning (OpenRouter): not OpenAI's own
            out += self._text(delta.get("reasoning_content") or delta.get("reasoning"),
                              "reasoning")
            out += self._text(delta.get("content"))
            for frag in delta.get("tool_calls") or []:
                index = frag.get("index", 0)
                fn = frag.get("function") or {}
                if index not in self._calls:
                    out += self._call_start(index, frag.get("id"), fn.get("name"))
                else:  # some servers repeat id/name on later fragments
                    call = self._calls[index]
                    call.id = call.id or frag.get("id")
                    call.name = call.name or fn.get("name")
                out += self._call_piece(index, fn.get("arguments"))
            if choice.get("finish_reason"):
                self._pending_finish = choice["finish_reason"]
            if choice.get("usage"):  # Kimi: the usage rides inside the finish choice
                out += self._usage(choice["usage"])
        if obj.get("usage"):
            out += self._usage(obj["usage"])
        return out

    def _responses(self, event_type: str, obj: dict[str, Any]) -> list[Delta]:
        kind = obj.get("type") or event_type
        if kind == "response.output_text.delta":
            return self._text(obj["delta"])
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            return self._text(obj["delta"], "reasoning")
        if kind == "response.output_item.added" and obj["item"].get("type") == "function_call":
            item = obj["item"]
            return self._call_start(obj["output_index"], item.get("call_id"), item.get("name"),
                                    item.get("arguments") or "")
        if kind == "response.function_call_arguments.delta":
            return self._call_piece(obj["output_index"], obj["delta"])
        if kind == "response.function_call_arguments.done":
            call = self._calls.get(obj["output_index"])
            if call is not None and isinstance(obj.get("arguments"), str):
                call.raw_arguments = obj["arguments"]  # the done event is authoritative
                call._update()
            return []
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            response = obj.get("response") or {}
            out = self._usage(response.get("usage"))
            if response.get("error"):
                out += self._error(response["error"])
            return out + self._end(response.get("status") or kind.split(".")[-1])
        if kind == "error":
            return self._error({k: v for k, v in obj.items() if k != "sequence_number"})
        return []

    def _anthropic(self, event_type: str, obj: dict[str, Any]) -> list[Delta]:
        kind = obj.get("type") or event_type
        if kind == "message_start":
            return self._usage((obj.get("message") or {}).get("usage"))
        if kind == "content_block_start":
            block = obj["content_block"]
            if block.get("type") in ("tool_use", "server_tool_use"):
                out = self._call_start(obj["index"], block.get("id"), block.get("name"))
                if block.get("input"):  # input given whole (non-streaming style)
                    out += self._call_piece(obj["index"], json.dumps(block["input"]))
                return out
            if block.get("type") == "text":
                return self._text(block.get("text"))
            if block.get("type") == "thinking":
                return self._text(block.get("thinking"), "reasoning")
            return []
        if kind == "content_block_delta":
            delta = obj["delta"]
            dtype = delta.get("type")
            if dtype == "text_delta":
                return self._text(delta["text"])
            if dtype == "thinking_delta":
                return self._text(delta["thinking"], "reasoning")
            if dtype == "input_json_delta":
                return self._call_piece(obj["index"], delta["partial_json"])
            return []  # signature_delta, citations_delta
        if kind == "content_block_stop":
            call = self._calls.get(obj.get("index", -1))
            if call is not None and not call.raw_arguments:
                call.arguments = {}  # a tool without input: Anthropic sends no delta
            return []
        if kind == "message_delta":
            self._pending_finish = (obj.get("delta") or {}).get("stop_reason")
            return self._usage(obj.get("usage"), merge=True)  # cumulative counts
        if kind == "message_stop":
            return self._end(self._pending_finish or "end_turn")
        if kind == "error":
            return self._error(obj.get("error") or obj)
        return []  # ping and future event types

    def _gemini(self, _type: str, obj: dict[str, Any]) -> list[Delta]:
        if "error" in obj:
            return self._error(obj["error"])
        out: list[Delta] = []
        finish = None
        for cand in (obj.get("candidates") or [])[:1]:
            for part in (cand.get("content") or {}).get("parts") or []:
                if "functionCall" in part:
                    call = part["functionCall"]
                    index = len(self._calls)
                    out += self._call_start(index, call.get("id"), call.get("name"))
                    out += self._call_piece(index, json.dumps(call.get("args", {}),
                                                              ensure_ascii=False))
                elif part.get("thought"):
                    out += self._text(part.get("text"), "reasoning")
                else:
                    out += self._text(part.get("text"))
            finish = cand.get("finishReason")
        if obj.get("usageMetadata"):
            out += self._usage(obj["usageMetadata"])  # each chunk carries the totals so far
        if finish:
            out += self._end(finish)
        return out


@dataclass(frozen=True)
class TokenCounts:
    """Token counts read from any provider's usage object; ``None`` where it says nothing.

    ``completion`` includes ``reasoning`` (every provider bills thinking as output);
    ``cached`` is the part of ``prompt`` served from the provider's prompt cache.
    """

    prompt: int | None = None
    completion: int | None = None
    reasoning: int | None = None
    cached: int | None = None


def _first(obj: dict[str, Any], *paths: str) -> int | None:
    for path in paths:
        value: Any = obj
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def token_counts(usage: dict[str, Any] | None) -> TokenCounts:
    """Read a usage object of any dialect into :class:`TokenCounts`.

    Knows OpenAI Chat (``prompt_tokens``, ``completion_tokens_details.reasoning_tokens``,
    ``prompt_tokens_details.cached_tokens``), DeepSeek (``prompt_cache_hit_tokens``),
    Kimi (``cached_tokens``), OpenAI Responses and Anthropic (``input_tokens``,
    ``output_tokens``, ``cache_read_input_tokens``) and Gemini (``promptTokenCount``,
    ``candidatesTokenCount`` + ``thoughtsTokenCount``). ``None`` gives all ``None``.
    """
    if not isinstance(usage, dict):
        return TokenCounts()
    prompt = _first(usage, "prompt_tokens", "input_tokens", "promptTokenCount")
    completion = _first(usage, "completion_tokens", "output_tokens")
    reasoning = _first(usage, "completion_tokens_details.reasoning_tokens",
                       "output_tokens_details.reasoning_tokens", "thoughtsTokenCount")
    if completion is None and "candidatesTokenCount" in usage:  # Gemini counts thoughts apart
        completion = (_first(usage, "candidatesTokenCount") or 0) + (reasoning or 0)
    cached = _first(usage, "prompt_cache_hit_tokens", "prompt_tokens_details.cached_tokens",
                    "input_tokens_details.cached_tokens", "cached_tokens",
                    "cache_read_input_tokens", "cachedContentTokenCount")
    return TokenCounts(prompt, completion, reasoning, cached)


def assemble(dialect: str, data: bytes) -> Assembled:
    """Assemble a whole response body in ``dialect``; never raises on a truncated body."""
    asm = Assembler(dialect)
    asm.feed(data)
    return asm.close()
