"""Random bodies at the dialect endpoints: a 4xx in the dialect's shape or a stream, never a 5xx."""

from __future__ import annotations

import random

import httpx

USER = [{"role": "user", "content": "get_weather"}]
BASE = {
    "/v1/chat/completions": {"model": "m", "messages": USER},
    "/v1/messages": {"model": "m", "max_tokens": 20, "messages": USER},
    "/v1/responses": {"model": "m", "input": "get_weather"},
}
KEYS = ["model", "messages", "input", "tools", "tool_choice", "max_tokens", "stream", "seed",
        "speed", "thinking", "reasoning", "background", "max_output_tokens", "stream_options",
        "parallel_tool_calls", "system", "instructions", "ping_interval", "n"]
INNER = ["role", "content", "type", "text", "name", "parameters", "input_schema", "function",
         "budget_tokens", "effort", "summary", "include_usage", "call_id", "output"]
ATOMS = [None, True, False, 0, -1, 1.5, 2, "", "x", "user", "function", "text", [], {}]


def value(rng: random.Random, depth: int = 0):
    r = rng.random()
    if depth > 2 or r < 0.5:
        return rng.choice(ATOMS)
    if r < 0.75:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(INNER): value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def test_random_bodies_never_get_a_server_error(server) -> None:
    rng = random.Random(2026)
    seen: dict[int, int] = {}
    with httpx.Client(timeout=10) as http:
        for _ in range(240):
            path = rng.choice(list(BASE))
            body = {**BASE[path], "speed": 500}
            for _ in range(rng.randint(1, 3)):
                body[rng.choice(KEYS)] = value(rng)
            resp = http.post(server.url + path, json=body)
            seen[resp.status_code] = seen.get(resp.status_code, 0) + 1
            assert resp.status_code < 500, (path, body, resp.text[:200])
            if resp.status_code >= 400:
                error = resp.json()
                if path == "/v1/messages":
                    assert error["type"] == "error" and error["error"]["message"]
                else:
                    assert error["error"]["message"] and "param" in error["error"]
    assert seen.get(400, 0) > 50 and seen.get(200, 0) > 20, seen
