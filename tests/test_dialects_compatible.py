"""OpenAI-compatible Chinese providers' reasoning streams: fixtures, assembler, official SDK.

The fixtures are reconstructed from the providers' documentation (see
``sse_lab.dialects.compatible``). The ``openai`` SDK reads them from a real local HTTP
server (stdlib ``http.server`` on 127.0.0.1), so its own SSE decoder and chunk models
parse the very bytes the assembler parses.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import random
import threading
from collections.abc import Iterator

import openai
import pytest

from sse_lab.dialects import Assembler, assemble, token_counts
from sse_lab.dialects.compatible import (
    ANSWER_PIECES,
    DEEPSEEK_REASONER,
    GLM_THINKING,
    KIMI_THINKING,
    PROVIDERS,
    QWEN_THINKING,
    SOURCES,
    THINKING_PIECES,
    reasoning_status,
)
from sse_lab.dialects.fixtures import GEMINI_THINKING_TOOL
from sse_lab.i18n import use_language
from sse_lab.protocol import parse

ANSWER = "".join(ANSWER_PIECES)
THINKING = "".join(THINKING_PIECES)


def feed_in_pieces(data: bytes, cuts: list[int]):
    asm = Assembler("openai-chat")
    deltas = []
    for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
        deltas += asm.feed(data[a:b])
    return asm.close(), deltas


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_whole_byte_by_byte_and_random_splits_agree(name: str) -> None:
    data = PROVIDERS[name][1]
    whole = assemble("openai-chat", data)
    assert whole.text == ANSWER and whole.reasoning == THINKING
    assert whole.finish == "stop" and whole.error is None
    one, _ = feed_in_pieces(data, list(range(1, len(data))))
    assert one == whole
    rng = random.Random(name)
    for _ in range(25):
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 60)))
        split, _ = feed_in_pieces(data, cuts)
        assert split == whole


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_all_thinking_arrives_before_the_answer_and_never_inside_it(name: str) -> None:
    _, deltas = feed_in_pieces(PROVIDERS[name][1], [])
    kinds = [d.kind for d in deltas if d.kind in ("reasoning", "text")]
    n = len(THINKING_PIECES)
    assert kinds == ["reasoning"] * n + ["text"] * len(ANSWER_PIECES)
    assert [d.text for d in deltas if d.kind == "reasoning"] == list(THINKING_PIECES)
    assert THINKING not in assemble("openai-chat", PROVIDERS[name][1]).text


def test_deepseek_keep_alive_comments_are_neither_events_nor_text() -> None:
    assert DEEPSEEK_REASONER.startswith(b": keep-alive\n\n" * 3)
    events = parse(DEEPSEEK_REASONER)
    assert len(events) == 1 + len(THINKING_PIECES) + len(ANSWER_PIECES) + 2  # +finish, [DONE]
    asm = Assembler("openai-chat")
    assert asm.feed(b": keep-alive\n\n" * 3) == [] and asm.events == 0
    asm.feed(DEEPSEEK_REASONER[3 * len(b": keep-alive\n\n"):])
    assert asm.close() == assemble("openai-chat", DEEPSEEK_REASONER)


def test_usage_variants_are_found_and_read() -> None:
    counts = {name: token_counts(assemble("openai-chat", data).usage)
              for name, (_, data) in PROVIDERS.items()}
    assert {c.prompt for c in counts.values()} == {14}
    assert {c.completion for c in counts.values()} == {len(THINKING_PIECES) + len(ANSWER_PIECES)}
    assert counts["deepseek"].cached == 0 and counts["deepseek"].reasoning == len(THINKING_PIECES)
    assert counts["qwen"].reasoning == len(THINKING_PIECES) and counts["qwen"].cached == 0
    assert counts["kimi"].reasoning is None and counts["glm"].reasoning is None
    # where each provider put it
    last = {name: json.loads(parse(data)[-2].data) for name, (_, data) in PROVIDERS.items()}
    assert last["qwen"]["choices"] == [] and "usage" in last["qwen"]
    assert "usage" in last["kimi"]["choices"][0] and "usage" not in last["kimi"]
    assert last["deepseek"]["choices"][0]["finish_reason"] == "stop" and last["deepseek"]["usage"]
    assert "object" not in last["glm"] and last["glm"]["usage"]["total_tokens"] == 71
    assert json.loads(parse(DEEPSEEK_REASONER)[0].data)["usage"] is None


def test_a_cut_stream_keeps_the_thinking_and_loses_the_usage() -> None:
    cut = assemble("openai-chat", QWEN_THINKING[: len(QWEN_THINKING) // 2])
    assert cut.usage is None and cut.finish is None and THINKING.startswith(cut.reasoning)


def test_token_counts_other_dialects() -> None:
    gem = token_counts(assemble("gemini", GEMINI_THINKING_TOOL).usage)
    assert gem.reasoning == 21 and gem.completion == 9 + 21 and gem.prompt == 9
    anth = token_counts({"input_tokens": 5, "cache_read_input_tokens": 3, "output_tokens": 7})
    assert (anth.prompt, anth.completion, anth.cached) == (5, 7, 3)
    assert token_counts(None).prompt is None
    assert token_counts({"prompt_tokens": True}).prompt is None


#: The fixtures are byte strings a notebook prints and measures: pin them, so a change
#: to their bytes is a deliberate one (update the digest with the docstring's source).
PINNED = {
    "deepseek": ("ad05977f3f76de5d", 18360),
    "qwen": ("a554e52fa02c0f8b", 17386),
    "kimi": ("6fec34f87a58ebfd", 14946),
    "glm": ("f4efb2d55d9bfdaa", 10870),
}


def test_fixture_bytes_are_pinned() -> None:
    got = {name: (hashlib.sha256(data).hexdigest()[:16], len(data))
           for name, (_, data) in PROVIDERS.items()}
    assert got == PINNED


def test_every_fixture_names_its_sources() -> None:
    assert set(SOURCES) == set(PROVIDERS)
    assert all(url.startswith("https://") for urls in SOURCES.values() for url in urls)


# -- the official SDK reads the same bytes -------------------------------------------------

class _Replay(http.server.BaseHTTPRequestHandler):
    """``POST /<provider>/chat/completions`` answers with that provider's fixture."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        name = self.path.strip("/").split("/")[0]
        body = PROVIDERS[name][1]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def replay() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Replay)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_the_openai_sdk_exposes_reasoning_content_and_agrees(replay: str, name: str) -> None:
    model = PROVIDERS[name][0]
    with openai.OpenAI(base_url=f"{replay}/{name}", api_key="dummy", max_retries=0) as client:
        thinking, answer, usage, finish = "", "", None, None
        for chunk in client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "9.11 和 9.8 哪个更大？"}],
                stream=True):
            usage = chunk.usage or usage
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            # Not an OpenAI field: the SDK keeps unknown keys in model_extra.
            thinking += (choice.delta.model_extra or {}).get("reasoning_content") or ""
            answer += choice.delta.content or ""
            finish = choice.finish_reason or finish
            if (choice.model_extra or {}).get("usage"):  # Kimi's usage inside the choice
                usage = choice.model_extra["usage"]
    mine = assemble("openai-chat", PROVIDERS[name][1])
    assert (thinking, answer, finish) == (mine.reasoning, mine.text, mine.finish)
    assert thinking == THINKING and answer == ANSWER
    dumped = usage if isinstance(usage, dict) else usage.model_dump(exclude_none=True)
    assert token_counts(dumped).completion == token_counts(mine.usage).completion
    if name == "deepseek":
        assert usage.model_extra["prompt_cache_miss_tokens"] == 14


def test_fixture_bytes_are_what_the_sdk_parsed() -> None:
    # the JSON spacing differs by provider, as documented
    assert b'"choices": [{"delta"' in DEEPSEEK_REASONER
    assert b'{"choices":[{"delta"' in QWEN_THINKING
    assert KIMI_THINKING.count(b"data: [DONE]") == GLM_THINKING.count(b"data: [DONE]") == 1


def test_reasoning_status_follows_the_phases_in_both_languages() -> None:
    with use_language("en"):
        lines = [reasoning_status("", ""), reasoning_status("嗯，用户", ""),
                 reasoning_status("嗯，用户", "9.8", None),
                 reasoning_status("嗯，用户", "9.8", "stop")]
    assert lines == ["Waiting for the model…", "Thinking… 4 characters so far",
                     "Answering (thought for 4 characters)",
                     "Done: 4 characters of thinking, 3 characters of answer"]
    with use_language("zh-CN"):
        assert reasoning_status(THINKING, "") == f"思考中…已收到 {len(THINKING)} 个字符"
