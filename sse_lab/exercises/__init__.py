"""Checkers for the notebooks' exercises.

Each exercise cell is followed by a ``check_...`` call from here. A checker
never raises on a wrong answer: it returns a :class:`CheckResult` that the
notebook displays, listing in plain words what is right and what is not, so
a notebook with unsolved exercises still runs top to bottom. Solutions live
in ``notebooks/solutions/`` and the test suite runs each through its checker.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

__all__ = ["CheckResult"]


@dataclass
class CheckResult:
    """The verdict on one exercise: passed or not, and why, in plain words."""

    exercise: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = f"PASS  {self.exercise}" if self.passed else f"NOT YET  {self.exercise}"
        lines = [head]
        lines += [f"  - {p}" for p in self.problems]
        lines += [f"  · {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#b35900"
        mark = "✅ Well done" if self.passed else "🔧 Not yet"
        items = "".join(f"<li>{_inline_code(p)}</li>" for p in self.problems)
        notes = "".join(f"<li style='opacity:.8'>{_inline_code(n)}</li>" for n in self.notes)
        return (
            f"<div style='border-left:4px solid {colour};padding:.3em .8em'>"
            f"<b style='color:{colour}'>{mark}</b> — {html.escape(self.exercise)}"
            f"<ul style='margin:.3em 0'>{items}{notes}</ul></div>"
        )


def _inline_code(text: str) -> str:
    """Escape ``text`` for HTML, showing `backticked` spans as <code>."""
    parts = html.escape(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave it literal
        return html.escape(text)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def result(exercise: str, problems: list[str], notes: list[str] | None = None) -> CheckResult:
    """A :class:`CheckResult` that passes when there are no problems."""
    return CheckResult(exercise, not problems, list(problems), list(notes or []))


# Each notebook's checkers live in their own module; all are importable from
# here: ``from sse_lab.exercises import check_parser``.
from sse_lab.exercises import nb00, nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb09, nb10  # noqa: E402
from sse_lab.exercises.nb00 import *  # noqa: E402,F403
from sse_lab.exercises.nb01 import *  # noqa: E402,F403
from sse_lab.exercises.nb02 import *  # noqa: E402,F403
from sse_lab.exercises.nb03 import *  # noqa: E402,F403
from sse_lab.exercises.nb04 import *  # noqa: E402,F403
from sse_lab.exercises.nb05 import *  # noqa: E402,F403
from sse_lab.exercises.nb06 import *  # noqa: E402,F403
from sse_lab.exercises.nb07 import *  # noqa: E402,F403
from sse_lab.exercises.nb09 import *  # noqa: E402,F403
from sse_lab.exercises.nb10 import *  # noqa: E402,F403

__all__ = ["CheckResult", "result"] + [
    name
    for mod in (nb00, nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb09, nb10)
    for name in mod.__all__
]
