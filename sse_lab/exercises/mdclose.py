"""Checker for notebook 07's exercise 1: close what a half-streamed markdown answer left open.

Mid-stream, an answer often ends inside a construct: ``**bold`` without its
closing stars, an open `` ` `` code span, a code fence whose closing line has
not come. The learner writes ``close_markdown(text)``: the text plus the
missing closers, for display only. :func:`check_close_markdown` renders the
learner's output with the same markdown renderer as the lab (``mistune``,
raw HTML escaped) and checks what a reader would see on each cut: bold as
bold, code as code, no stray markers, finished text left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mistune

from sse_lab.exercises.result import CheckResult, result
from sse_lab.exercises.sandbox import Timeout as _Timeout
from sse_lab.exercises.sandbox import call_limited, describe_error
from sse_lab.i18n import N_, tr

__all__ = ["check_close_markdown"]

_RENDER = mistune.create_markdown(escape=True, plugins=["strikethrough", "table"])


def _html(text: str) -> str:
    return str(_RENDER(text))


def _visible(html: str) -> str:
    """The text a reader sees: tags stripped, entities left as they are."""
    return re.sub(r"<[^>]+>", "", html)


@dataclass(frozen=True)
class _Case:
    name: str
    text: str
    must: tuple[str, ...] = ()  # HTML fragments the rendered output must contain
    unchanged: bool = False  # complete text: must come back as is
    no_stray: str = ""  # characters that must not be visible
    why: str = ""


_FENCED = "Like this:\n\n```python\nasync def stream(self):\n    await"
_CASES = [
    _Case(N_("a cut inside bold"), "The model writes **one tok", ("<strong>one tok</strong>",),
          why=N_("count the `**` outside code: an odd number means one is open; add `**`.")),
    _Case(N_("a cut inside italics"), "Read it *slow", ("<em>slow</em>",),
          why=N_("a single `*` that opens emphasis needs its closing `*`.")),
    _Case(N_("a cut inside inline code"), "Call `await self.fl", ("<code>await self.fl</code>",),
          why=N_("an odd number of backticks means a code span is open; add a backtick.")),
    _Case(N_("a cut inside a code fence"), _FENCED, ("<pre>", "    await\n</code></pre>"),
          why=N_("inside an open ``` fence nothing is emphasis or a code span: add only the "
              "closing ``` line.")),
    _Case(N_("bold after a closed fence"), "```\nx = 1\n```\n\nAnd **bo",
          ("<pre>", "<strong>bo</strong>"),
          why=N_("the fence is closed already; only the `**` is open.")),
    _Case(N_("stars inside inline code"), "Use `a**b` and **x",
          ("<code>a**b</code>", "<strong>x</strong>"),
          why=N_("stars inside a code span are not emphasis: remove code spans before counting.")),
    _Case(N_("a list bullet"), "* one\n* two **bo", ("<li>one</li>", "<strong>bo</strong>"),
          why=N_("a `* ` at the start of a line is a list bullet, not emphasis.")),
    _Case(N_("a marker with nothing after it yet"), "Streaming is **", no_stray="*",
          why=N_("an opening marker with no text after it yet should be hidden (or it shows "
              "as stars).")),
    _Case(N_("a finished answer"), "Done: **all** of it, with `code` and *style*.", unchanged=True,
          why=N_("nothing is open, so nothing may be added.")),
    _Case(N_("a finished code block"), "```\nprint(1)\n```\n", unchanged=True,
          why=N_("the fence is closed, so nothing may be added or removed (careful: in Python "
              "regexes `$` also matches before a final newline; `\\Z` does not).")),
]


def _judge(case: _Case, out: Any) -> str | None:
    if not isinstance(out, str):
        return tr("On {case} you returned {out}; return the text (a str).", case=tr(case.name),
                  out=repr(out))
    if case.unchanged:
        if out.rstrip("\n") != case.text.rstrip("\n"):
            return (tr("On {case} ({text}) you returned {out}: {why}",
                       case=tr(case.name), text=repr(case.text), out=repr(out), why=tr(case.why)))
        return None
    kept = case.text.rstrip("*`_~ ")
    if not out.startswith(kept):
        return (tr("On {case} the text itself changed ({out}): only add closers at the end "
                   "(and at most hide a bare marker there); never edit what the model wrote.",
                   case=tr(case.name), out=repr(out)))
    html = _html(out)
    missing = [m for m in case.must if m not in html]
    if missing:
        return (tr("On {case} ({text}) your {out} renders as {html}, without {missing}: {why}",
                   case=tr(case.name), text=repr(case.text), out=repr(out),
                   html=repr(html.strip()), missing=repr(missing[0]), why=tr(case.why)))
    if case.no_stray and case.no_stray in _visible(html):
        return (tr("On {case} ({text}) the reader sees a stray {no_stray} ({visible}): {why}",
                   case=tr(case.name), text=repr(case.text), no_stray=repr(case.no_stray),
                   visible=repr(_visible(html).strip()), why=tr(case.why)))
    return None


def check_close_markdown(close_markdown: Callable[[str], str]) -> CheckResult:
    """Exercise 07.1: ``close_markdown(text)`` closes open bold, italics, code and fences.

    Each case renders the learner's output with ``mistune`` (raw HTML escaped,
    as the lab's views do) and checks the HTML a reader would see; finished
    texts must come back unchanged.
    """
    name = tr("Exercise 1: close what a half-streamed answer left open")
    if not callable(close_markdown):
        return result(name,
                      [tr("Pass your function itself: check_close_markdown(close_markdown).")])
    problems: list[str] = []
    for case in _CASES:
        try:
            out = call_limited(close_markdown, case.text)
        except _Timeout:
            problems.append(tr("On {case} your function did not return within 2 s.",
                               case=tr(case.name)))
            continue
        except Exception as exc:
            problems.append(tr("On {case} ({text}) your function raised {error}.",
                               case=tr(case.name), text=repr(case.text), error=describe_error(exc)))
            continue
        if out is Ellipsis or (out is None and case is _CASES[0]):
            return result(name, [tr("`close_markdown` returns nothing yet: write its body.")])
        problem = _judge(case, out)
        if problem:
            problems.append(problem)
    notes = []
    if not problems:
        notes.append(tr("All {n} cuts render as they will look when finished; finished text "
                        "comes back untouched.", n=len(_CASES)))
        notes.append(tr("Closers are for display only: the next render starts again from the "
                        "true text, so a frame never leaves a mark on the answer."))
    return result(name, problems, notes)
