"""Notebook 05's checkers: stubs, slips, crashes and hangs get a verdict, never an error."""

from __future__ import annotations

import math
import time

import pytest

from sse_lab.client import record_sync
from sse_lab.exercises import check_percentile, check_tokens_per_second
from sse_lab.exercises.nb05 import percentile_cases, tps_cases
from sse_lab.metrics import percentile as reference
from sse_lab.metrics import summarize
from sse_lab.protocol import DONE


def percentile_solution(values, q):
    data = sorted(values)
    rank = (len(data) - 1) * q / 100
    lo = math.floor(rank)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (rank - lo)


def tps_solution(rec):
    times = [a.t for a in rec.arrivals if a.event.event == "message" and a.event.data != DONE]
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0])


@pytest.fixture(scope="module")
def live(server):
    return {
        f"seed {s}": record_sync(f"{server.url}/chat?prompt=tell+me&seed={s}&speed=20")
        for s in (0, 1)
    }


# -- exercise 1 ---------------------------------------------------------------------


def test_percentile_cases_match_numpy_definition() -> None:
    numpy = pytest.importorskip("numpy")
    for case in percentile_cases():
        assert case.expected == pytest.approx(float(numpy.percentile(case.values, case.q)))


def test_percentile_stub_gets_one_clear_problem() -> None:
    def stub(values, q): ...

    verdict = check_percentile(stub)
    assert not verdict.passed
    assert len(verdict.problems) == 1 and "still the stub" in verdict.problems[0]


def test_percentile_solution_passes_with_a_live_sample(live) -> None:
    itls = [x for rec in live.values() for x in summarize(rec).itl]
    verdict = check_percentile(percentile_solution, also=itls)
    assert verdict.passed, str(verdict)
    assert check_percentile(reference).passed


def test_percentile_slips_are_explained() -> None:
    def nearest(values, q):
        data = sorted(values)
        return data[round((len(data) - 1) * q / 100)]

    assert "interpolate" in " ".join(check_percentile(nearest).problems)

    def unsorted(values, q):
        rank = (len(values) - 1) * q / 100
        lo = math.floor(rank)
        hi = min(lo + 1, len(values) - 1)
        return values[lo] + (values[hi] - values[lo]) * (rank - lo)

    assert "sort the values first" in " ".join(check_percentile(unsorted).problems)

    def in_place(values, q):
        values.sort()
        return percentile_solution(values, q)

    verdict = check_percentile(in_place)
    assert not verdict.passed and "reordered the caller's list" in verdict.problems[-1]

    def fraction(values, q):
        data = sorted(values)
        return data[int((len(data) - 1) * q)]

    verdict = check_percentile(fraction)
    assert not verdict.passed and any("percent" in p for p in verdict.problems)


def test_percentile_junk_crash_and_hang_never_raise() -> None:
    assert not check_percentile(lambda v, q: "high").passed
    assert not check_percentile(lambda v, q: 1 / 0).passed
    assert "Expected a function" in check_percentile([1, 2]).problems[0]
    verdict = check_percentile(lambda v, q: time.sleep(5), timeout=0.05)
    assert not verdict.passed and "did not return within" in verdict.problems[0]


# -- exercise 2 ---------------------------------------------------------------------


def test_tps_cases_cover_none_and_rates() -> None:
    expected = [c.expected for c in tps_cases()]
    assert expected[0] == pytest.approx(10.0) and expected[1] == pytest.approx(10.0)
    assert expected[3] is None and expected[4] is None and expected[5] is None


def test_tps_stub_gets_one_clear_problem() -> None:
    def stub(rec): ...

    verdict = check_tokens_per_second(stub)
    assert not verdict.passed
    assert len(verdict.problems) == 1 and "still the stub" in verdict.problems[0]


def test_tps_solution_passes_also_on_live_recordings(live) -> None:
    verdict = check_tokens_per_second(tps_solution, also=live)
    n = len(tps_cases()) + 2
    assert verdict.passed, str(verdict)
    assert f"{n} of {n}" in verdict.notes[0]
    assert check_tokens_per_second(tps_solution, also=list(live.values())).passed


def test_tps_slips_are_explained() -> None:
    def n_over_span(rec):
        t = rec.token_times
        return len(t) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else None

    assert "n - 1 gaps" in " ".join(check_tokens_per_second(n_over_span).problems)

    def over_total(rec):
        t = rec.token_times
        return len(t) / rec.end_time if len(t) > 1 and t[-1] > t[0] else None

    assert "TTFT" in " ".join(check_tokens_per_second(over_total).problems)

    def mean_gap(rec):
        t = rec.token_times
        return (t[-1] - t[0]) / (len(t) - 1) if len(t) > 1 and t[-1] > t[0] else None

    assert "invert it" in " ".join(check_tokens_per_second(mean_gap).problems)

    def zero(rec):
        return tps_solution(rec) or 0.0

    assert "return None" in " ".join(check_tokens_per_second(zero).problems)


def test_tps_crash_gets_a_hint_and_hang_never_raises() -> None:
    def crash(rec):
        t = rec.token_times
        return (len(t) - 1) / (t[-1] - t[0])

    verdict = check_tokens_per_second(crash)
    assert not verdict.passed and any("return None" in p for p in verdict.problems)
    verdict = check_tokens_per_second(lambda rec: time.sleep(5), timeout=0.05)
    assert not verdict.passed and "did not return within" in verdict.problems[0]
    assert not check_tokens_per_second(lambda rec: "fast").passed
