"""The official ``openai`` SDK reads the lab's Chat Completions tool calls (no network)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from sse_lab.dialects import assemble
from sse_lab.server import LabServer

FAST = {"speed": 200}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"},
                           "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["location"],
        },
    },
}
CLOCK = {"type": "function", "function": {"name": "get_time", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "dst": {"type": "boolean"}}}}}


@pytest.fixture()
def client(server: LabServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.url + "/v1", api_key="dummy", max_retries=0) as c:
        yield c


def streamed_calls(chunks) -> tuple[dict[int, dict], str | None]:
    """Accumulate tool-call fragments by index, as the OpenAI docs show."""
    calls: dict[int, dict] = {}
    finish = None
    for chunk in chunks:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        for frag in choice.delta.tool_calls or []:
            call = calls.setdefault(frag.index, {"id": None, "name": None, "arguments": ""})
            call["id"] = frag.id or call["id"]
            if frag.function and frag.function.name:
                call["name"] = frag.function.name
            if frag.function and frag.function.arguments:
                call["arguments"] += frag.function.arguments
        finish = choice.finish_reason or finish
    return calls, finish


def raw_stream(server: LabServer, body: dict) -> bytes:
    return httpx.post(server.url + "/v1/chat/completions", json={**body, **FAST},
                      timeout=10).content


@pytest.mark.parametrize("seed", [0, 4])
def test_streamed_tool_call_arguments_parse_and_equal_the_blocking_call(server, client,
                                                                        seed: int) -> None:
    request = dict(model="gpt-4o", seed=seed, tools=[WEATHER],
                   messages=[{"role": "user", "content": "Use get_weather for Tokyo"}])
    chunks = list(client.chat.completions.create(stream=True, extra_body=FAST, **request))
    calls, finish = streamed_calls(chunks)
    assert finish == "tool_calls" and list(calls) == [0]
    first = chunks[0].choices[0].delta.tool_calls[0]
    assert first.id and first.type == "function" and first.function.name == "get_weather"
    assert first.function.arguments == ""  # the first fragment names the call, no arguments
    pieces = [c.choices[0].delta.tool_calls[0].function.arguments for c in chunks[1:-1]]
    assert len(pieces) > 5 and all(pieces)
    with pytest.raises(json.JSONDecodeError):
        json.loads(pieces[0])  # a piece alone is not JSON
    args = json.loads(calls[0]["arguments"])
    assert set(args) == {"location", "unit"} and args["unit"] == "celsius"

    blocking = client.chat.completions.create(extra_body=FAST, **request)
    choice = blocking.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert (call.id, call.function.name) == (calls[0]["id"], calls[0]["name"])
    assert json.loads(call.function.arguments) == args
    assert call.function.arguments == calls[0]["arguments"]


def test_parallel_calls_by_index_and_the_assembler_agrees(server, client) -> None:
    body = dict(model="m", seed=3, tools=[WEATHER, CLOCK], stream=True,
                stream_options={"include_usage": True},
                messages=[{"role": "user", "content": "call get_weather and get_time"}])
    chunks = list(client.chat.completions.create(extra_body=FAST, **body))
    calls, finish = streamed_calls(chunks)
    assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_time"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 10
    mine = assemble("openai-chat", raw_stream(server, body))
    assert mine.finish == finish == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in mine.tool_calls] == [
        (calls[i]["id"], calls[i]["name"], json.loads(calls[i]["arguments"])) for i in (0, 1)]
    assert mine.usage == chunks[-1].usage.model_dump(exclude_none=True)
    one = list(client.chat.completions.create(extra_body=FAST, **body,
                                              parallel_tool_calls=False))
    assert list(streamed_calls(one)[0]) == [0]


def test_stream_helper_collects_the_same_call(server, client) -> None:
    with client.chat.completions.stream(
        model="m", seed=1, tools=[CLOCK], tool_choice={"type": "function",
                                                      "function": {"name": "get_time"}},
        messages=[{"role": "user", "content": "what time is it?"}], extra_body=FAST,
    ) as stream:
        done = [e for e in stream if e.type == "tool_calls.function.arguments.done"]
        final = stream.get_final_completion()
    (call,) = final.choices[0].message.tool_calls
    assert call.function.name == "get_time" and done[0].arguments == call.function.arguments
    assert json.loads(call.function.arguments)["dst"] is True


def test_text_turns_agree_with_the_assembler(server, client) -> None:
    body = dict(model="m", seed=5, stream=True, stream_options={"include_usage": True},
                messages=[{"role": "user", "content": "你好, why stream?"}])
    chunks = list(client.chat.completions.create(extra_body=FAST, **body))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    mine = assemble("openai-chat", raw_stream(server, body))
    assert mine.text == text and mine.finish == "stop" and mine.tool_calls == []
    assert mine.usage["total_tokens"] == chunks[-1].usage.total_tokens


def test_after_the_tool_result_the_model_answers(server, client) -> None:
    resp = client.chat.completions.create(
        model="m", tools=[WEATHER], extra_body=FAST,
        messages=[
            {"role": "user", "content": "Use get_weather for Tokyo"},
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "21 °C, sunny"},
        ],
    )
    assert resp.choices[0].finish_reason == "stop" and resp.choices[0].message.content


def test_overload_inside_the_200_is_the_sdks_api_error(server, client) -> None:
    got = []
    with pytest.raises(openai.APIError) as err:
        for chunk in client.chat.completions.create(
            model="m", stream=True, messages=[{"role": "user", "content": "why stream?"}],
            extra_body=FAST, extra_headers={"X-SSE-Lab-Fault": "overloaded; after=6"},
        ):
            got.append(chunk.choices[0].delta.content or "")
    assert not isinstance(err.value, openai.APIStatusError)  # the status was 200
    assert err.value.body["type"] == "overloaded_error"
    assert len(got) == 6 + 1  # the role chunk, then six tokens: the partial answer


def test_rate_limit_switch_and_bad_tools(server, client) -> None:
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                       extra_headers={"X-SSE-Lab-Fault": "rate_limit"})
    bad = [
        ({"tools": {"type": "function"}}, "tools"),
        ({"tools": [{"type": "retrieval"}]}, "tools[0].type"),
        ({"tools": [{"type": "function", "function": {"name": ""}}]}, "tools[0].function.name"),
        ({"tools": [WEATHER], "tool_choice": "maybe"}, "tool_choice"),
        ({"tools": [WEATHER], "tool_choice": {"type": "function",
                                              "function": {"name": "nope"}}}, "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [WEATHER], "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ]
    for extra, param in bad:
        body = {"model": "m", "messages": [{"role": "user", "content": "x"}], **extra}
        resp = httpx.post(server.url + "/v1/chat/completions", json=body, timeout=5)
        assert resp.status_code == 400, extra
        assert resp.json()["error"]["param"] == param
    huge = httpx.post(server.url + "/v1/chat/completions", timeout=5,
                      content=b'{"x": "' + b"a" * (1024 * 1024 + 10) + b'"}')
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "request_too_large"
    fault = httpx.post(server.url + "/v1/chat/completions", timeout=5,
                       headers={"X-SSE-Lab-Fault": "explode"},
                       json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert fault.status_code == 400


def test_reasoning_content_is_opt_in_and_streams_before_the_answer(server, client) -> None:
    messages = [{"role": "user", "content": "为什么要流式输出？"}]
    plain = raw_stream(server, {"model": "m", "messages": messages, "stream": True, "seed": 2})
    assert b"reasoning_content" not in plain  # the default stays OpenAI-exact
    kinds, thinking, answer, usage = [], "", "", None
    for chunk in client.chat.completions.create(
            model="m", messages=messages, stream=True, stream_options={"include_usage": True},
            extra_body={**FAST, "seed": 2, "enable_thinking": True}):
        usage = chunk.usage or usage
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        piece = (delta.model_extra or {}).get("reasoning_content")
        if piece:
            kinds.append("reasoning")
            thinking += piece
        if delta.content:
            kinds.append("text")
            answer += delta.content
    n = kinds.count("reasoning")
    assert n > 0 and kinds == ["reasoning"] * n + ["text"] * (len(kinds) - n)
    assert answer == assemble("openai-chat", plain).text
    assert usage.completion_tokens_details.reasoning_tokens == n
    glm = raw_stream(server, {"model": "m", "messages": messages, "stream": True, "seed": 2,
                              "thinking": {"type": "enabled"}})
    assert assemble("openai-chat", glm).reasoning == thinking
    blocking = client.chat.completions.create(model="m", messages=messages,
                                              extra_body={**FAST, "seed": 2,
                                                          "enable_thinking": True})
    assert blocking.choices[0].message.model_extra["reasoning_content"] == thinking
    assert blocking.choices[0].message.content == answer


@pytest.mark.parametrize("extra", [{"enable_thinking": "yes"}, {"thinking": {"type": "on"}},
                                   {"thinking": True},
                                   {"enable_thinking": False, "thinking": {"type": "enabled"}}])
def test_bad_thinking_switches_are_400s_naming_the_parameter(server, extra) -> None:
    response = httpx.post(server.url + "/v1/chat/completions", timeout=10, json={
        "model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True, **extra})
    assert response.status_code == 400
    assert "thinking" in response.json()["error"]["param"]
