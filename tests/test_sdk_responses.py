"""The official ``openai`` SDK reads the lab's Responses API, and resumes a background one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import openai
import pytest
from conftest import wait_until

from sse_lab.client import record_sync
from sse_lab.dialects import assemble
from sse_lab.protocol import DONE, parse
from sse_lab.server import LabServer
from sse_lab.server.routes.openai import APIError
from sse_lab.server.routes.responses import ResponseStore, Run

FAST = {"speed": 200}
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {
               "location": {"type": "string"}, "unit": {"type": "string",
                                                        "enum": ["celsius", "fahrenheit"]}},
               "required": ["location"]}}


@pytest.fixture()
def client(server: LabServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.url + "/v1", api_key="dummy", max_retries=0) as c:
        yield c


def chat_text(server: LabServer, prompt: str, seed: int) -> str:
    rec = record_sync(server.url + f"/chat?prompt={quote(prompt)}&seed={seed}&speed=200")
    assert rec.arrivals[-1].event.data == DONE
    return "".join(rec.tokens)


def raw(server: LabServer, body: dict) -> bytes:
    resp = httpx.post(server.url + "/v1/responses", json={**body, "stream": True, **FAST},
                      timeout=10)
    assert resp.status_code == 200
    return resp.content


def sdk_view(events) -> dict:
    """What the SDK's typed events say: text, reasoning, calls, usage, status."""
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    reasoning = "".join(e.delta for e in events
                        if e.type == "response.reasoning_summary_text.delta")
    final = events[-1].response
    calls = [(o.call_id, o.name, json.loads(o.arguments)) for o in final.output
             if o.type == "function_call"]
    return {"text": text, "reasoning": reasoning, "calls": calls, "status": final.status,
            "usage": final.usage.model_dump(exclude_none=True) if final.usage else None}


def mine_view(data: bytes) -> dict:
    a = assemble("openai-responses", data)
    return {"text": a.text, "reasoning": a.reasoning, "status": a.finish, "usage": a.usage,
            "calls": [(c.id, c.name, c.arguments) for c in a.tool_calls]}


@pytest.mark.parametrize(("prompt", "seed"), [("why stream?", 3), ("你好", 0), ("anything", 7)])
def test_streamed_text_is_chats_answer(server, client, prompt: str, seed: int) -> None:
    body = dict(model="gpt-4.1", input=prompt)
    events = list(client.responses.create(stream=True, **body, extra_body={"seed": seed, **FAST}))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    view = sdk_view(events)
    assert view["text"] == chat_text(server, prompt, seed) == events[-1].response.output_text
    assert mine_view(raw(server, {**body, "seed": seed})) == view
    with client.responses.stream(**body, extra_body={"seed": seed, **FAST}) as stream:
        final = stream.get_final_response()
    assert final.output_text == view["text"]
    blocking = client.responses.create(**body, extra_body={"seed": seed, **FAST})
    assert blocking.status == "completed" and blocking.output_text == view["text"]


def test_no_done_sentinel_and_typed_event_lines(server) -> None:
    data = raw(server, {"model": "m", "input": "hi"})
    events = parse(data)
    assert all(e.data != DONE for e in events)
    assert all(e.event == json.loads(e.data)["type"] for e in events)


def test_function_call_items_and_the_assembler_agrees(server, client) -> None:
    body = dict(model="m", input="use get_weather for Paris", tools=[WEATHER])
    events = list(client.responses.create(stream=True, **body, extra_body={"seed": 1, **FAST}))
    pieces = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert len(pieces) > 5 and "".join(pieces) == done[0].arguments
    view = sdk_view(events)
    ((call_id, name, args),) = view["calls"]
    assert name == "get_weather" and set(args) == {"location", "unit"}
    assert call_id.startswith("call_")
    assert mine_view(raw(server, {**body, "seed": 1})) == view
    with client.responses.stream(**body, extra_body={"seed": 1, **FAST}) as stream:
        final = stream.get_final_response()
    assert json.loads(final.output[0].arguments) == args
    answered = client.responses.create(model="m", tools=[WEATHER], extra_body=FAST, input=[
        {"role": "user", "content": "use get_weather for Paris"},
        {"type": "function_call", "call_id": call_id, "name": name, "arguments": "{}"},
        {"type": "function_call_output", "call_id": call_id, "output": "18 °C"}])
    assert answered.output_text and answered.output[0].type == "message"


def test_reasoning_summary_streams_first_hidden_reasoning_only_costs_time(server,
                                                                          client) -> None:
    events = list(client.responses.create(model="m", input="why stream?", stream=True,
                                          reasoning={"effort": "low", "summary": "auto"},
                                          extra_body={"seed": 2, **FAST}))
    types = [e.type for e in events]
    assert types.index("response.reasoning_summary_text.delta") < types.index(
        "response.output_text.delta")
    view = sdk_view(events)
    assert view["reasoning"] and view["usage"]["output_tokens_details"]["reasoning_tokens"] > 0
    hidden = list(client.responses.create(model="m", input="why stream?", stream=True,
                                          reasoning={"effort": "low"},
                                          extra_body={"seed": 2, **FAST}))
    assert not [e for e in hidden if "reasoning_summary" in e.type]
    assert hidden[2].item.type == "reasoning" and sdk_view(hidden)["text"] == view["text"]
    body = {"model": "m", "input": "why stream?", "seed": 2,
            "reasoning": {"effort": "low", "summary": "auto"}}
    assert mine_view(raw(server, body)) == view


def test_max_output_tokens_gives_incomplete(server, client) -> None:
    events = list(client.responses.create(model="m", input="why stream?", stream=True,
                                          max_output_tokens=4, extra_body=FAST))
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"
    assert len([e for e in events if e.type == "response.output_text.delta"]) == 4


def test_background_resume_starting_after_gives_the_rest_without_duplicates(server,
                                                                           client) -> None:
    prompt, seed = "why stream tokens?", 4
    first = []
    stream = client.responses.create(model="m", input=prompt, stream=True, background=True,
                                     extra_body={"seed": seed, "speed": 20})
    for event in stream:
        first.append(event)
        if event.sequence_number == 12:
            break
    stream.close()  # the reader leaves; the background response goes on
    rid = first[0].response.id
    assert first[0].response.status == "queued" and first[0].response.background
    rest = list(client.responses.retrieve(rid, stream=True, starting_after=12))
    assert rest[0].sequence_number == 13
    seqs = [e.sequence_number for e in first + rest]
    assert seqs == list(range(len(seqs)))  # no gap, no duplicate
    text = "".join(e.delta for e in first + rest if e.type == "response.output_text.delta")
    assert text == chat_text(server, prompt, seed)
    assert rest[-1].type == "response.completed"
    again = list(client.responses.retrieve(rid, stream=True))  # the whole log, from 0
    assert [e.sequence_number for e in again] == seqs
    assert client.responses.retrieve(rid).status == "completed"


def test_background_without_a_stream_polls_to_completion(server, client) -> None:
    queued = client.responses.create(model="m", input="hi", background=True,
                                     extra_body={"seed": 0, "speed": 50})
    assert queued.status == "queued"
    wait_until(lambda: client.responses.retrieve(queued.id).status == "completed", timeout=10)
    assert client.responses.retrieve(queued.id).output_text == chat_text(server, "hi", 0)
    slow = client.responses.create(model="m", input="hi", background=True,
                                   extra_body={"speed": 0.5})
    assert client.responses.cancel(slow.id).status == "cancelled"
    wait_until(lambda: server.stats()["generation_tasks"] == 0)


def test_fault_gives_response_failed_inside_the_200(server, client) -> None:
    events = list(client.responses.create(
        model="m", input="why stream?", stream=True, extra_body=FAST,
        extra_headers={"X-SSE-Lab-Fault": "overloaded; after=3"}))
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.message == "Overloaded"
    data = httpx.post(server.url + "/v1/responses", timeout=5,
                      headers={"X-SSE-Lab-Fault": "overloaded; after=3"},
                      json={"model": "m", "input": "why stream?", "stream": True, **FAST}).content
    got = assemble("openai-responses", data)
    assert got.finish == "failed" and got.error["message"] == "Overloaded"
    assert got.text == sdk_view(events)["text"] and len(got.text) > 0


def test_errors_in_openais_shape(server, client) -> None:
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_nope")
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model="m", input="x",
                                extra_headers={"X-SSE-Lab-Fault": "rate_limit"})
    ok = {"model": "m", "input": "x"}
    bad = [
        ({"input": ""}, "input"), ({"input": 5}, "input"), ({"model": None}, "model"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"input": [{"role": "user", "content": [{"type": "input_image"}]}]},
         "input[0].content[0]"),
        ({"stream": "yes"}, "stream"), ({"background": 1}, "background"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"reasoning": {"effort": "max"}}, "reasoning.effort"),
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"background": True, "store": False}, "store"),
    ]
    for extra, param in bad:
        resp = httpx.post(server.url + "/v1/responses", json={**ok, **extra}, timeout=5)
        assert resp.status_code == 400, extra
        assert resp.json()["error"]["param"] == param, extra
    created = client.responses.create(model="m", input="x", background=True, extra_body=FAST)
    for query in ("stream=true&starting_after=x", "stream=maybe", "stream=true&starting_after=-5"):
        resp = httpx.get(server.url + f"/v1/responses/{created.id}?{query}", timeout=5)
        assert resp.status_code == 400 and resp.json()["error"]["param"], query
    huge = httpx.post(server.url + "/v1/responses", timeout=5,
                      content=b'{"x": "' + b"a" * (1024 * 1024 + 10) + b'"}')
    assert huge.status_code == 413


def test_the_store_is_bounded_and_forgets_after_the_ttl() -> None:
    async def main() -> None:
        store = ResponseStore(max_stored=2, ttl=0.0)
        runs = [Run(f"resp_{i}", writer=None) for i in range(3)]  # type: ignore[arg-type]
        store.add(runs[0])
        store.add(runs[1])
        with pytest.raises(APIError) as err:
            store.add(runs[2])  # both still running
        assert err.value.status_code == 429
        runs[0].end()
        store.add(runs[2])  # the ended one makes room (its TTL is 0)
        assert list(store.runs) == ["resp_1", "resp_2"]
        with pytest.raises(APIError):
            store.get("resp_0")

    asyncio.run(main())
