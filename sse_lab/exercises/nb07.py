"""Checkers for notebook 07's exercises (the typewriter, done safely and smoothly).

* :func:`check_render_tokens` -- the learner's ``render_tokens(tokens)``
  builds the typewriter's HTML, one ``<span class="tok">`` per token, with
  every token escaped (what ``textContent`` does in the browser).
* :func:`check_smooth` -- the learner's ``smooth(arrivals, interval,
  max_lag)``: a fixed-pace reveal that never shows a token before it arrived
  and never holds one back more than ``max_lag``.

The learner's code runs in a helper thread with a time limit: code that
raises, hangs or returns junk gets a NOT YET verdict, never an exception.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from sse_lab.exercises.result import CheckResult, result
from sse_lab.exercises.sandbox import LONG_TIME_LIMIT as TIME_LIMIT
from sse_lab.exercises.sandbox import Timeout as _Timeout
from sse_lab.exercises.sandbox import call_limited
from sse_lab.exercises.sandbox import describe_error as _err
from sse_lab.exercises.sandbox import is_number as _is_number
from sse_lab.model import SimulatedLLM
from sse_lab.smoothing import smooth_schedule

__all__ = ["check_render_tokens", "check_smooth", "EVIL_TOKENS"]

#: Tokens a model may well produce (it repeats what it read) that must stay text.
EVIL_TOKENS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert('hi')</script>",
    "Tom & Jerry",
    "a < b > c",
    '"quoted" and \'single\'',
    "&lt;already escaped&gt;",
    "</span><b>bold</b>",
]


class _Spans(HTMLParser):
    """Collect the elements of an HTML fragment and the text inside each span."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self.outside: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag == "span":
            self.depth += 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth and self.texts:
            self.texts[-1] += data
        elif data.strip():
            self.outside.append(data)


def check_render_tokens(render_tokens: Callable[[list[str]], Any]) -> CheckResult:
    """Check ``render_tokens(tokens) -> str``: one escaped ``<span class="tok">`` per token.

    The result must parse into exactly one ``span`` element with
    ``class="tok"`` per token and no other element, each span's text must be
    the token exactly (so ``<img ...>`` in a token shows as text and never
    becomes an image), and nothing may sit outside the spans.
    """
    exercise = 'render_tokens(tokens): the typewriter\'s <span class="tok"> per token, escaped'
    if not callable(render_tokens):
        return result(exercise, ["Pass your function itself: check_render_tokens(render_tokens)."])
    cases = [
        ("plain words", ["Hello", ",", " world", "!"]),
        ("the source's Chinese answer", SimulatedLLM().tokens("你好", 0)),
        ("tokens that look like HTML", list(EVIL_TOKENS)),
        ("no tokens", []),
    ]
    problems: list[str] = []
    for name, tokens in cases:
        try:
            out = call_limited(lambda tokens=tokens: render_tokens(list(tokens)),
                               timeout=TIME_LIMIT)
        except _Timeout:
            problems.append(f"{name}: render_tokens() did not return within {TIME_LIMIT:g} s.")
            break
        except Exception as exc:
            problems.append(f"{name}: render_tokens() raised {_err(exc)}.")
            break
        if not isinstance(out, str):
            problems.append(f"{name}: render_tokens() returned {out!r}; return one HTML string.")
            break
        parser = _Spans()
        try:
            parser.feed(out)
            parser.close()
        except Exception as exc:  # pragma: no cover - HTMLParser is lenient
            problems.append(f"{name}: the HTML could not be parsed ({_err(exc)}).")
            break
        others = [tag for tag, _ in parser.elements if tag != "span"]
        if others:
            evil = next((t for t in tokens if f"<{others[0]}" in t), None)
            problems.append(
                f"{name}: the HTML contains a <{others[0]}> element"
                + (f" that came from the token {evil!r}" if evil else "")
                + ". Escape each token with html.escape(token): in the browser that is "
                "what span.textContent = token does, and what innerHTML does not."
            )
            break
        spans = [attrs for tag, attrs in parser.elements if tag == "span"]
        if len(spans) != len(tokens):
            problems.append(
                f"{name}: {len(tokens)} tokens gave {len(spans)} <span> elements; "
                "make exactly one per token."
            )
            break
        if any((a.get("class") or "").split() != ["tok"] for a in spans):
            problems.append(
                f'{name}: give every span class="tok" (the page\'s CSS fades those in).'
            )
            break
        if parser.outside:
            problems.append(
                f"{name}: text outside the spans: {parser.outside[0]!r}. Put each token "
                "inside its span and nothing between them."
            )
            break
        wrong = next(
            ((t, s) for t, s in zip(tokens, parser.texts, strict=False) if t != s), None
        )
        if wrong is not None:
            token, shown = wrong
            hint = ""
            if shown == html.unescape(html.escape(html.escape(token))):
                hint = " It was escaped twice: escape once."
            problems.append(
                f"{name}: the token {token!r} is shown as {shown!r}.{hint}"
            )
            break
    notes = []
    if not problems:
        notes.append(
            "Every token is one span, shown exactly as text: even "
            "'<img src=x onerror=alert(1)>' stays harmless characters."
        )
    return result(exercise, problems, notes)


# -- exercise 2: a fixed-pace smoothing schedule --------------------------------------------


def _cases() -> list[tuple[str, list[float], float, float]]:
    bursty = SimulatedLLM(cadence="bursty", speed=2).plan("Why do AI chats stream?", 0)
    steady = SimulatedLLM(speed=2).plan("你好", 0)
    return [
        ("a bursty stream", bursty.emit_times(), 0.05, 0.5),
        ("a steady stream", steady.emit_times(), 0.03, 0.5),
        ("one token", [0.2], 0.05, 0.5),
        ("no tokens", [], 0.05, 0.5),
        ("a big burst after a pause (the lag bound must act)", [0.1] + [1.0] * 30, 0.05, 0.3),
        ("interval 0 (show on arrival)", [0.1, 0.1, 0.2, 0.5], 0.0, 0.5),
    ]


def check_smooth(smooth: Callable[..., Any]) -> CheckResult:
    """Check ``smooth(arrivals, interval, max_lag) -> list of display times``.

    The rule: the first token is shown when it arrives; each next one
    ``interval`` seconds after the previous, but never before it arrived
    and never more than ``max_lag`` after it arrived::

        d[0] = a[0]
        d[i] = min(max(a[i], d[i-1] + interval), a[i] + max_lag)

    Compared with :func:`sse_lab.smoothing.smooth_schedule` (``interval=``,
    ``catch_up=False``) on bursty, steady and extreme inputs.
    """
    exercise = "smooth(arrivals, interval, max_lag): an even reveal of bursty tokens"
    if not callable(smooth):
        return result(exercise, ["Pass your function itself: check_smooth(smooth)."])
    problems: list[str] = []
    for name, arrivals, interval, max_lag in _cases():
        try:
            got = call_limited(lambda a=arrivals, i=interval, m=max_lag: smooth(list(a), i, m),
                               timeout=TIME_LIMIT)
        except _Timeout:
            problems.append(f"{name}: smooth() did not return within {TIME_LIMIT:g} s.")
            break
        except Exception as exc:
            problems.append(f"{name}: smooth() raised {_err(exc)}.")
            break
        try:
            got = list(got)
        except TypeError:
            problems.append(f"{name}: smooth() returned {got!r}; return a list of times.")
            break
        if len(got) != len(arrivals):
            problems.append(
                f"{name}: {len(arrivals)} arrivals gave {len(got)} display times; "
                "return one per token."
            )
            break
        if not all(_is_number(x) for x in got):
            bad = next(x for x in got if not _is_number(x))
            problems.append(f"{name}: {bad!r} is not a time in seconds.")
            break
        expected = smooth_schedule(arrivals, interval=interval, max_lag=max_lag, catch_up=False)
        early = next((i for i, (a, d) in enumerate(zip(arrivals, got, strict=True))
                      if d < a - 1e-9), None)
        if early is not None:
            problems.append(
                f"{name}: token {early} is shown at {got[early]:.3f} s but arrived at "
                f"{arrivals[early]:.3f} s: a token can't be shown before it arrived "
                "(take max(arrival, previous + interval))."
            )
            break
        late = next((i for i, (a, d) in enumerate(zip(arrivals, got, strict=True))
                     if d > a + max_lag + 1e-9), None)
        if late is not None:
            problems.append(
                f"{name}: token {late} waited {got[late] - arrivals[late]:.3f} s after arriving, "
                f"more than max_lag = {max_lag:g} s (cap with min(..., arrival + max_lag))."
            )
            break
        wrong = next((i for i, (e, d) in enumerate(zip(expected, got, strict=True))
                      if not math.isclose(e, d, rel_tol=1e-6, abs_tol=1e-6)), None)
        if wrong is not None:
            i = wrong
            problems.append(
                f"{name}: token {i} (arrived {arrivals[i]:.3f} s) shown at {got[i]:.3f} s, "
                f"expected {expected[i]:.3f} s"
                + (" (the first token is shown the moment it arrives)." if i == 0 else
                   f" = min(max({arrivals[i]:.3f}, {expected[i - 1]:.3f} + {interval:g}), "
                   f"{arrivals[i]:.3f} + {max_lag:g}).")
            )
            break
    notes = []
    if not problems:
        notes.append("Never early, never more than max_lag late, an even pace in between.")
    return result(exercise, problems, notes)
