"""Checkers for notebook 01's exercises (time to first token, a reader's idle time).

* :func:`check_time_to_first_token` -- the learner's ``time_to_first_token(rec)``
  is run on a set of tricky recordings (a status event before the first token,
  a ``[DONE]``-only stream, a blocking fetch, a failed connection...).
* :func:`check_idle_time` -- the learner's ``idle_time(points, words_per_s)``
  is compared with :func:`sse_lab.metrics.reader_idle_time`.

The learner's function runs in a helper thread with a time limit, so code that
raises, loops forever or returns junk gets a NOT YET verdict, never an error.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sse_lab.exercises.result import CheckResult, result
from sse_lab.i18n import N_, tr
from sse_lab.metrics import reader_idle_time, visible_words
from sse_lab.protocol import DONE, Event
from sse_lab.recording import Arrival, Recording

__all__ = [
    "check_idle_time",
    "check_time_to_first_token",
    "idle_cases",
    "ttft_cases",
]

from sse_lab.exercises.sandbox import TIME_LIMIT, grade
from sse_lab.exercises.sandbox import is_number as _is_number

# -- exercise 1: time to first token ------------------------------------------------


@dataclass(frozen=True)
class TTFTCase:
    """One recording to measure, what the answer is, and a hint for likely slips."""

    name: str
    recording: Recording
    expected: float | None
    traps: tuple[tuple[float, str], ...] = ()


def _rec(arrivals: list[tuple[float, Event]], transport: str = "sse", **kw: Any) -> Recording:
    end = max((t for t, _ in arrivals), default=None)
    rec = Recording(url="http://127.0.0.1/chat", transport=transport, end_time=end, **kw)
    rec.arrivals.extend(Arrival(t, ev) for t, ev in arrivals)
    return rec


def _tok(text: str, i: int) -> Event:
    return Event(data=text, id=str(i))


def ttft_cases() -> list[TTFTCase]:
    """The recordings :func:`check_time_to_first_token` tries, fresh each call."""
    done = Event(data=DONE)
    return [
        TTFTCase(
            N_("a normal stream"),
            _rec(
                [(0.12, _tok("我", 0)), (0.2, _tok("是", 1)), (0.31, _tok("你", 2)), (0.35, done)],
                status=200,
            ),
            0.12,
        ),
        TTFTCase(
            N_("a stream that opens with a `status` event (event: status, data: thinking)"),
            _rec(
                [
                    (0.05, Event(event="status", data="thinking")),
                    (0.4, _tok("Hello", 0)),
                    (0.5, _tok(" there", 1)),
                    (0.55, done),
                ],
                status=200,
            ),
            0.4,
            ((0.05, N_("you counted the `status` event as a token: only `message` events are")),),
        ),
        TTFTCase(
            N_("a stream whose only event is `[DONE]` (the model said nothing)"),
            _rec([(0.3, done)], status=200),
            None,
            ((0.3, N_("you counted `[DONE]` as a token: it only marks the end of the stream")),),
        ),
        TTFTCase(
            N_("a blocking fetch (one arrival carrying the whole answer)"),
            _rec([(2.4, Event(data="The whole answer at once."))], transport="blocking"),
            2.4,
        ),
        TTFTCase(
            N_("a connection that failed before any event"),
            Recording(url="http://127.0.0.1/chat", error="ConnectionRefusedError"),
            None,
        ),
        TTFTCase(
            N_("a stream that got a heartbeat-style `ping` event before its first token"),
            _rec(
                [
                    (0.9, Event(event="ping", data="")),
                    (1.3, _tok("A", 0)),
                    (1.4, _tok(" token", 1)),
                    (1.5, done),
                ],
                status=200,
            ),
            1.3,
            ((0.9, N_("you counted the `ping` event as a token: only `message` events are")),),
        ),
    ]


def _judge_ttft(case: TTFTCase, got: Any) -> str | None:
    """A plain-words problem with ``got`` on ``case``, or None if right."""
    exp = case.expected
    if exp is None:
        if got is None:
            return None
        if _is_number(got) and got == 0:
            return (
                tr("On {case} you returned {got}; return None when no token arrived (0 would "
                   "claim the first token came instantly).", case=tr(case.name), got=repr(got))
            )
        for t, hint in case.traps:
            if _is_number(got) and math.isclose(got, t, abs_tol=1e-9):
                return tr("On {case} you returned {got}: {hint}. Expected None.",
                          case=tr(case.name), got=repr(got), hint=tr(hint))
        return tr("On {case} you returned {got}; expected None (no token arrived).",
                  case=tr(case.name), got=repr(got))
    if got is None:
        return tr("On {case} you returned None; expected {exp} s (a token did arrive).",
                  case=tr(case.name), exp=exp)
    if not _is_number(got):
        return tr("On {case} you returned {got}; expected a number of seconds ({exp}).",
                  case=tr(case.name), got=repr(got), exp=exp)
    if math.isclose(got, exp, abs_tol=1e-9):
        return None
    if math.isclose(got, exp * 1000, rel_tol=1e-6):
        return (
            tr("On {case} you returned {got}, which is milliseconds; return seconds ({exp}), "
               "like `Arrival.t`.", case=tr(case.name), got=repr(got), exp=exp)
        )
    for t, hint in case.traps:
        if math.isclose(got, t, abs_tol=1e-9):
            return tr("On {case} you returned {got}: {hint}. Expected {exp}.",
                      case=tr(case.name), got=repr(got), hint=tr(hint), exp=exp)
    return tr("On {case} you returned {got}; expected {exp} s.", case=tr(case.name),
              got=repr(got), exp=exp)


def check_time_to_first_token(
    fn: Callable[[Recording], Any],
    also: Mapping[str, Recording] | None = None,
    *,
    timeout: float = TIME_LIMIT,
) -> CheckResult:
    """Exercise 01.1: run ``fn(rec)`` on tricky recordings and on live ones.

    Args:
        fn: The learner's ``time_to_first_token(rec) -> float | None``.
        also: Live recordings by name (e.g. the race's) whose TTFT, as
            computed by :func:`sse_lab.metrics.summarize`, ``fn`` must match.
        timeout: Seconds allowed per call.
    """
    name = tr("Exercise 1: time_to_first_token(rec)")
    if not callable(fn):
        return result(name, [tr("Expected a function, got {fn}.", fn=repr(fn))])
    cases = ttft_cases()
    for label, rec in (also or {}).items():
        times = rec.token_times if isinstance(rec, Recording) else []
        cases.append(TTFTCase(tr("your live `{label}` recording", label=label), rec,
                              times[0] if times else None))
    g = grade(
        fn, cases, lambda case: (copy.deepcopy(case.recording),), _judge_ttft,
        timeout=timeout,
        hint=lambda case, exc: (
            tr(" Is there a case with no token at all? Return None then.")
            if isinstance(exc, IndexError) else ""
        ),
    )
    if g.stub:
        return result(name, [tr("`time_to_first_token` is still the stub: fill in its body.")])
    problems, passed = g.problems, g.passed
    if g.all_none:
        return result(
            name,
            [
                tr("Your function returns None for every recording (still the stub?): loop "
                   "over `rec.arrivals` and return the `.t` of the first token event.")
            ],
        )
    notes = [tr("{passed} of {total} recordings measured correctly.", passed=passed,
                total=len(cases))]
    if not problems:
        notes.append(
            tr("Only `message` events other than `[DONE]` are tokens; a blocking answer's "
               "TTFT is its whole wait.")
        )
    return result(name, problems, notes)


# -- exercise 2: the reader's idle time ------------------------------------------------


@dataclass(frozen=True)
class IdleCase:
    """One ``(t, visible words)`` series, a reading speed, and the expected idle time."""

    name: str
    points: list[tuple[float, int]]
    words_per_s: float

    @property
    def expected(self) -> float:
        return reader_idle_time(self.points, self.words_per_s)


def idle_cases() -> list[IdleCase]:
    """The series :func:`check_idle_time` tries (sorted by time, counts never fall)."""
    fast = [(0.1 + 0.02 * k, k + 1) for k in range(30)]  # 50 words/s: faster than reading
    slow = [(0.5 * (k + 1), k + 1) for k in range(8)]  # 2 words/s: slower than reading
    return [
        IdleCase(N_("a blocking answer: 40 words at once after 2 s"), [(2.0, 40)], 4.0),
        IdleCase(N_("a stream faster than reading (first word after 0.1 s)"), fast, 4.0),
        IdleCase(
            N_("a stream that stalls: 8 words, a 4 s pause, 4 more"),
            [(0.2, 4), (0.3, 8), (4.3, 10), (4.4, 12)],
            4.0,
        ),
        IdleCase(N_("a stream slower than reading (2 words/s)"), slow, 4.0),
        IdleCase(N_("the same slow stream read at 1 word/s"), slow, 1.0),
        IdleCase(
            N_("a stream whose first token is only whitespace"),
            [(0.1, 0), (0.25, 1), (0.3, 2)],
            4.0,
        ),
        IdleCase(N_("nothing arrived at all"), [], 4.0),
    ]


def _judge_idle(case: IdleCase, got: Any) -> str | None:
    exp = case.expected
    if not _is_number(got):
        return tr("On {case} you returned {got}; expected a number of seconds ({exp:.3g}).",
                  case=tr(case.name), got=repr(got), exp=exp)
    if math.isclose(got, exp, rel_tol=1e-6, abs_tol=1e-6):
        return None
    pts = case.points
    msg = tr("On {case} you returned {got:.3g} s; expected {exp:.3g} s",
             case=tr(case.name), got=got, exp=exp)
    first = next((t for t, w in pts if w > 0), None)
    if pts and math.isclose(got, pts[-1][0], abs_tol=1e-6) and len(pts) > 1:
        return (
            tr("{msg}: that is when the last words appeared, but the reader reads the "
               "earlier words meanwhile; count only the time with nothing left to read.", msg=msg)
        )
    if first is not None and math.isclose(got, first, abs_tol=1e-6):
        return (
            tr("{msg}: you counted the wait for the first word only; the reader also waits "
               "each time they catch up with the text.", msg=msg)
        )
    if pts and math.isclose(got, pts[0][0], abs_tol=1e-6):
        return tr("{msg}: the first point shows no word yet, so the reader keeps waiting.",
                  msg=msg)
    return tr("{msg}.", msg=msg)


def check_idle_time(
    fn: Callable[[list[tuple[float, int]], float], Any],
    race: Mapping[str, Recording] | None = None,
    *,
    timeout: float = TIME_LIMIT,
) -> CheckResult:
    """Exercise 01.2: ``fn(points, words_per_s)`` against :func:`reader_idle_time`.

    Args:
        fn: The learner's ``idle_time(points, words_per_s=4.0) -> float``.
        race: Live recordings by name (the race's ``{"blocking", "streaming"}``);
            ``fn`` must agree with the chart on them too.
        timeout: Seconds allowed per call.
    """
    name = tr("Exercise 2: idle_time(points, words_per_s)")
    if not callable(fn):
        return result(name, [tr("Expected a function, got {fn}.", fn=repr(fn))])
    cases = idle_cases()
    for label, rec in (race or {}).items():
        if isinstance(rec, Recording):
            cases.append(IdleCase(tr("your live `{label}` recording", label=label),
                                  visible_words(rec), 4.0))
    g = grade(
        fn, cases, lambda case: (list(case.points), case.words_per_s), _judge_idle,
        timeout=timeout,
        hint=lambda case, exc: tr(" An empty list must give 0.0.") if not case.points else "",
    )
    if g.stub:
        return result(name, [tr("`idle_time` is still the stub: fill in its body.")])
    problems, passed = g.problems, g.passed
    if g.all_none:
        return result(
            name,
            [
                tr("Your function returns None (still the stub?): walk through the points with "
                   "a reader clock and add up the time the reader has nothing new to read.")
            ],
        )
    notes = [tr("{passed} of {total} series measured correctly.", passed=passed,
                total=len(cases))]
    if not problems:
        notes.append(
            tr("A reader waits for the first word, then again at every stall longer than "
               "the text they still have to read; streaming hides everything else.")
        )
    return result(name, problems, notes)
