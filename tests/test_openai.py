"""The OpenAI-compatible API and the upstream relay, with the official clients."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import httpx
import openai
import pytest
from conftest import wait_until
from httpx_sse import connect_sse

from sse_lab.client import record_sync
from sse_lab.model import SimulatedLLM
from sse_lab.protocol import DONE
from sse_lab.server import LabServer, ServerConfig, start_server
from sse_lab.server.routes.openai import ChatCompletionsHandler
from sse_lab.server.upstream import ENV_API_KEY, ENV_BASE_URL, ENV_MODEL, UpstreamModel

FAST = {"speed": 100}


@pytest.fixture()
def client(server: LabServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0) as c:
        yield c


def chat_tokens(server: LabServer, prompt: str, seed: int, extra: str = "") -> list[str]:
    from urllib.parse import quote

    rec = record_sync(server.url + f"/chat?prompt={quote(prompt)}&seed={seed}&speed=100{extra}")
    assert rec.arrivals[-1].event.data == DONE
    return rec.tokens


def post(server: LabServer, body: object, path: str = "/v1/chat/completions") -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        server.url + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        assert err.headers["Content-Type"].startswith("application/json")
        return err.code, json.loads(err.read())


@pytest.mark.parametrize(
    ("prompt", "seed"), [("why stream tokens?", 3), ("你好", 0), ("tell me something", 7)]
)
def test_sdk_stream_is_exactly_the_chat_answer(server, client, prompt: str, seed: int) -> None:
    chunks = list(
        client.chat.completions.create(
            model="sse-lab-sim",
            messages=[
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "an earlier question"},
                {"role": "assistant", "content": "an earlier answer"},
                {"role": "user", "content": prompt},
            ],
            stream=True,
            seed=seed,
            extra_body=FAST,
        )
    )
    expected = chat_tokens(server, prompt, seed)
    assert expected == SimulatedLLM().tokens(prompt, seed)
    first, *middle, last = chunks
    assert first.choices[0].delta.role == "assistant" and first.choices[0].delta.content == ""
    assert [c.choices[0].delta.content for c in middle] == expected  # one chunk per token
    assert all(c.choices[0].finish_reason is None for c in [first, *middle])
    assert last.choices[0].finish_reason == "stop" and last.choices[0].delta.content is None
    assert {c.id for c in chunks} == {first.id} and first.id.startswith("chatcmpl-")
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert {c.model for c in chunks} == {"sse-lab-sim"}


def test_sdk_non_streaming_completion(server, client) -> None:
    prompt, seed = "why stream tokens?", 5
    resp = client.chat.completions.create(
        model="any-name",
        messages=[{"role": "user", "content": prompt}],
        seed=seed,
        extra_headers={"X-SSE-Lab-Speed": "100"},
    )
    tokens = chat_tokens(server, prompt, seed)
    assert resp.object == "chat.completion" and resp.model == "any-name"
    assert resp.choices[0].message.content == "".join(tokens)
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and resp.usage.completion_tokens == len(tokens)
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + len(tokens)


def test_httpx_sse_parses_the_stream_and_every_block_has_data(server) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "sse?"}], "stream": True}
    with httpx.Client(timeout=5) as http:
        with connect_sse(
            http, "POST", server.url + "/v1/chat/completions", json={**body, **FAST}
        ) as source:
            assert source.response.headers["content-type"].startswith("text/event-stream")
            datas = [sse.data for sse in source.iter_sse()]
        raw = http.post(server.url + "/v1/chat/completions", json={**body, **FAST}).content
    assert datas[-1] == DONE
    chunks = [json.loads(d) for d in datas[:-1]]  # every other event is JSON
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "".join(chat_tokens(server, "sse?", 0))
    for block in raw.decode().split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln]
        if lines:  # comment-only blocks dispatch nothing; others carry data
            assert all(ln.startswith(":") for ln in lines) or any(
                ln.startswith("data: ") for ln in lines
            ), block


def test_leaving_mid_stream_stops_generation(server, client) -> None:
    stream = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "why stream?"}],
        stream=True,
        extra_body={"speed": 1},
    )
    got = [next(iter(stream)) for _ in range(2)]
    assert got[0].choices[0].delta.role == "assistant"
    stream.close()
    wait_until(
        lambda: server.stats()["generation_tasks"] == 0 and server.stats()["open_total"] == 0
    )


def test_non_streaming_client_that_leaves_cancels_the_task(server) -> None:
    body = json.dumps(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "speed": 0.1}
    ).encode()
    with pytest.raises(httpx.ReadTimeout):  # the answer would take ~18 s
        httpx.post(server.url + "/v1/chat/completions", content=body, timeout=0.3)
    wait_until(lambda: server.stats()["generation_tasks"] == 0)


def test_max_tokens_and_include_usage(server, client) -> None:
    chunks = list(
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "why stream?"}],
            stream=True,
            max_tokens=4,
            stream_options={"include_usage": True},
            extra_body=FAST,
        )
    )
    *choice_chunks, usage_chunk = chunks
    assert usage_chunk.choices == [] and usage_chunk.usage is not None
    assert usage_chunk.usage.completion_tokens == 4
    assert choice_chunks[-1].choices[0].finish_reason == "length"
    text = "".join(c.choices[0].delta.content or "" for c in choice_chunks)
    assert text == "".join(SimulatedLLM().tokens("why stream?")[:4])


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        ([1, 2], None),
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": [{"role": "system", "content": "x"}]}, "messages"),
        ({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}, "messages[0]"),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "seed": "1"}, "seed"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "speed": -1}, "speed"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, None),
    ],
)
def test_bad_requests_get_openai_style_400(server, body: object, param: str | None) -> None:
    status, payload = post(server, body)
    assert status == 400
    error = payload["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    if param is not None:
        assert error["param"] == param


def test_sdk_raises_bad_request_with_the_message(client) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="m", messages=[], stream=True)
    assert "messages" in str(err.value)


def test_other_methods_and_the_models_list(server, client) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server.url + "/v1/chat/completions", timeout=5)
    assert err.value.code == 405 and "error" in json.loads(err.value.read())
    assert [m.id for m in client.models.list()] == ["sse-lab-sim"]
    assert client.models.retrieve("sse-lab-sim").owned_by == "sse-lab"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-17")


# -- the upstream relay ----------------------------------------------------------


@pytest.fixture(scope="module")
def upstream_server() -> Iterator[LabServer]:
    # A short prefill, so a slow relay test gets its first token quickly.
    model = SimulatedLLM(
        prefill_base=0.01,
        extra_answers={"relay": "Relayed by the upstream model, token by token."},
    )
    srv = start_server(config=ServerConfig(model=model))
    yield srv
    srv.stop()


def test_chat_relays_the_upstream_and_falls_back_when_unset(
    server, upstream_server, monkeypatch
) -> None:
    prompt = "relay please"
    relayed_model = upstream_server.config.model
    monkeypatch.setenv(ENV_BASE_URL, upstream_server.url + "/v1")
    before = upstream_server.stats()["connections_served"]
    rec = record_sync(server.url + "/chat?prompt=relay%20please&seed=2&speed=100")
    assert rec.tokens == relayed_model.tokens(prompt, 2)
    offsets = [a.event.id.rsplit(":", 1)[-1] for a in rec.token_arrivals]  # id: <answer>:<k>
    assert offsets == [str(i) for i in range(len(rec.tokens))]
    assert rec.arrivals[-1].event.data == DONE
    assert upstream_server.stats()["connections_served"] == before + 1
    assert SimulatedLLM().tokens(prompt, 2) != rec.tokens
    monkeypatch.delenv(ENV_BASE_URL)
    assert chat_tokens(server, prompt, 2) == SimulatedLLM().tokens(prompt, 2)  # simulated again
    assert upstream_server.stats()["connections_served"] == before + 1


def test_relay_resumes_by_skipping_sent_tokens(server, upstream_server, monkeypatch) -> None:
    monkeypatch.setenv(ENV_BASE_URL, upstream_server.url + "/v1/")
    url = server.url + "/chat?prompt=relay&seed=1&speed=100&drop_after=4"
    rec = record_sync(url, reconnect=True)
    assert rec.reconnects == 1
    assert rec.tokens == upstream_server.config.model.tokens("relay", 1)


def test_relay_sends_key_and_model_and_stops_upstream_when_client_leaves(
    server, upstream_server, monkeypatch
) -> None:
    seen: list[tuple[str | None, str]] = []

    class Recorder(ChatCompletionsHandler):
        async def post(self) -> None:
            body = json.loads(self.request.body)
            seen.append((self.request.headers.get("Authorization"), body["model"]))
            await super().post()

    upstream_server.add_handler(r"/keyed/v1/chat/completions", Recorder)
    monkeypatch.setenv(ENV_BASE_URL, upstream_server.url + "/keyed/v1")
    monkeypatch.setenv(ENV_API_KEY, "sk-test")
    monkeypatch.setenv(ENV_MODEL, "my-model")
    # At speed 0.1 the rest of the answer would take over 10 s.
    rec = record_sync(server.url + "/chat?prompt=relay&speed=0.1", max_events=1)
    assert rec.tokens == ["Rel"]  # cl100k: "Rel" + "aying"
    assert seen == [("Bearer sk-test", "my-model")]
    for srv in (server, upstream_server):
        wait_until(
            lambda s=srv: s.stats()["generation_tasks"] == 0 and s.stats()["open_total"] == 0
        )
    assert "sk-test" not in repr(UpstreamModel.from_env())


@pytest.mark.parametrize(
    ("suffix", "message"),
    [("/nowhere/v1", "HTTP 404"), (None, "cannot reach the upstream model")],
)
def test_upstream_errors_become_an_error_event(
    server, upstream_server, monkeypatch, suffix: str | None, message: str
) -> None:
    if suffix is None:
        import socket

        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            base = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    else:
        base = upstream_server.url + suffix
    monkeypatch.setenv(ENV_BASE_URL, base)
    rec = record_sync(server.url + "/chat?prompt=x")
    assert [a.event.event for a in rec.arrivals] == ["error"]
    assert message in rec.arrivals[0].event.data
    wait_until(lambda: server.stats()["generation_tasks"] == 0)
