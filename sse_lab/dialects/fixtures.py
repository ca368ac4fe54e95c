"""Recorded streams of two dialects the lab server does not speak.

Written by hand from the providers' documented formats (not downloaded), to
contrast with the dialects the server serves:

* **Gemini** ``POST .../models/{model}:streamGenerateContent?alt=sse``: every
  ``data:`` is a whole ``GenerateContentResponse`` (candidates, parts,
  ``usageMetadata`` with running totals), lines end with CRLF, and there is
  no end sentinel: the last event carries ``finishReason`` and then the
  connection closes. Thought summaries are parts flagged ``"thought": true``;
  a function call arrives whole, its ``args`` already an object.
* **Ollama** ``POST /api/chat`` (native API): not SSE at all but NDJSON, one
  JSON object per line; the last has ``"done": true`` with timing counters in
  nanoseconds. Tool calls arrive whole in ``message.tool_calls``.
"""

from __future__ import annotations

import json
from typing import Any

from sse_lab.dialects.assemble import Assembled, ToolCall

__all__ = [
    "GEMINI_TEXT",
    "GEMINI_THINKING_TOOL",
    "GEMINI_ERROR",
    "OLLAMA_CHAT",
    "OLLAMA_TOOL",
    "assemble_ollama",
]


def _sse_crlf(*objects: dict[str, Any]) -> bytes:
    return b"".join(
        b"data: " + json.dumps(o, ensure_ascii=False).encode() + b"\r\n\r\n" for o in objects
    )


def _gemini(parts: list[dict[str, Any]], n: int, finish: str | None = None,
            thoughts: int = 0) -> dict[str, Any]:
    cand: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    usage = {"promptTokenCount": 9, "candidatesTokenCount": n, "totalTokenCount": 9 + n + thoughts}
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return {"candidates": [cand], "usageMetadata": usage, "modelVersion": "gemini-2.5-flash",
            "responseId": "mIEcaK7_Ls-ykdUPpO2b4AE"}


#: A plain answer in three events; the last carries ``finishReason: "STOP"``.
GEMINI_TEXT = _sse_crlf(
    _gemini([{"text": "Server-Sent Events keep one"}], 6),
    _gemini([{"text": " HTTP response open and push text"}], 12),
    _gemini([{"text": " down it. 很好!"}], 17, "STOP"),
)

#: A thought summary, then a whole function call (arguments are an object).
GEMINI_THINKING_TOOL = _sse_crlf(
    _gemini([{"text": "**Checking the weather**\n\nThe user wants Tokyo's weather; "
                      "I will call the tool.", "thought": True}], 0, thoughts=21),
    _gemini([{"functionCall": {"name": "get_weather",
                               "args": {"location": "Tokyo 東京", "unit": "celsius"}}}],
            9, "STOP", thoughts=21),
)

#: A stream that breaks: two text events, then an error object (no finishReason).
GEMINI_ERROR = _sse_crlf(
    _gemini([{"text": "Here is the first part"}], 5),
    _gemini([{"text": " of an answer that"}], 9),
    {"error": {"code": 503, "message": "The model is overloaded. Please try again later.",
               "status": "UNAVAILABLE"}},
)


def _ollama(content: str, done: bool = False, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    message.update(extra.pop("message", {}))
    return {"model": "llama3.2", "created_at": "2025-06-03T10:15:02.12345Z",
            "message": message, "done": done, **extra}


def _ndjson(*objects: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in objects)


_DONE_STATS = {"done_reason": "stop", "total_duration": 912345678, "load_duration": 21345678,
               "prompt_eval_count": 26, "prompt_eval_duration": 130000000,
               "eval_count": 5, "eval_duration": 610000000}

#: Ollama ``/api/chat`` streaming a short answer: one JSON object per line.
OLLAMA_CHAT = _ndjson(
    _ollama("Server"), _ollama("-Sent"), _ollama(" Events"), _ollama(" push"),
    _ollama(" text."), _ollama("", True, **_DONE_STATS),
)

#: Ollama calling a tool: the call arrives whole, then the done line.
OLLAMA_TOOL = _ndjson(
    _ollama("", message={"tool_calls": [{"function": {
        "name": "get_weather", "arguments": {"location": "Tokyo 東京"}}}]}),
    _ollama("", True, **{**_DONE_STATS, "eval_count": 14}),
)


def assemble_ollama(data: bytes) -> Assembled:
    """Assemble Ollama NDJSON: split at ``\\n``, one object per line (no SSE parser).

    A last line without its newline is ignored, as a truncated stream would
    leave it; ``finish`` is the ``done_reason`` of the ``"done": true`` line.
    """
    out = Assembled()
    lines = data.split(b"\n")[:-1]  # the part after the last newline is incomplete
    for line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            out.error = {"type": "invalid_json", "message": str(exc)}
            continue
        if "error" in obj:
            out.error = {"message": obj["error"]}
            continue
        message = obj.get("message") or {}
        out.text += message.get("content") or ""
        out.reasoning += message.get("thinking") or ""
        for call in message.get("tool_calls") or []:
            fn = call.get("function") or {}
            args = fn.get("arguments")
            out.tool_calls.append(ToolCall(None, fn.get("name"), args,
                                           json.dumps(args, ensure_ascii=False),
                                           len(out.tool_calls)))
        if obj.get("done"):
            out.finish = obj.get("done_reason") or "stop"
            out.usage = {k: obj[k] for k in ("prompt_eval_count", "eval_count") if k in obj}
    return out
