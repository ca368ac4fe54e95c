"""The dialect assembler: any chunking, truncation, fragments by index, escapes cut in two."""

from __future__ import annotations

import json
import random

import pytest

from sse_lab.dialects import (
    DIALECTS,
    Assembler,
    ToolSpec,
    assemble,
    frames_to_bytes,
    make_writer,
    plan_turn,
    render,
)
from sse_lab.dialects.fixtures import (
    GEMINI_ERROR,
    GEMINI_TEXT,
    GEMINI_THINKING_TOOL,
    OLLAMA_CHAT,
    OLLAMA_TOOL,
    assemble_ollama,
)
from sse_lab.dialects.turn import choose_tools, split_arguments, tool_arguments
from sse_lab.model import SimulatedLLM

MODEL = SimulatedLLM()
WEATHER = ToolSpec("get_weather", {
    "type": "object",
    "properties": {"location": {"type": "string"},
                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["location"],
})
CLOCK = ToolSpec("get_time", {"type": "object", "properties": {"city": {"type": "string"},
                                                               "utc_offset": {"type": "integer"}}})
END_MARKERS = {
    "openai-chat": b"data: [DONE]",
    "openai-responses": b"event: response.completed",
    "anthropic": b"event: message_stop",
    "gemini": b'"finishReason"',
}

TURNS = {
    "text": dict(prompt="why stream tokens?", seed=3),
    "chinese": dict(prompt="你好", seed=0),
    "thinking": dict(prompt="tell me something", seed=7, thinking=True),
    "tools": dict(prompt="call get_weather and get_time", seed=2, tools=[WEATHER, CLOCK]),
    "length": dict(prompt="why stream tokens?", seed=1, max_tokens=5),
}


def script(name: str):
    kw = dict(TURNS[name])
    return plan_turn(MODEL, kw.pop("prompt"), kw.pop("seed"), **kw)


def chunked(data: bytes, rng: random.Random, biggest: int = 40) -> list[bytes]:
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, biggest)
        out.append(data[i : i + n])
        i += n
    return out


def feed_all(dialect: str, chunks: list[bytes]):
    asm = Assembler(dialect)
    deltas = []
    for c in chunks:
        deltas += asm.feed(c)
    return asm.close(), deltas


def snapshot(a) -> tuple:
    calls = [(c.id, c.name, c.arguments, c.raw_arguments) for c in a.tool_calls]
    return (a.text, a.reasoning, calls, a.usage, a.finish, a.error)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("turn", sorted(TURNS))
def test_whole_stream_assembles_to_the_planned_turn(dialect: str, turn: str) -> None:
    s = script(turn)
    got = assemble(dialect, render(dialect, s))
    assert got.text == s.text
    assert got.reasoning == s.thinking
    assert [(c.name, c.arguments) for c in got.tool_calls] == [
        (c["name"], json.loads(c["arguments"])) for c in s.tool_calls
    ]
    assert got.error is None
    assert (got.usage is None) == (dialect == "openai-chat")  # no include_usage here
    expected_finish = {
        "openai-chat": s.finish,
        "openai-responses": "incomplete" if s.finish == "length" else "completed",
        "anthropic": {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"},
        "gemini": {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"},
    }[dialect]
    if isinstance(expected_finish, dict):
        expected_finish = expected_finish[s.finish]
    assert got.finish == expected_finish


def test_text_is_chats_answer_and_tools_run_in_parallel() -> None:
    assert script("text").text == MODEL.answer("why stream tokens?", 3)
    calls = script("tools").tool_calls
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    assert [c["index"] for c in calls] == [0, 1]
    assert script("length").finish == "length" and len(script("length").text) < 40


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("turn", ["chinese", "thinking", "tools"])
def test_any_chunking_gives_the_same_result(dialect: str, turn: str) -> None:
    data = render(dialect, script(turn))
    whole = snapshot(assemble(dialect, data))
    rng = random.Random(f"{dialect}{turn}")
    for biggest in (1, 3, 17, 200):
        got, _ = feed_all(dialect, chunked(data, rng, biggest))
        assert snapshot(got) == whole, biggest


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("turn", ["thinking", "tools"])
def test_truncation_never_raises_and_never_claims_a_finish(dialect: str, turn: str) -> None:
    s = script(turn)
    data = render(dialect, s)
    end = data.rfind(END_MARKERS[dialect])
    assert end > 0
    full = assemble(dialect, data)
    for cut in range(0, len(data), 7 if turn == "thinking" else 3):
        got = assemble(dialect, data[:cut])
        assert full.text.startswith(got.text) and full.reasoning.startswith(got.reasoning)
        assert got.error is None
        if cut <= end:
            assert got.finish is None, cut
        for call, done in zip(got.tool_calls, full.tool_calls, strict=False):
            assert done.raw_arguments.startswith(call.raw_arguments)
            assert call.arguments is None or call.arguments == done.arguments


def test_arguments_are_cut_inside_an_escape_and_still_parse() -> None:
    s = script("tools")
    pieces = [st.text for st in s.steps if st.kind == "tool_arguments" and st.index == 0]
    joined = "".join(pieces)
    assert "\\u" in joined  # non-ASCII place names travel as \uXXXX escapes
    assert any(p.endswith(("\\u", "\\u0", "\\u00")) or
               (len(p) >= 3 and "\\u" in p[-5:] and not p.endswith("\\")) for p in pieces[:-1])
    start = joined.find("\\u")
    cut_inside = any(sum(map(len, pieces[:k])) in range(start + 1, start + 6)
                     for k in range(1, len(pieces)))
    assert cut_inside
    with pytest.raises(ValueError):
        json.loads(pieces[0])
    assert json.loads(joined) == tool_arguments(WEATHER, "call get_weather and get_time", 2)


def test_split_arguments_joins_back() -> None:
    rng = random.Random(0)
    for n in range(30):
        text = json.dumps({"k": "é" * n, "n": n}, ensure_ascii=True)
        assert "".join(split_arguments(text, rng)) == text


@pytest.mark.parametrize("dialect", ["openai-chat", "openai-responses", "anthropic"])
def test_arguments_grow_until_they_parse(dialect: str) -> None:
    data = render(dialect, script("tools"))
    _, deltas = feed_all(dialect, [data[i : i + 1] for i in range(len(data))])
    for index in (0, 1):
        args = [d for d in deltas if d.kind == "tool_arguments" and d.index == index]
        assert len(args) > 3
        assert [d.parses for d in args] == [False] * (len(args) - 1) + [True]
        assert all(b.snapshot.startswith(a.snapshot) for a, b in zip(args, args[1:], strict=False))
    starts = [d for d in deltas if d.kind == "tool_call"]
    assert [d.name for d in starts] == ["get_weather", "get_time"]
    assert all(d.id for d in starts)


def test_chat_fragments_join_by_index_even_interleaved() -> None:
    def chunk(frags, finish=None):
        delta = {"tool_calls": frags} if frags else {}
        return b"data: " + json.dumps({"choices": [{"index": 0, "delta": delta,
                                                    "finish_reason": finish}]}).encode() + b"\n\n"

    data = b"".join([
        chunk([{"index": 0, "id": "call_a", "type": "function",
                "function": {"name": "f", "arguments": ""}}]),
        chunk([{"index": 1, "id": "call_b", "type": "function",
                "function": {"name": "g", "arguments": "{\"ci"}}]),
        chunk([{"index": 0, "function": {"arguments": "{\"lo"}}]),
        chunk([{"index": 1, "function": {"arguments": "ty\": \"Z\\u00fc"}},
               {"index": 0, "function": {"arguments": "catio"}}]),
        chunk([{"index": 0, "function": {"arguments": "n\": \"T"}}]),
        chunk([{"index": 1, "function": {"arguments": "rich\"}"}}]),
        chunk([{"index": 0, "function": {"arguments": "okyo\"}"}}]),
        chunk(None, "tool_calls"),
        b"data: [DONE]\n\n",
    ])
    got = assemble("openai-chat", data)
    assert [(c.id, c.name, c.arguments) for c in got.tool_calls] == [
        ("call_a", "f", {"location": "Tokyo"}), ("call_b", "g", {"city": "Zürich"})]
    assert got.finish == "tool_calls"


def test_usage_chunk_with_empty_choices() -> None:
    s = script("text")
    w = make_writer("openai-chat", s, include_usage=True)
    frames = w.start() + [f for st in s.steps for f in w.step(st)] + w.finish()
    usage_frame = json.loads(frames[-2][1])
    n = s.output_tokens  # one per emitted piece of the answer (56 with cl100k_base)
    assert usage_frame["choices"] == [] and usage_frame["usage"]["completion_tokens"] == n
    data = frames_to_bytes(frames)
    assert assemble("openai-chat", data).usage["total_tokens"] == s.prompt_tokens + n
    # The stream broken just before the usage chunk: no usage, and no finish.
    cut = data.rfind(b'data: {"id"')
    broken = assemble("openai-chat", data[:cut])
    assert broken.usage is None and broken.finish is None and broken.text == s.text


def test_anthropic_error_inside_the_stream_keeps_the_partial_answer() -> None:
    s = script("text")
    data = render("anthropic", s, fail_after=10)
    got = assemble("anthropic", data)
    assert got.error == {"type": "overloaded_error", "message": "Overloaded"}
    assert got.finish is None
    assert got.text == "".join(st.text for st in s.steps[:10])


def test_malformed_json_is_reported_not_raised() -> None:
    got = assemble("openai-chat", b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\n'
                                  b"data: {not json\n\n")
    assert got.text == "hi" and got.error["type"] == "invalid_json"
    got = assemble("anthropic", b'event: content_block_delta\ndata: {"type": "content_block_'
                                b'delta", "index": 0, "delta": "oops"}\n\n')
    assert got.error["type"] == "unexpected_shape"
    with pytest.raises(ValueError, match="dialect"):
        Assembler("openai")


def test_gemini_fixtures() -> None:
    assert b"\r\n\r\n" in GEMINI_TEXT and b"\n\n" not in GEMINI_TEXT.replace(b"\r\n", b"")
    got = assemble("gemini", GEMINI_TEXT)
    assert got.text == "Server-Sent Events keep one HTTP response open and push text down it. 很好!"
    assert got.finish == "STOP" and got.usage["candidatesTokenCount"] == 17
    rng = random.Random(9)
    assert snapshot(feed_all("gemini", chunked(GEMINI_TEXT, rng, 2))[0]) == snapshot(got)
    tool = assemble("gemini", GEMINI_THINKING_TOOL)
    assert tool.reasoning.startswith("**Checking the weather**") and tool.text == ""
    assert [(c.name, c.arguments) for c in tool.tool_calls] == [
        ("get_weather", {"location": "Tokyo 東京", "unit": "celsius"})]
    broken = assemble("gemini", GEMINI_ERROR)
    assert broken.finish is None and broken.error["status"] == "UNAVAILABLE"
    assert broken.text == "Here is the first part of an answer that"
    # No sentinel: a cut at an event boundary looks like a finished stream minus the end.
    assert assemble("gemini", GEMINI_TEXT[: GEMINI_TEXT.rfind(b"data:")]).finish is None


def test_ollama_ndjson_fixtures() -> None:
    got = assemble_ollama(OLLAMA_CHAT)
    assert got.text == "Server-Sent Events push text." and got.finish == "stop"
    assert got.usage == {"prompt_eval_count": 26, "eval_count": 5}
    assert OLLAMA_CHAT.count(b"\n") == 6 and b"data:" not in OLLAMA_CHAT
    assert assemble_ollama(OLLAMA_CHAT[:-3]).finish is None  # the done line cut off
    tool = assemble_ollama(OLLAMA_TOOL)
    assert [(c.name, c.arguments) for c in tool.tool_calls] == [
        ("get_weather", {"location": "Tokyo 東京"})]


def test_choose_tools() -> None:
    tools = [WEATHER, CLOCK]
    assert choose_tools("what is the weather?", tools) == []
    assert choose_tools("please get_time", tools) == [CLOCK]
    assert choose_tools("anything", tools, "required") == [WEATHER]
    assert choose_tools("get_time", tools, "none") == []
    assert choose_tools("x", tools, "get_time") == [CLOCK]
    assert choose_tools("get_weather", [], "auto") == []
