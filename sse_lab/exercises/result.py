"""The verdict of a checker: :class:`CheckResult`, and :func:`result` to build one.

Every ``nbXX`` checker module imports these from here (not from the package
``__init__``, which imports the checker modules: that would be a cycle).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from sse_lab.i18n import tr

__all__ = ["CheckResult", "inline_code", "result"]


@dataclass
class CheckResult:
    """The verdict on one exercise: passed or not, and why, in plain words.

    The checkers write ``exercise``, ``problems`` and ``notes`` in the language the lab
    speaks when they run; the verdict words (PASS / NOT YET) follow the language at the
    moment the result is shown.
    """

    exercise: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = (tr("PASS  {exercise}", exercise=self.exercise) if self.passed
                else tr("NOT YET  {exercise}", exercise=self.exercise))
        lines = [head]
        lines += [f"  - {p}" for p in self.problems]
        lines += [f"  · {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#b35900"
        mark = tr("✅ Well done") if self.passed else tr("🔧 Not yet")
        items = "".join(f"<li>{inline_code(p)}</li>" for p in self.problems)
        notes = "".join(f"<li style='opacity:.8'>{inline_code(n)}</li>" for n in self.notes)
        return (
            f"<div style='border-left:4px solid {colour};padding:.3em .8em'>"
            f"<b style='color:{colour}'>{mark}</b> — {html.escape(self.exercise)}"
            f"<ul style='margin:.3em 0'>{items}{notes}</ul></div>"
        )


def inline_code(text: str) -> str:
    """Escape ``text`` for HTML, showing `backticked` spans as <code>."""
    parts = html.escape(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave it literal
        return html.escape(text)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def result(exercise: str, problems: list[str], notes: list[str] | None = None) -> CheckResult:
    """A :class:`CheckResult` that passes when there are no problems."""
    return CheckResult(exercise, not problems, list(problems), list(notes or []))
