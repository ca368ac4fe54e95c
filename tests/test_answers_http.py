"""``/chat`` as a reader of an answer's log, on the default in-memory store."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from conftest import wait_until

from sse_lab.client import record_sync
from sse_lab.model import SimulatedLLM
from sse_lab.protocol import DONE
from sse_lab.server import ServerConfig, start_server
from sse_lab.server.answers import AnswersConfig

PROMPT = "explain%20server-sent%20events"


@pytest.fixture(scope="module")
def server():
    srv = start_server(config=ServerConfig(retry_ms=100))
    yield srv
    srv.stop()


def _request(url: str, method: str = "GET", headers: dict | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method, headers=headers or {},
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_resume_by_event_id_replays_the_log_not_the_model(server) -> None:
    url = server.url + f"/chat?prompt={PROMPT}&seed=3&speed=50&policy=continue"
    first = record_sync(url, max_events=6)
    last_id = first.arrivals[-1].event.id
    answer, k = last_id.split(":")
    rest = record_sync(url, headers={"Last-Event-ID": last_id})
    expected = SimulatedLLM().tokens("explain server-sent events", 3)
    assert first.tokens + rest.tokens == expected
    assert rest.token_arrivals[0].event.id == f"{answer}:{int(k) + 1}"
    assert rest.arrivals[-1].event.data == DONE
    # The same through the query (a page that recreates its EventSource).
    again = record_sync(server.url + f"/chat?answer={answer}&after={k}")
    assert again.tokens == rest.tokens


def test_an_unknown_answer_is_a_404_and_past_the_end_a_204(server) -> None:
    status, body = _request(server.url + "/chat", headers={"Last-Event-ID": "feedbeef:3"})
    assert status == 404 and b"feedbeef" in body, body
    rec = record_sync(server.url + "/chat?prompt=hi&speed=100")
    last = rec.token_arrivals[-1].event.id
    answer, k = last.split(":")
    wait_until(lambda: _state(server, answer)["ended"])
    done_offset = _state(server, answer)["last"]
    status, _ = _request(server.url + "/chat", headers={"Last-Event-ID": f"{answer}:{done_offset}"})
    assert status == 204, "nothing left: EventSource must not reconnect"
    assert _request(server.url + "/chat?policy=maybe")[0] == 400


def _state(server, answer: str) -> dict:
    status, body = _request(server.url + f"/answers/{answer}")
    assert status == 200, body
    return json.loads(body)


def test_stop_ends_the_answer_for_its_readers(server) -> None:
    url = server.url + f"/chat?prompt={PROMPT}&seed=1&speed=5"
    rec = record_sync(url, max_events=2)
    answer = rec.token_arrivals[0].event.id.split(":")[0]
    status, body = _request(server.url + f"/answers/{answer}/stop", method="POST")
    assert status == 200 and json.loads(body)["stopped"] is True
    rest = record_sync(url, headers={"Last-Event-ID": rec.token_arrivals[-1].event.id})
    assert rest.arrivals[-1].event.event == "stopped"
    assert _state(server, answer)["status"] == "stopped"
    assert _request(server.url + "/answers/feedbeef/stop", method="POST")[0] == 404


def test_stats_count_tokens_nobody_read_per_policy() -> None:
    server = start_server(config=ServerConfig(retry_ms=100))  # its own counters
    try:
        _unread_per_policy(server)
    finally:
        server.stop()


def _unread_per_policy(server) -> None:
    before = server.stats()["answers"]
    for policy in ("continue", "cancel"):
        record_sync(server.url + f"/chat?prompt={PROMPT}&seed=2&speed=40&policy={policy}",
                    max_events=3)
    wait_until(lambda: server.stats()["answers"]["generating"] == 0, timeout=10)
    after = server.stats()["answers"]
    total = len(SimulatedLLM().tokens("explain server-sent events", 2))
    unread = {p: n - before["tokens_unread"][p] for p, n in after["tokens_unread"].items()}
    assert unread["continue"] >= total // 2, "continue: the answer completed unread"
    assert unread["cancel"] <= 3, "cancel: generation paused as the reader left"


def test_the_default_policy_is_cancel_and_resume_restarts_exactly() -> None:
    assert AnswersConfig().policy == "cancel"
    srv = start_server(config=ServerConfig(retry_ms=100))
    try:
        url = srv.url + f"/chat?prompt={PROMPT}&seed=4&speed=40"
        first = record_sync(url, max_events=4)
        wait_until(lambda: srv.stats()["answers"]["generating"] == 0)
        rest = record_sync(url, headers={"Last-Event-ID": first.arrivals[-1].event.id})
        assert first.tokens + rest.tokens == SimulatedLLM().tokens("explain server-sent events", 4)
        assert srv.stats()["answers"]["resumed_paused"] == 1
    finally:
        srv.stop()
