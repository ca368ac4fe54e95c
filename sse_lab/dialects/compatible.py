"""OpenAI-compatible Chinese providers: how their reasoning streams differ, as fixtures.

DeepSeek, Qwen (Alibaba Cloud Model Studio / DashScope, OpenAI-compatible mode), Moonshot
Kimi and Zhipu GLM all answer ``POST /chat/completions`` with ``chat.completion.chunk``
objects and ``data: [DONE]``, so the official ``openai`` SDK reads them. Their reasoning
models add what OpenAI's own Chat Completions stream does not have:

* the chain of thought streams first, in ``delta.reasoning_content``, **next to**
  ``delta.content`` (the answer), never mixed into it;
* the usage object differs: DeepSeek splits the prompt into cache hits and misses
  (``prompt_cache_hit_tokens`` / ``prompt_cache_miss_tokens``) and sends usage on the
  chunk that carries ``finish_reason``; Qwen sends it alone in a last chunk with
  ``"choices": []`` when ``stream_options.include_usage`` is set, as OpenAI does; Kimi
  puts it *inside the choice* (``choices[0].usage``); GLM puts it at the top level of
  the finish chunk;
* DeepSeek keeps a queued request open with SSE comments (``: keep-alive``) until
  generation starts.

**These byte strings are reconstructed from the providers' documentation, not captured
live** (this machine has no internet access). Each follows the documented field names,
field order and JSON spacing of the page cited beside it; the ids, timestamps, texts and
token counts are made up, and the thinking text is short. The question is DeepSeek's own
documentation example, in Chinese: "9.11 和 9.8 哪个更大？".

Read them with :func:`sse_lab.dialects.assemble` (``"openai-chat"``): the assembler
keeps ``reasoning_content`` in :attr:`~sse_lab.dialects.Assembled.reasoning`, the
answer in ``text``, ignores the keep-alive comments (the SSE parser drops comment
lines) and finds the usage wherever the provider put it; :func:`token_counts` reads the
different usage names. :func:`reasoning_status` is the one-line status a chat UI shows
while it renders the two streams apart. Used by notebook 09.
"""

from __future__ import annotations

import json
from typing import Any

from sse_lab.i18n import tr

__all__ = [
    "DEEPSEEK_REASONER",
    "QWEN_THINKING",
    "KIMI_THINKING",
    "GLM_THINKING",
    "PROVIDERS",
    "QUESTION",
    "THINKING_PIECES",
    "ANSWER_PIECES",
    "SOURCES",
    "reasoning_status",
]

#: The question every fixture answers (DeepSeek's reasoning-model guide asks it in English).
QUESTION = "9.11 和 9.8 哪个更大？"

#: The chain of thought, as the pieces the fixtures stream in ``reasoning_content``.
THINKING_PIECES: tuple[str, ...] = (
    "嗯", "，用户", "问", " 9.11", " 和", " 9.8", " 哪个", "更大", "。", "先", "比较",
    "整数", "部分", "：", "都是", " 9", "。", "再", "比", "小数", "部分", "：", "0.11",
    " 和", " 0.8", "，", "0.8", " 就是", " 0.80", "，", "比", " 0.11", " 大", "。",
    "所以", " 9.8", " 更大", "。",
)

#: The visible answer, as the pieces the fixtures stream in ``content``.
ANSWER_PIECES: tuple[str, ...] = (
    "9.8", " 更大", "。", "整数", "部分", "相同", "时", "比较", "小数", "部分", "：",
    "0.8", "（", "即", " 0.80", "）", "大于", " 0.11", "。",
)

_PROMPT_TOKENS = 14
_REASONING = len(THINKING_PIECES)
_COMPLETION = len(THINKING_PIECES) + len(ANSWER_PIECES)

#: Where each fixture's shape comes from (the pages were read, not the live APIs).
SOURCES: dict[str, tuple[str, ...]] = {
    "deepseek": (
        "https://api-docs.deepseek.com/guides/reasoning_model",
        "https://api-docs.deepseek.com/api/create-chat-completion",
        "https://api-docs.deepseek.com/quick_start/rate_limit",
        "https://api-docs.deepseek.com/guides/kv_cache",
    ),
    "qwen": (
        "https://help.aliyun.com/zh/model-studio/deep-thinking",
        "https://help.aliyun.com/zh/model-studio/stream",
    ),
    "kimi": (
        "https://platform.moonshot.cn/blog/posts/kimi-thinking",
        "https://platform.moonshot.ai/docs/guide/utilize-the-streaming-output-feature-of-kimi-api",
    ),
    "glm": (
        "https://docs.bigmodel.cn/cn/guide/capabilities/streaming",
        "https://docs.bigmodel.cn/cn/guide/models/text/glm-4.5",
    ),
}


def _sse(objects: list[Any], *, spaced: bool = False, prefix: bytes = b"") -> bytes:
    """``data:`` events with UTF-8 JSON (``spaced``: Python's default ``", "`` separators)."""
    sep = (", ", ": ") if spaced else (",", ":")
    body = b"".join(
        b"data: " + (o if isinstance(o, str) else json.dumps(o, ensure_ascii=False,
                                                             separators=sep)).encode()
        + b"\n\n"
        for o in objects
    )
    return prefix + body


def _deepseek() -> bytes:
    # api-docs.deepseek.com/api/create-chat-completion (streaming example): Python-style
    # JSON spacing; the first chunk starts with "id" and has "usage": null, later ones
    # start with "choices"; usage rides on the chunk with finish_reason.
    # guides/reasoning_model: reasoning_content sits beside content in the delta.
    # quick_start/rate_limit: a queued streaming request receives ": keep-alive" comments.
    # guides/kv_cache: usage splits the prompt into prompt_cache_hit/miss_tokens.
    rid, created, fp = "a4c5e7f0-3b1d-4f7e-9c2a-5d8e6f1b2c3d", 1764547200, "fp_7e73fd9a08"
    head = {"id": rid, "choices": [{"index": 0, "delta": {"content": None,
            "reasoning_content": "", "role": "assistant"}, "finish_reason": None,
            "logprobs": None}], "created": created, "model": "deepseek-reasoner",
            "system_fingerprint": fp, "object": "chat.completion.chunk", "usage": None}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        return {"choices": [{"delta": delta, "finish_reason": finish, "index": 0,
                             "logprobs": None}], "created": created, "id": rid,
                "model": "deepseek-reasoner", "object": "chat.completion.chunk",
                "system_fingerprint": fp, **extra}

    usage = {"completion_tokens": _COMPLETION, "prompt_tokens": _PROMPT_TOKENS,
             "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": _PROMPT_TOKENS,
             "total_tokens": _PROMPT_TOKENS + _COMPLETION,
             "completion_tokens_details": {"reasoning_tokens": _REASONING}}
    events: list[Any] = [head]
    events += [chunk({"content": None, "reasoning_content": p}) for p in THINKING_PIECES]
    events += [chunk({"content": p, "reasoning_content": None}) for p in ANSWER_PIECES]
    events += [chunk({"content": "", "reasoning_content": None}, "stop", usage=usage), "[DONE]"]
    return _sse(events, spaced=True, prefix=b": keep-alive\n\n" * 3)


def _qwen() -> bytes:
    # help.aliyun.com/zh/model-studio/stream (curl output of the OpenAI-compatible mode):
    # compact JSON, keys in the order choices, object, usage, created,
    # system_fingerprint, model, id; "usage": null on every chunk but the last, which
    # has "choices": [] when stream_options.include_usage is true.
    # model-studio/deep-thinking: enable_thinking=true streams reasoning_content first.
    rid, created = "chatcmpl-5e0b4c4e-8d6f-9a21-b3c7-2f1e0d9c8b7a", 1764547201

    def chunk(choices: list[Any], usage: Any = None) -> dict[str, Any]:
        return {"choices": choices, "object": "chat.completion.chunk", "usage": usage,
                "created": created, "system_fingerprint": None, "model": "qwen-plus",
                "id": rid}

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[Any]:
        return [{"delta": delta, "finish_reason": finish, "index": 0, "logprobs": None}]

    usage = {"prompt_tokens": _PROMPT_TOKENS, "completion_tokens": _COMPLETION,
             "total_tokens": _PROMPT_TOKENS + _COMPLETION,
             "completion_tokens_details": {"reasoning_tokens": _REASONING},
             "prompt_tokens_details": {"cached_tokens": 0}}
    events: list[Any] = [chunk(choice({"content": None, "role": "assistant",
                                       "reasoning_content": ""}))]
    events += [chunk(choice({"content": None, "reasoning_content": p})) for p in THINKING_PIECES]
    events += [chunk(choice({"content": p, "reasoning_content": None})) for p in ANSWER_PIECES]
    events += [chunk(choice({"content": "", "reasoning_content": None}, "stop")),
               chunk([], usage), "[DONE]"]
    return _sse(events)


def _kimi() -> bytes:
    # platform.moonshot.cn/blog/posts/kimi-thinking: the thinking model streams
    # reasoning_content in the delta (the openai SDK has no attribute for it).
    # platform.moonshot.ai/docs/guide/utilize-the-streaming-output-feature-of-kimi-api:
    # data: + JSON + blank line, data: [DONE] at the end, the usage in the last data
    # chunk, inside the choice (choices[0].usage) next to finish_reason.
    rid, created, fp = "chatcmpl-692d4a6f2c1b8e0a7f3d5c91", 1764547202, "fpv0_ca1d2527"

    def chunk(choice: dict[str, Any]) -> dict[str, Any]:
        return {"id": rid, "object": "chat.completion.chunk", "created": created,
                "model": "kimi-thinking-preview", "choices": [{"index": 0, **choice}],
                "system_fingerprint": fp}

    usage = {"prompt_tokens": _PROMPT_TOKENS, "completion_tokens": _COMPLETION,
             "total_tokens": _PROMPT_TOKENS + _COMPLETION}
    events: list[Any] = [chunk({"delta": {"role": "assistant", "content": ""},
                                "finish_reason": None})]
    events += [chunk({"delta": {"reasoning_content": p}, "finish_reason": None})
               for p in THINKING_PIECES]
    events += [chunk({"delta": {"content": p}, "finish_reason": None}) for p in ANSWER_PIECES]
    events += [chunk({"delta": {}, "finish_reason": "stop", "usage": usage}), "[DONE]"]
    return _sse(events)


def _glm() -> bytes:
    # docs.bigmodel.cn/cn/guide/capabilities/streaming: chunks carry id, created, model
    # and choices (no "object" field); delta.reasoning_content for thinking,
    # delta.content for the answer; finish_reason and usage only in the last chunk,
    # usage at the top level; then data: [DONE].
    # guide/models/text/glm-4.5: thinking.type "enabled" / "disabled" switches thinking.
    rid, created = "2025120104052700a1b2c3d4e5f60718", 1764547203

    def chunk(choice: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"id": rid, "created": created, "model": "glm-4.6",
                "choices": [{"index": 0, **choice}], **extra}

    usage = {"prompt_tokens": _PROMPT_TOKENS, "completion_tokens": _COMPLETION,
             "total_tokens": _PROMPT_TOKENS + _COMPLETION}
    events: list[Any] = [chunk({"delta": {"role": "assistant", "reasoning_content": p},
                                "finish_reason": None}) for p in THINKING_PIECES]
    events += [chunk({"delta": {"role": "assistant", "content": p}, "finish_reason": None})
               for p in ANSWER_PIECES]
    events += [chunk({"finish_reason": "stop", "delta": {"role": "assistant", "content": ""}},
                     usage=usage), "[DONE]"]
    return _sse(events)


#: DeepSeek ``deepseek-reasoner``: three ``: keep-alive`` comments while queued, then
#: ``reasoning_content`` / ``content`` deltas; usage (with cache hits/misses and
#: ``reasoning_tokens``) on the finish chunk.
DEEPSEEK_REASONER = _deepseek()

#: Qwen ``qwen-plus`` with ``enable_thinking: true`` and ``include_usage``: ``"usage":
#: null`` on every chunk, then a usage-only chunk with ``"choices": []``.
QWEN_THINKING = _qwen()

#: Kimi ``kimi-thinking-preview``: usage inside ``choices[0]`` of the finish chunk.
KIMI_THINKING = _kimi()

#: Zhipu ``glm-4.6`` with ``thinking: {"type": "enabled"}``: no ``object`` field; usage
#: at the top level of the finish chunk.
GLM_THINKING = _glm()

#: ``{provider: (model, stream bytes)}`` for the four fixtures.
PROVIDERS: dict[str, tuple[str, bytes]] = {
    "deepseek": ("deepseek-reasoner", DEEPSEEK_REASONER),
    "qwen": ("qwen-plus", QWEN_THINKING),
    "kimi": ("kimi-thinking-preview", KIMI_THINKING),
    "glm": ("glm-4.6", GLM_THINKING),
}


def reasoning_status(reasoning: str, text: str, finish: str | None = None) -> str:
    """The status line a chat UI shows above a reasoning model's answer, in the lab's language.

    A client renders the two streams apart: the thinking in a muted, collapsible panel
    that grows while ``reasoning_content`` arrives, the answer below it from the first
    ``content`` delta on. This line says which phase the stream is in (characters, not
    tokens: the client can count those itself).
    """
    if not reasoning and not text:
        return tr("Waiting for the model…")
    if not text:
        return tr("Thinking… {n} characters so far", n=len(reasoning))
    if finish is None:
        return tr("Answering (thought for {n} characters)", n=len(reasoning))
    return tr("Done: {n} characters of thinking, {m} characters of answer",
              n=len(reasoning), m=len(text))
