# check: check_tool_calls(assemble_tool_calls)
import json


def assemble_tool_calls(chunks):
    """Join tool-call fragments by index; parse each call's arguments at the end."""
    calls = {}  # index -> {"id", "name", "arguments" (text so far)}
    for chunk in chunks:
        for choice in chunk.get("choices") or []:  # the usage chunk has choices: []
            for frag in (choice.get("delta") or {}).get("tool_calls") or []:
                call = calls.setdefault(frag["index"], {"id": None, "name": None, "arguments": ""})
                function = frag.get("function") or {}
                call["id"] = frag.get("id") or call["id"]  # only the first fragment has it
                call["name"] = function.get("name") or call["name"]
                call["arguments"] += function.get("arguments") or ""
    return [
        {"id": c["id"], "name": c["name"], "arguments": json.loads(c["arguments"] or "{}")}
        for _, c in sorted(calls.items())
    ]
