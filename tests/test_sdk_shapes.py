"""Every event the dialect writers produce validates against the official SDKs' types."""

from __future__ import annotations

import json
from typing import get_args

import pytest
from anthropic.types import RawMessageStreamEvent
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from sse_lab.dialects import ToolSpec, make_writer, plan_turn
from sse_lab.model import SimulatedLLM

WEATHER = ToolSpec("get_weather", {"type": "object", "properties": {
    "location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius"]}}})
SCRIPTS = {
    "text": plan_turn(SimulatedLLM(), "why stream?", 1),
    "thinking": plan_turn(SimulatedLLM(), "hello", 2, thinking=True),
    "tools": plan_turn(SimulatedLLM(), "get_weather twice? get_weather", 3, tools=[WEATHER]),
    "length": plan_turn(SimulatedLLM(), "why stream?", 1, max_tokens=3),
}


def frames(dialect: str, name: str, **kw):
    s = SCRIPTS[name]
    w = make_writer(dialect, s, **kw)
    out = w.start()
    for st in s.steps:
        out += w.step(st)
    return out + w.finish()


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_chat_chunks_validate(name: str) -> None:
    fs = frames("openai-chat", name, include_usage=True)
    assert fs[-1] == (None, "[DONE]")
    for event, data in fs[:-1]:
        assert event is None
        ChatCompletionChunk.model_validate(json.loads(data), strict=False)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_responses_events_validate_and_number_in_order(name: str) -> None:
    union = get_args(get_args(ResponseStreamEvent)[0])
    by_type = {get_args(cls.model_fields["type"].annotation)[0]: cls for cls in union}
    seqs = []
    for event, data in frames("openai-responses", name, tools=[], tool_choice="auto"):
        obj = json.loads(data)
        assert obj["type"] == event
        by_type[event].model_validate(obj)  # the SDK's model for this event type
        seqs.append(obj["sequence_number"])
    assert seqs == list(range(len(seqs)))


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_anthropic_events_validate(name: str) -> None:
    adapter = TypeAdapter(RawMessageStreamEvent)
    for event, data in frames("anthropic", name):
        obj = json.loads(data)
        assert obj["type"] == event
        if event != "ping":  # ping is not part of the message-event union
            adapter.validate_python(obj)
