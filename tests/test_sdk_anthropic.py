"""The official ``anthropic`` SDK reads the lab's ``/v1/messages`` (no network)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import anthropic
import httpx
import pytest
from conftest import wait_until

from sse_lab.client import record_sync
from sse_lab.dialects import assemble
from sse_lab.protocol import DONE, parse
from sse_lab.server import LabServer

FAST = {"speed": 200}
WEATHER = {"name": "get_weather", "description": "Current weather in a city",
           "input_schema": {"type": "object", "properties": {
               "location": {"type": "string"},
               "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
               "required": ["location"]}}


@pytest.fixture()
def client(server: LabServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.url, api_key="dummy", max_retries=0) as c:
        yield c


def chat_text(server: LabServer, prompt: str, seed: int) -> str:
    rec = record_sync(server.url + f"/chat?prompt={quote(prompt)}&seed={seed}&speed=200")
    assert rec.arrivals[-1].event.data == DONE
    return "".join(rec.tokens)


def raw(server: LabServer, body: dict, **headers: str) -> bytes:
    resp = httpx.post(server.url + "/v1/messages", json={**body, "stream": True, **FAST},
                      headers=headers, timeout=10)
    assert resp.status_code == 200
    return resp.content


def agree(mine, final) -> None:
    """The assembler and the SDK's accumulated message say the same things."""
    texts = [b.text for b in final.content if b.type == "text"]
    thinking = [b.thinking for b in final.content if b.type == "thinking"]
    calls = [(b.id, b.name, b.input) for b in final.content if b.type == "tool_use"]
    assert mine.text == "".join(texts)
    assert mine.reasoning == "".join(thinking)
    assert [(c.id, c.name, c.arguments) for c in mine.tool_calls] == calls
    assert mine.finish == final.stop_reason
    assert mine.usage["output_tokens"] == final.usage.output_tokens
    assert mine.usage["input_tokens"] == final.usage.input_tokens


@pytest.mark.parametrize(("prompt", "seed"), [("why stream?", 3), ("你好", 0), ("anything", 7)])
def test_final_message_text_is_chats_answer(server, client, prompt: str, seed: int) -> None:
    body = dict(model="sse-lab-sim", max_tokens=1024, seed=seed,
                messages=[{"role": "user", "content": prompt}])
    with client.messages.stream(**{k: v for k, v in body.items() if k != "seed"},
                                extra_body={"seed": seed, **FAST}) as stream:
        deltas = list(stream.text_stream)
        final = stream.get_final_message()
    expected = chat_text(server, prompt, seed)
    assert final.content[0].text == expected == "".join(deltas)
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == len(deltas)
    agree(assemble("anthropic", raw(server, body)), final)


def test_thinking_comes_first_and_the_assembler_agrees(server, client) -> None:
    body = dict(model="m", max_tokens=4096, seed=2, messages=[{"role": "user",
                                                               "content": "why stream?"}],
                thinking={"type": "enabled", "budget_tokens": 2048})
    with client.messages.stream(**{k: v for k, v in body.items() if k != "seed"},
                                extra_body={"seed": 2, **FAST}) as stream:
        kinds = [e.type for e in stream if e.type in ("thinking", "text", "signature")]
        final = stream.get_final_message()
    assert kinds.index("text") > kinds.index("signature") > kinds.index("thinking")
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking and final.content[0].signature
    assert final.content[1].text == chat_text(server, "why stream?", 2)
    agree(assemble("anthropic", raw(server, body)), final)


def test_tool_use_input_arrives_as_a_parsed_object(server, client) -> None:
    body = dict(model="m", max_tokens=1024, seed=1, tools=[WEATHER],
                messages=[{"role": "user", "content": "Use get_weather for Tokyo"}])
    with client.messages.stream(**{k: v for k, v in body.items() if k != "seed"},
                                extra_body={"seed": 1, **FAST}) as stream:
        partial = [e.partial_json for e in stream if e.type == "input_json"]
        final = stream.get_final_message()
    (block,) = final.content
    assert final.stop_reason == "tool_use" and block.type == "tool_use"
    assert block.name == "get_weather" and isinstance(block.input, dict)
    assert set(block.input) == {"location", "unit"} and len(partial) > 5
    assert "".join(partial).startswith("{") and block.id.startswith("toolu_")
    agree(assemble("anthropic", raw(server, body)), final)
    blocking = client.messages.create(**{k: v for k, v in body.items() if k != "seed"},
                                      extra_body={"seed": 1, **FAST})
    assert blocking.content[0].input == block.input and blocking.stop_reason == "tool_use"
    forced = client.messages.create(model="m", max_tokens=100, tools=[WEATHER],
                                    tool_choice={"type": "tool", "name": "get_weather"},
                                    messages=[{"role": "user", "content": "hello"}],
                                    extra_body=FAST)
    assert forced.content[0].type == "tool_use"
    answered = client.messages.create(
        model="m", max_tokens=100, tools=[WEATHER], extra_body=FAST,
        messages=[{"role": "user", "content": "Use get_weather for Tokyo"},
                  {"role": "assistant", "content": [{"type": "tool_use", "id": block.id,
                                                     "name": "get_weather", "input": {}}]},
                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id,
                                                "content": "21 °C"}]}])
    assert answered.stop_reason == "end_turn" and answered.content[0].type == "text"


def test_overload_inside_the_200_is_the_sdks_error_and_keeps_the_partial_text(
    server, client
) -> None:
    shown = []
    with pytest.raises(anthropic.APIStatusError) as err:
        with client.messages.stream(
            model="m", max_tokens=1024, messages=[{"role": "user", "content": "why stream?"}],
            extra_body=FAST, extra_headers={"X-SSE-Lab-Fault": "overloaded; after=5"},
        ) as stream:
            for text in stream.text_stream:
                shown.append(text)
    assert err.value.status_code == 200  # the error came inside a successful response
    assert err.value.body["error"]["type"] == "overloaded_error"
    assert len(shown) == 5
    mine = assemble("anthropic", raw(server, {"model": "m", "max_tokens": 1024, "messages": [
        {"role": "user", "content": "why stream?"}]}, **{"X-SSE-Lab-Fault": "overloaded; after=5"}))
    assert mine.text == "".join(shown) and mine.finish is None
    assert mine.error == err.value.body["error"]


def test_pings_keep_a_slow_stream_alive(server) -> None:
    body = {"model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}],
            "stream": True, "speed": 2, "ping_interval": 0.02}
    data = httpx.post(server.url + "/v1/messages", json=body, timeout=30).content
    kinds = [e.event for e in parse(data)]
    assert kinds[:2] == ["message_start", "ping"]
    assert kinds.count("ping") > 3  # more during the slow start and the gaps
    assert kinds[-2:] == ["message_delta", "message_stop"]


def test_leaving_mid_stream_stops_generation(server, client) -> None:
    with client.messages.stream(model="m", max_tokens=100, extra_body={"speed": 1},
                                messages=[{"role": "user", "content": "why stream?"}]) as s:
        next(iter(s.text_stream))
    wait_until(lambda: server.stats()["generation_tasks"] == 0
               and server.stats()["open_total"] == 0)


def test_errors_in_anthropics_shape(server, client) -> None:
    ok = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    bad = [
        ({"max_tokens": None}, "max_tokens"),
        ({"model": ""}, "model"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages.0.content"),
        ({"thinking": {"type": "enabled", "budget_tokens": 100}}, "budget_tokens"),
        ({"tools": [{"name": "t"}]}, "tools.0.input_schema"),
        ({"tool_choice": {"type": "tool", "name": "nope"}}, "tool_choice.name"),
        ({"stream": "yes"}, "stream"),
    ]
    for extra, field in bad:
        resp = httpx.post(server.url + "/v1/messages", json={**ok, **extra}, timeout=5)
        assert resp.status_code == 400, extra
        body = resp.json()
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
        assert field in body["error"]["message"], (field, body)
    not_json = httpx.post(server.url + "/v1/messages", content=b"{nope", timeout=5)
    assert not_json.status_code == 400
    with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
        client.messages.create(model="m", max_tokens=0, messages=ok["messages"])
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(**ok, extra_headers={"X-SSE-Lab-Fault": "rate_limit"})
    huge = httpx.post(server.url + "/v1/messages", timeout=5,
                      content=b'{"x": "' + b"a" * (1024 * 1024 + 10) + b'"}')
    assert huge.status_code == 413 and huge.json()["error"]["type"] == "request_too_large"
    missing = httpx.post(server.url + "/v1/messages/batches", json=ok, timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    wrong_method = httpx.get(server.url + "/v1/messages", timeout=5)
    assert wrong_method.status_code == 405 and wrong_method.json()["type"] == "error"
