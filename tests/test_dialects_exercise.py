"""Notebook 09's checker: the solution passes, typical mistakes get specific diagnoses."""

from __future__ import annotations

import json

from sse_lab.exercises import check_tool_calls
from sse_lab.exercises.nb09 import tool_call_cases


def joined_by_index(chunks):
    calls = {}
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            for frag in choice["delta"].get("tool_calls") or []:
                call = calls.setdefault(frag["index"], {"id": None, "name": None, "args": ""})
                call["id"] = frag.get("id") or call["id"]
                call["name"] = (frag.get("function") or {}).get("name") or call["name"]
                call["args"] += (frag.get("function") or {}).get("arguments") or ""
    return calls


def good(chunks):
    return [{"id": c["id"], "name": c["name"], "arguments": json.loads(c["args"])}
            for _, c in sorted(joined_by_index(chunks).items())]


def test_a_correct_answer_passes() -> None:
    verdict = check_tool_calls(good)
    assert verdict.passed, str(verdict)
    assert len(tool_call_cases()) == 5


def test_mistakes_get_specific_diagnoses() -> None:
    def stub(chunks):
        ...

    def returns_none(chunks):
        return None

    def one_call_only(chunks):  # ignores index: everything into one call
        out = {"id": None, "name": None, "args": ""}
        for chunk in chunks:
            for choice in chunk.get("choices") or []:
                for frag in choice["delta"].get("tool_calls") or []:
                    out["id"] = out["id"] or frag.get("id")
                    out["name"] = out["name"] or frag["function"].get("name")
                    out["args"] += frag["function"].get("arguments") or ""
        if not out["id"]:
            return []
        return [{"id": out["id"], "name": out["name"], "arguments": json.loads(out["args"])}]

    def overwrites_id(chunks):
        calls = joined_by_index(chunks)
        return [{"id": None, "name": c["name"], "arguments": json.loads(c["args"])}
                for _, c in sorted(calls.items())]

    def keeps_text(chunks):
        return [{"id": c["id"], "name": c["name"], "arguments": c["args"]}
                for _, c in sorted(joined_by_index(chunks).items())]

    def parses_each_piece(chunks):
        for chunk in chunks:
            for choice in chunk.get("choices") or []:
                for frag in choice["delta"].get("tool_calls") or []:
                    json.loads(frag["function"]["arguments"] or "{}")
        return []

    def crashes_on_usage(chunks):
        for chunk in chunks:
            chunk["choices"][0]["delta"]
        return good(chunks)

    expectations = {
        stub: "returned None every time",
        returns_none: "returned None",
        one_call_only: "keep one call per index",
        overwrites_id: "lost its id or name",
        keeps_text: "json.loads the joined pieces",
        parses_each_piece: "not JSON on its own",
        crashes_on_usage: "choices\": []",
    }
    for fn, phrase in expectations.items():
        verdict = check_tool_calls(fn)
        assert not verdict.passed, fn.__name__
        assert phrase in str(verdict), (fn.__name__, str(verdict))
    assert "Pass your function" in str(check_tool_calls("nope"))
