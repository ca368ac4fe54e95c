"""Notebook 04's checkers: stubs, slips, crashes and hangs get a verdict, never an error."""

from __future__ import annotations

import math
import time

import pytest

from sse_lab.client import run_sync
from sse_lab.client.transports import compare_transports
from sse_lab.exercises import (
    TRANSPORT_SCENARIOS,
    TRANSPORTS,
    check_bytes_per_token,
    check_transport_choices,
)
from sse_lab.exercises.nb04 import bytes_cases
from sse_lab.protocol import DONE
from sse_lab.recording import bytes_per_token


def solution(rec):
    tokens = [a for a in rec.arrivals if a.event.event == "message" and a.event.data != DONE]
    return rec.bytes_received / len(tokens) if tokens else None


SOLVED = {
    "chat-answer": "sse",
    "post-prompt": "sse",
    "multiplayer-game": "websocket",
    "collab-editor": "websocket",
    "build-status": "poll",
    "buffering-proxy": "longpoll",
    "live-scores": "sse",
}


@pytest.fixture(scope="module")
def live(server):
    return run_sync(
        lambda: compare_transports(server.url, prompt="why stream", seed=1, speed=20,
                                   poll_interval=0.05)
    )


# -- exercise 1 ---------------------------------------------------------------------


def test_cases_agree_with_the_library() -> None:
    for case in bytes_cases():
        value = bytes_per_token(case.recording)
        assert (case.expected is None and math.isnan(value)) or case.expected == value


def test_bytes_stub_gets_one_clear_problem() -> None:
    def stub(rec): ...

    verdict = check_bytes_per_token(stub)
    assert not verdict.passed
    assert len(verdict.problems) == 1 and "still the stub" in verdict.problems[0]


def test_solution_passes_also_on_live_recordings(live) -> None:
    verdict = check_bytes_per_token(solution, recs=live)
    n = len(bytes_cases()) + 4
    assert verdict.passed, str(verdict)
    assert f"{n} of {n}" in verdict.notes[0]


def test_nan_for_no_token_is_accepted() -> None:
    assert check_bytes_per_token(lambda rec: bytes_per_token(rec)).passed


def test_common_slips_are_explained() -> None:
    text = " ".join(check_bytes_per_token(lambda r: r.bytes_received / len(r.arrivals)).problems)
    assert "every arrival" in text

    def plus_heads(rec):
        t = solution(rec)
        return None if t is None else (rec.bytes_received + rec.header_bytes) / len(rec.tokens)

    assert "already counts" in " ".join(check_bytes_per_token(plus_heads).problems)

    def per_char(rec):
        return rec.bytes_received / len(rec.text) if rec.text else None

    assert "characters" in " ".join(check_bytes_per_token(per_char).problems)

    def per_request(rec):
        return rec.bytes_received / rec.requests if rec.tokens else None

    assert "per request" in " ".join(check_bytes_per_token(per_request).problems)


def test_zero_division_gets_a_hint() -> None:
    verdict = check_bytes_per_token(lambda rec: rec.bytes_received / len(rec.tokens))
    assert not verdict.passed
    assert any("return None" in p for p in verdict.problems)


def test_junk_crash_and_hang_never_raise() -> None:
    assert not check_bytes_per_token(lambda rec: "lots").passed
    assert "Expected a function" in check_bytes_per_token(3).problems[0]
    t0 = time.monotonic()
    verdict = check_bytes_per_token(lambda rec: time.sleep(5), timeout=0.05)
    assert time.monotonic() - t0 < 2.0
    assert not verdict.passed and "did not return within" in verdict.problems[0]


def test_learner_cannot_spoil_the_cases() -> None:
    def destructive(rec):
        rec.arrivals.clear()
        rec.bytes_received = 0
        return None

    check_bytes_per_token(destructive)
    assert check_bytes_per_token(solution).passed


# -- exercise 2 ---------------------------------------------------------------------


def test_every_scenario_accepts_known_transports() -> None:
    for scenario in TRANSPORT_SCENARIOS.values():
        assert scenario.accepted and set(scenario.accepted) <= set(TRANSPORTS)
        assert scenario.why


def test_solution_passes_and_spellings_are_forgiven() -> None:
    assert check_transport_choices(SOLVED).passed
    loose = {**SOLVED, "multiplayer-game": "WebSocket", "buffering-proxy": "long polling",
             "build-status": "Polling", "chat-answer": "Server-Sent Events"}
    assert check_transport_choices(loose).passed, str(check_transport_choices(loose))


def test_choices_stub_gets_one_clear_problem() -> None:
    verdict = check_transport_choices({k: None for k in TRANSPORT_SCENARIOS})
    assert not verdict.passed and len(verdict.problems) == 1
    assert "No scenario answered" in verdict.problems[0]


def test_wrong_answers_are_explained() -> None:
    verdict = check_transport_choices({**SOLVED, "chat-answer": "websocket",
                                       "multiplayer-game": "sse"})
    assert not verdict.passed and len(verdict.problems) == 2
    assert "`chat-answer`: not websocket. Think sse" in verdict.problems[0]
    assert "both sides" in verdict.problems[1]


def test_defensible_alternative_passes_with_a_note() -> None:
    verdict = check_transport_choices({**SOLVED, "build-status": "sse"})
    assert verdict.passed
    assert any("poll every minute" in n for n in verdict.notes)


def test_junk_and_partial_answers_never_raise() -> None:
    assert not check_transport_choices(None).passed
    assert not check_transport_choices(["sse"]).passed
    verdict = check_transport_choices({**SOLVED, "collab-editor": "carrier pigeon",
                                       "live-scores": None, "extra": "sse"})
    text = " ".join(verdict.problems)
    assert "not one of" in text and "`live-scores` is not answered" in text
    assert any("extra" in n for n in verdict.notes)
