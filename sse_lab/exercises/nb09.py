"""Checker for notebook 09's exercise: assemble streamed tool calls (OpenAI Chat Completions).

* :func:`check_tool_calls` -- the learner's ``assemble_tool_calls(chunks)``
  gets the parsed ``chat.completion.chunk`` objects of one stream (dicts, in
  order, the usage chunk included) and returns the finished tool calls:
  ``[{"id": ..., "name": ..., "arguments": <parsed JSON>}, ...]`` in
  ``index`` order (``[]`` when the model answered with text).

The streams come from the lab's own Chat Completions writer (fragments cut
mid-key, mid-string and inside ``\\uXXXX`` escapes), plus one hand-made
stream whose two calls' fragments interleave. Wrong answers get a diagnosis
in plain words; the learner's code runs in a helper thread with a time limit,
so nothing here raises.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sse_lab.dialects import ToolSpec, make_writer, plan_turn
from sse_lab.exercises.result import CheckResult, result
from sse_lab.exercises.sandbox import grade
from sse_lab.i18n import N_, tr
from sse_lab.model import SimulatedLLM

__all__ = ["check_tool_calls", "tool_call_cases"]

_EXERCISE = N_("assemble_tool_calls(chunks): join tool-call fragments by index, then "
               "parse")

_WEATHER = ToolSpec("get_weather", {"type": "object", "properties": {
    "location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius"]}}})
_CLOCK = ToolSpec("get_time", {"type": "object", "properties": {
    "city": {"type": "string"}, "utc_offset": {"type": "integer"}}})


@dataclass(frozen=True)
class Case:
    """One stream to assemble and the calls it holds."""

    name: str
    chunks: list[dict[str, Any]]
    expected: list[dict[str, Any]]


def _served(name: str, prompt: str, tools: list[ToolSpec], seed: int,
            usage: bool = False) -> Case:
    script = plan_turn(SimulatedLLM(), prompt, seed, tools=tools)
    writer = make_writer("openai-chat", script, include_usage=usage)
    frames = writer.start()
    for step in script.steps:
        frames += writer.step(step)
    frames += writer.finish()
    chunks = [json.loads(data) for _, data in frames if data != "[DONE]"]
    expected = [{"id": "call_" + c["call_id"], "name": c["name"],
                 "arguments": json.loads(c["arguments"])} for c in script.tool_calls]
    return Case(name, chunks, expected)


def _interleaved() -> Case:
    def chunk(frags: list[dict[str, Any]] | None, finish: str | None = None) -> dict[str, Any]:
        delta = {"tool_calls": frags} if frags else {}
        return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [
            {"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [
        chunk([{"index": 0, "id": "call_a", "type": "function",
                "function": {"name": "get_weather", "arguments": ""}}]),
        chunk([{"index": 1, "id": "call_b", "type": "function",
                "function": {"name": "get_time", "arguments": ""}}]),
        chunk([{"index": 0, "function": {"arguments": '{"lo'}}]),
        chunk([{"index": 1, "function": {"arguments": '{"ci'}}]),
        chunk([{"index": 0, "function": {"arguments": 'catio'}},
               {"index": 1, "function": {"arguments": 'ty": "Z\\u00'}}]),
        chunk([{"index": 0, "function": {"arguments": 'n": "T'}}]),
        chunk([{"index": 1, "function": {"arguments": 'fcrich"}'}}]),
        chunk([{"index": 0, "function": {"arguments": 'okyo"}'}}]),
        chunk(None, "tool_calls"),
    ]
    expected = [{"id": "call_a", "name": "get_weather", "arguments": {"location": "Tokyo"}},
                {"id": "call_b", "name": "get_time", "arguments": {"city": "Zürich"}}]
    return Case(N_("two calls whose fragments interleave"), chunks, expected)


def tool_call_cases() -> list[Case]:
    """The streams the checker uses (also handy to try your function on)."""
    return [
        _served(N_("one call"), "use get_weather for Tokyo", [_WEATHER], 1),
        _served(N_("two parallel calls"), "get_weather and get_time, please", [_WEATHER, _CLOCK],
                2),
        _interleaved(),
        _served(N_("a call followed by the usage chunk (choices: [])"), "get_time now?", [_CLOCK],
                3, usage=True),
        _served(N_("a text answer (no tool call at all)"), "why stream?", [_WEATHER], 4),
    ]


def _hint(case: Case, exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError) and exc.msg == "Extra data":
        return tr(" The text you parsed holds one JSON object after another ({example}): "
                  "fragments of different calls were joined together. Each fragment names its "
                  "call with \"index\"; keep one call per index.", example="'...}{...'")
    if isinstance(exc, json.JSONDecodeError):
        return tr(" A fragment such as {example} is not JSON on its own: join every piece of "
                  "a call first, and call json.loads once the stream has ended.",
                  example="'{\"lo'")
    if isinstance(exc, (IndexError, KeyError)) and "usage" in case.name:
        return tr(" The usage chunk has \"choices\": [] and no delta: skip chunks without "
                  "choices.")
    if isinstance(exc, (KeyError, TypeError)):
        return tr(" Only the first fragment of a call has \"id\", \"type\" and "
                  "\"function\"[\"name\"]; later ones have just \"index\" and a piece of "
                  "\"arguments\": read them with .get().")
    return ""


def _judge(case: Case, got: Any) -> str | None:
    where = tr("On '{case}'", case=tr(case.name))
    if not isinstance(got, list):
        return tr("{where} you returned {kind}; return a list of dicts, one per call.",
                  where=where, kind=type(got).__name__)
    if not case.expected and got:
        return tr("{where} there is no tool call (the model answered with text); return [].",
                  where=where)
    if any(not isinstance(c, dict) or not {"id", "name", "arguments"} <= set(c) for c in got):
        return (tr("{where} each call must be a dict with the keys 'id', 'name' and "
                   "'arguments'; got {got}.", where=where, got=repr(got[:1])))
    if len(got) < len(case.expected):
        return (tr("{where} you returned {calls} call(s) for {expected}: each fragment names "
                   'its call with "index"; keep one call per index.',
                   where=where, calls=len(got), expected=len(case.expected)))
    if len(got) > len(case.expected):
        return (tr('{where} you returned {calls} calls for {expected}: a fragment without an "id" '
                   "continues the call with the same index, it does not start a new one.",
                   where=where, calls=len(got), expected=len(case.expected)))
    for want, have in zip(case.expected, got, strict=True):
        if isinstance(have["arguments"], str):
            return (tr("{where} 'arguments' is still text ({text}...): json.loads the joined "
                       "pieces so it is an object.", where=where,
                       text=repr(have["arguments"][:30])))
        if have["id"] is None or have["name"] is None:
            return (tr("{where} a call lost its id or name: only the first fragment carries "
                       "them; do not overwrite them with the missing values of later "
                       "fragments.", where=where))
        if (have["id"], have["name"]) != (want["id"], want["name"]):
            return (tr("{where} expected {name} ({id}) in index order, got {got_name} "
                       "({got_id}).", where=where, name=repr(want["name"]), id=want["id"],
                       got_name=repr(have["name"]), got_id=have["id"]))
        if have["arguments"] != want["arguments"]:
            return (tr("{where} the arguments of {name} should be {arguments}, got "
                       "{got_arguments}: join the pieces of each index in order, and only those.",
                       where=where, name=repr(want['name']), arguments=repr(want['arguments']),
                       got_arguments=repr(have['arguments'])))
    return None


def check_tool_calls(assemble_tool_calls: Callable[[list[dict[str, Any]]], Any]) -> CheckResult:
    """Grade ``assemble_tool_calls(chunks) -> [{"id", "name", "arguments"}]`` on five streams."""
    if not callable(assemble_tool_calls):
        return result(tr(_EXERCISE), [tr("Pass your function itself: "
                                         "check_tool_calls(assemble_tool_calls).")])
    cases = tool_call_cases()
    g = grade(assemble_tool_calls, cases,
              lambda case: ([json.loads(json.dumps(c)) for c in case.chunks],),
              _judge, hint=_hint)
    if g.stub:
        return result(tr(_EXERCISE), [tr("Your function still returns ... : write its body.")])
    if g.all_none:
        return result(tr(_EXERCISE), [tr("Your function returned None every time (is its body "
                                         "still the stub's `...`?): return the list of calls.")])
    notes = [tr("{passed} of {total} streams assembled correctly.", passed=g.passed,
                total=len(cases))]
    if not g.problems:
        notes.append(tr("Every fragment was joined by index, ids and names survived, and the "
                        "arguments parse: this is what the openai SDK's stream helper does."))
    return result(tr(_EXERCISE), g.problems, notes)
