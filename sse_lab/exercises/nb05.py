"""Checkers for notebook 05's exercises (a percentile, tokens per second).

* :func:`check_percentile` -- the learner's ``percentile(values, q)`` against
  :func:`sse_lab.metrics.percentile` (linear interpolation, as numpy), on
  unsorted samples, single values, the ends, and live inter-token gaps.
* :func:`check_tokens_per_second` -- the learner's ``tokens_per_second(rec)``
  against :func:`sse_lab.metrics.summarize`'s ``tokens_per_s``.

The learner's function runs in a helper thread with a time limit, so code that
raises, hangs or returns junk gets a NOT YET verdict, never an error.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sse_lab.exercises.result import CheckResult, result
from sse_lab.exercises.sandbox import TIME_LIMIT, grade
from sse_lab.exercises.sandbox import is_number as _is_number
from sse_lab.i18n import N_, tr
from sse_lab.metrics import percentile, summarize
from sse_lab.protocol import DONE, Event
from sse_lab.recording import Arrival, Recording

__all__ = [
    "check_percentile",
    "check_tokens_per_second",
    "percentile_cases",
    "tps_cases",
]

# -- exercise 1: percentile -----------------------------------------------------------


@dataclass(frozen=True)
class PercentileCase:
    name: str
    values: tuple[float, ...]
    q: float

    @property
    def expected(self) -> float:
        return percentile(self.values, self.q)


def percentile_cases() -> list[PercentileCase]:
    """The samples :func:`check_percentile` tries."""
    itl = (0.081, 0.052, 0.147, 0.066, 0.120, 0.093, 0.058, 0.139, 0.071, 0.104)
    return [
        PercentileCase(N_("the median of [15, 20, 35, 40, 50]"), (15, 20, 35, 40, 50), 50),
        PercentileCase(N_("p40 of [15, 20, 35, 40, 50] (between two values)"), (15, 20, 35, 40, 50),
                       40),
        PercentileCase(N_("the median of an even count [1, 2, 3, 4]"), (1, 2, 3, 4), 50),
        PercentileCase(N_("p90 of ten unsorted gaps"), itl, 90),
        PercentileCase(N_("p99 of ten unsorted gaps"), itl, 99),
        PercentileCase(N_("p0 (the minimum) of unsorted gaps"), itl, 0),
        PercentileCase(N_("p100 (the maximum) of unsorted gaps"), itl, 100),
        PercentileCase(N_("p99 of a single value [0.25]"), (0.25,), 99),
    ]


def _nearest_rank(values: Sequence[float], q: float) -> list[float]:
    data = sorted(values)
    n = len(data)
    rank = (n - 1) * q / 100
    out = [data[min(n - 1, max(0, math.ceil(q / 100 * n) - 1))]]
    out += [data[int(math.floor(rank))], data[min(n - 1, int(math.ceil(rank)))]]
    out.append(data[min(n - 1, int(round(rank)))])
    return out


def _unsorted(values: Sequence[float], q: float) -> float | None:
    data = list(values)
    if len(data) < 2:
        return None
    rank = (len(data) - 1) * q / 100
    lo = math.floor(rank)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (rank - lo)


def _judge_percentile(case: PercentileCase, got: Any) -> str | None:
    exp = case.expected
    if not _is_number(got):
        return tr("For {case} you returned {got}; expected a number ({exp:.6g}).",
                  case=tr(case.name), got=repr(got), exp=exp)
    if math.isclose(got, exp, rel_tol=1e-9, abs_tol=1e-12):
        return None
    msg = tr("For {case} you returned {got:.6g}; expected {exp:.6g}", case=tr(case.name),
             got=got, exp=exp)
    unsorted = _unsorted(case.values, case.q)
    if unsorted is not None and list(case.values) != sorted(case.values) and math.isclose(
        got, unsorted, rel_tol=1e-9
    ):
        return tr("{msg}: sort the values first (percentiles are about ranks).", msg=msg)
    if any(math.isclose(got, v, rel_tol=1e-9) for v in _nearest_rank(case.values, case.q)):
        return (
            tr("{msg}: that is one of the two neighbouring values; interpolate between them "
               "at the fractional rank `(n - 1) * q / 100`.", msg=msg)
        )
    return tr("{msg}.", msg=msg)


def check_percentile(
    fn: Callable[[list[float], float], Any],
    also: Sequence[float] | None = None,
    *,
    timeout: float = TIME_LIMIT,
) -> CheckResult:
    """Exercise 05.1: ``fn(values, q)`` is the ``q``-th percentile, interpolated linearly.

    Args:
        fn: The learner's ``percentile(values, q)``.
        also: A live sample (e.g. the inter-token gaps of the notebook's runs)
            on which p50, p90 and p99 must match too.
        timeout: Seconds allowed per call.
    """
    name = tr("Exercise 1: percentile(values, q)")
    if not callable(fn):
        return result(name, [tr("Expected a function, got {fn}.", fn=repr(fn))])
    cases = percentile_cases()
    if also:
        live = tuple(float(v) for v in also)
        cases += [PercentileCase(tr("p{q} of your live sample", q=q), live, q)
                  for q in (50, 90, 99)]
    given: list[tuple[list[float], tuple[float, ...]]] = []  # what fn got, and the original

    def args(case: PercentileCase) -> tuple[list[float], float]:
        values = list(case.values)
        given.append((values, case.values))
        return values, case.q

    g = grade(
        fn, cases, args, _judge_percentile,
        timeout=timeout, preposition="For",
        hint=lambda case, exc: (
            tr(" Is `q` a percent (0-100)? The rank is `(n - 1) * q / 100`.")
            if isinstance(exc, IndexError) else ""
        ),
    )
    if g.stub:
        return result(name, [tr("`percentile` is still the stub: fill in its body.")])
    problems, passed = g.problems, g.passed
    mutated = any(list(original) != values for values, original in given)
    if g.all_none:
        return result(name, [
            tr("Your function returns None (still the stub?): sort the values, find the "
               "fractional rank `(n - 1) * q / 100` and interpolate.")
        ])
    if mutated:
        problems.append(
            tr("Your function reordered the caller's list (`values.sort()`); use "
               "`sorted(values)` so the caller's data stays as it was.")
        )
    notes = [tr("{passed} of {total} percentiles right.", passed=passed, total=len(cases))]
    if not problems:
        notes.append(tr("Same definition as `numpy.percentile` (linear) and "
                        "`metrics.percentile`."))
    return result(name, problems, notes)


# -- exercise 2: tokens per second -----------------------------------------------------


@dataclass(frozen=True)
class TPSCase:
    name: str
    recording: Recording

    @property
    def expected(self) -> float | None:
        return summarize(self.recording).tokens_per_s


def _rec(arrivals: list[tuple[float, Event]], end: float | None = None) -> Recording:
    rec = Recording(url="http://127.0.0.1/chat", status=200, requests=1)
    rec.arrivals.extend(Arrival(t, ev) for t, ev in arrivals)
    rec.end_time = end if end is not None else max((t for t, _ in arrivals), default=None)
    return rec


def tps_cases() -> list[TPSCase]:
    """The recordings :func:`check_tokens_per_second` tries, fresh each call."""
    done = Event(data=DONE)

    def tok(i: int) -> Event:
        return Event(data=f" w{i}", id=str(i))

    steady = [(0.5 + 0.1 * i, tok(i)) for i in range(11)]  # 10 gaps in 1 s after a 0.5 s wait
    return [
        TPSCase(N_("a stream: first token at 0.5 s, then 10 more, one every 0.1 s, then `[DONE]`"),
                _rec(steady + [(1.6, done)], end=1.6)),
        TPSCase(N_("the same stream opened by a `status` event at 0.05 s"),
                _rec([(0.05, Event(event="status", data="thinking"))] + steady
                     + [(1.6, done)], end=1.6)),
        TPSCase(N_("a bursty stream: 3 tokens at 0.2 s, 3 at 0.5 s, 3 at 0.8 s"),
                _rec([(0.2 + 0.3 * (i // 3), tok(i)) for i in range(9)] + [(0.8, done)])),
        TPSCase(N_("a single token"), _rec([(0.3, tok(0)), (0.3, done)])),
        TPSCase(N_("a buffered stream: all 20 tokens in one read at 2.0 s"),
                _rec([(2.0, tok(i)) for i in range(20)] + [(2.0, done)])),
        TPSCase(N_("a stream with no token at all"), _rec([(0.4, done)])),
    ]


def _judge_tps(case: TPSCase, got: Any) -> str | None:
    exp = case.expected
    rec = case.recording
    if exp is None:
        if got is None:
            return None
        if _is_number(got) and got == 0:
            return (tr("For {case} you returned 0; return None when there is no rate to "
                       "measure (fewer than two tokens, or no time between the first and "
                       "last).", case=tr(case.name)))
        return tr("For {case} you returned {got}; expected None (no rate to measure).",
                  case=tr(case.name), got=repr(got))
    if got is None:
        return tr("For {case} you returned None; expected {exp:.4g} tokens/s.",
                  case=tr(case.name), exp=exp)
    if not _is_number(got):
        return tr("For {case} you returned {got}; expected a number ({exp:.4g}).",
                  case=tr(case.name), got=repr(got), exp=exp)
    if math.isclose(got, exp, rel_tol=1e-6):
        return None
    msg = tr("For {case} you returned {got:.4g}; expected {exp:.4g} tokens/s",
             case=tr(case.name), got=got, exp=exp)
    times = rec.token_times
    n = len(times)
    span = times[-1] - times[0]
    slips = [
        (n / span if span else None,
         N_("you counted tokens, but between the first and the last token there are n - 1 gaps")),
        (n / rec.end_time if rec.end_time else None,
         N_("you divided by the whole time since the request: that mixes in the wait for the "
         "first token (TTFT); measure from the first token to the last")),
        ((n - 1) / rec.end_time if rec.end_time else None,
         N_("you measured from the request, not from the first token (the TTFT is a different "
         "number)")),
        (len(rec.arrivals) / span if span else None,
         N_("you counted every arrival: `[DONE]` and other event types are not tokens")),
        ((len(rec.arrivals) - 1) / (rec.arrivals[-1].t - rec.arrivals[0].t)
         if rec.arrivals and rec.arrivals[-1].t > rec.arrivals[0].t else None,
         N_("you used every arrival: only `message` events other than `[DONE]` are tokens")),
        (span / (n - 1) if n > 1 else None,
         N_("that is seconds per token (the mean gap); invert it")),
    ]
    for value, hint in slips:
        if value is not None and math.isclose(got, value, rel_tol=1e-6):
            return tr("{msg}: {hint}.", msg=msg, hint=tr(hint))
    return tr("{msg}.", msg=msg)


def check_tokens_per_second(
    fn: Callable[[Recording], Any],
    also: Mapping[str, Recording] | Sequence[Recording] | None = None,
    *,
    timeout: float = TIME_LIMIT,
) -> CheckResult:
    """Exercise 05.2: ``fn(rec)`` is the decode rate, as ``summarize(rec).tokens_per_s``.

    Args:
        fn: The learner's ``tokens_per_second(rec) -> float | None``.
        also: Live recordings (a dict by name, or a list), measured too.
        timeout: Seconds allowed per call.
    """
    name = tr("Exercise 2: tokens_per_second(rec)")
    if not callable(fn):
        return result(name, [tr("Expected a function, got {fn}.", fn=repr(fn))])
    cases = tps_cases()
    if isinstance(also, Mapping):
        live = list(also.items())
    else:
        live = [(tr("run {i}", i=i), r) for i, r in enumerate(also or [])][:5]
    cases += [TPSCase(tr("your live `{label}` recording", label=k), r) for k, r in live
              if isinstance(r, Recording)]
    g = grade(
        fn, cases, lambda case: (copy.deepcopy(case.recording),), _judge_tps,
        timeout=timeout, preposition="For",
        hint=lambda case, exc: (
            tr(" With fewer than two tokens, or all at one instant, there is no rate: "
               "return None.")
            if isinstance(exc, (ZeroDivisionError, IndexError)) else ""
        ),
    )
    if g.stub:
        return result(name, [tr("`tokens_per_second` is still the stub: fill in its body.")])
    problems, passed = g.problems, g.passed
    if g.all_none:
        return result(name, [
            tr("Your function returns None for every recording (still the stub?): take the "
               "token times, then (number of tokens - 1) / (last - first).")
        ])
    notes = [tr("{passed} of {total} recordings measured correctly.", passed=passed,
                total=len(cases))]
    if not problems:
        notes.append(tr("tokens/s is the decode rate once the stream flows: TTFT is left out."))
    return result(name, problems, notes)
