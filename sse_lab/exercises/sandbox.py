"""Running a learner's code for a checker: in a thread, with a time limit.

A checker must never crash or hang on a wrong answer, so the learner's
function runs in a daemon thread; an exception is handed back to the checker
to explain, and a function that takes too long raises :class:`Timeout`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sse_lab.i18n import tr

#: Seconds the learner's function may take on one input.
TIME_LIMIT = 2.0
#: Seconds for a check that calls the learner's function thousands of times
#: (notebooks 06 and 07).
LONG_TIME_LIMIT = 5.0


class Timeout(Exception):
    """The learner's function did not return within the time limit."""


def call_limited(fn: Callable[..., Any], *args: Any, timeout: float = TIME_LIMIT) -> Any:
    """``fn(*args)`` in a daemon thread; re-raise its error; :class:`Timeout` if too slow."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - reported to the learner
            box["error"] = exc

    worker = threading.Thread(target=run, name="sse_lab-exercise", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise Timeout
    if "error" in box:
        raise box["error"]
    return box.get("value")


def is_number(x: Any) -> bool:
    """A finite int or float (``True`` is not a number here)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def describe_error(exc: BaseException) -> str:
    """``"ValueError: message"``, or just the type when there is no message."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass
class Grading:
    """What :func:`grade` saw: the problems found and the answers returned."""

    total: int
    problems: list[str] = field(default_factory=list)
    answers: list[Any] = field(default_factory=list)
    passed: int = 0
    stub: bool = False  # the learner's function returned ``...`` (the untouched stub)

    @property
    def all_none(self) -> bool:
        """Every case answered, and every answer was ``None`` (an empty body)."""
        return len(self.answers) == self.total and all(a is None for a in self.answers)


def grade(
    fn: Callable[..., Any],
    cases: Sequence[Any],
    args: Callable[[Any], tuple[Any, ...]],
    judge: Callable[[Any, Any], str | None],
    *,
    timeout: float = TIME_LIMIT,
    hint: Callable[[Any, BaseException], str] = lambda case, exc: "",
    preposition: str = "On",
) -> Grading:
    """Run ``fn(*args(case))`` on every case and judge each answer.

    ``judge(case, answer)`` returns a problem in plain words, or ``None`` when
    the answer is right; ``hint(case, exc)`` adds advice to an exception (already
    translated, starting with a space). ``case.name`` is an English label marked with
    ``N_`` (or text already translated), shown through ``tr``. ``preposition`` is
    ``"On"`` or ``"For"``.
    Grading stops early when ``fn`` returns ``...`` (the stub left as is).
    """
    g = Grading(total=len(cases))
    for case in cases:
        try:
            got = call_limited(fn, *args(case), timeout=timeout)
        except Timeout:
            g.problems.append(
                tr("On {case} your function did not return within {timeout:g} s.",
                   case=tr(case.name), timeout=timeout) if preposition == "On" else
                tr("For {case} your function did not return within {timeout:g} s.",
                   case=tr(case.name), timeout=timeout)
            )
            continue
        except Exception as exc:
            g.problems.append(
                tr("On {case} your function raised {error}.{hint}", case=tr(case.name),
                   error=describe_error(exc), hint=hint(case, exc)) if preposition == "On" else
                tr("For {case} your function raised {error}.{hint}", case=tr(case.name),
                   error=describe_error(exc), hint=hint(case, exc))
            )
            continue
        if got is Ellipsis:
            g.stub = True
            return g
        g.answers.append(got)
        problem = judge(case, got)
        if problem is None:
            g.passed += 1
        else:
            g.problems.append(problem)
    return g
