"""Notebook 01's checkers: stubs, slips, crashes and hangs get a verdict, never an error."""

from __future__ import annotations

import time

import pytest

from sse_lab.client import fetch_blocking_sync, record_sync
from sse_lab.exercises import check_idle_time, check_time_to_first_token
from sse_lab.exercises.nb01 import idle_cases, ttft_cases
from sse_lab.metrics import reader_idle_time, summarize
from sse_lab.protocol import DONE


def ttft_solution(rec):
    for a in rec.arrivals:
        if a.event.event == "message" and a.event.data != DONE:
            return a.t
    return None


def idle_solution(points, words_per_s=4.0):
    clock = idle = 0.0
    shown = 0
    for t, words in points:
        if words <= shown:
            continue
        if clock < t:
            idle += t - clock
            clock = t
        clock += (words - shown) / words_per_s
        shown = words
    return idle


@pytest.fixture(scope="module")
def live(server):
    url = "?prompt=why+stream&seed=1&speed=20"
    return {
        "streaming": record_sync(server.url + "/chat" + url),
        "blocking": fetch_blocking_sync(server.url + "/complete" + url),
    }


# -- exercise 1 ------------------------------------------------------------------


def test_ttft_cases_agree_with_summarize() -> None:
    for case in ttft_cases():
        assert summarize(case.recording).ttft == case.expected, case.name


def test_ttft_stub_gets_one_clear_problem() -> None:
    def stub(rec): ...

    verdict = check_time_to_first_token(stub)
    assert not verdict.passed
    assert len(verdict.problems) == 1 and "still the stub" in verdict.problems[0]


def test_ttft_solution_passes_also_on_live_recordings(live) -> None:
    verdict = check_time_to_first_token(ttft_solution, also=live)
    assert verdict.passed, str(verdict)
    assert f"{len(ttft_cases()) + 2} of {len(ttft_cases()) + 2}" in verdict.notes[0]


def test_ttft_first_arrival_slip_is_explained() -> None:
    verdict = check_time_to_first_token(lambda rec: rec.arrivals[0].t)
    text = " ".join(verdict.problems)
    assert not verdict.passed
    assert "`status` event" in text and "`[DONE]` as a token" in text
    assert "IndexError" in text and "Return None" in text


def test_ttft_milliseconds_and_zero_are_explained() -> None:
    def in_ms(rec):
        t = ttft_solution(rec)
        return None if t is None else t * 1000

    assert "milliseconds" in " ".join(check_time_to_first_token(in_ms).problems)

    def zero(rec):
        t = ttft_solution(rec)
        return 0.0 if t is None else t

    assert "return None when no token arrived" in " ".join(check_time_to_first_token(zero).problems)


def test_ttft_junk_crash_and_hang_never_raise() -> None:
    assert not check_time_to_first_token(lambda rec: "soon").passed
    assert not check_time_to_first_token(lambda rec: 1 / 0).passed
    assert "Expected a function" in check_time_to_first_token(42).problems[0]
    t0 = time.monotonic()
    verdict = check_time_to_first_token(lambda rec: time.sleep(5), timeout=0.05)
    assert time.monotonic() - t0 < 2.0
    assert not verdict.passed and "did not return within" in verdict.problems[0]


def test_ttft_learner_cannot_spoil_the_cases() -> None:
    def destructive(rec):
        rec.arrivals.clear()
        return None

    check_time_to_first_token(destructive)
    assert check_time_to_first_token(ttft_solution).passed


# -- exercise 2 ------------------------------------------------------------------


def test_idle_cases_cover_the_interesting_shapes() -> None:
    cases = {c.name: c.expected for c in idle_cases()}
    assert cases["a blocking answer: 40 words at once after 2 s"] == pytest.approx(2.0)
    assert cases["nothing arrived at all"] == 0.0
    assert any(v > 2 for k, v in cases.items() if "stall" in k)


def test_idle_stub_gets_one_clear_problem() -> None:
    def stub(points, words_per_s=4.0): ...

    verdict = check_idle_time(stub)
    assert not verdict.passed
    assert len(verdict.problems) == 1 and "still the stub" in verdict.problems[0]


def test_idle_solution_passes_also_on_live_recordings(live) -> None:
    verdict = check_idle_time(idle_solution, race=live)
    assert verdict.passed, str(verdict)
    assert idle_solution([(0.5, 3)]) == reader_idle_time([(0.5, 3)])


def test_idle_common_slips_are_explained() -> None:
    def first_word_only(points, words_per_s=4.0):
        return next((t for t, w in points if w > 0), 0.0)

    text = " ".join(check_idle_time(first_word_only).problems)
    assert "first word only" in text and "catch up" in text

    def last_update(points, words_per_s=4.0):
        return points[-1][0] if points else 0.0

    text = " ".join(check_idle_time(last_update).problems)
    assert "last words appeared" in text

    def ignores_speed(points, words_per_s=4.0):
        return idle_solution(points, 4.0)

    verdict = check_idle_time(ignores_speed)
    assert not verdict.passed and "1 word/s" in verdict.problems[0]


def test_idle_crash_on_empty_and_hang_never_raise() -> None:
    verdict = check_idle_time(lambda points, wps: points[0][0])
    assert not verdict.passed
    assert any("empty list must give 0.0" in p for p in verdict.problems)
    verdict = check_idle_time(lambda points, wps: time.sleep(5), timeout=0.05)
    assert not verdict.passed and "did not return within" in verdict.problems[0]
    assert not check_idle_time(lambda points, wps: "a while").passed
    assert not check_idle_time(None).passed
