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
from sse_lab.i18n import N_, tr
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
    exercise = tr('render_tokens(tokens): the typewriter\'s <span class="tok"> per token, escaped')
    if not callable(render_tokens):
        return result(exercise,
                      [tr("Pass your function itself: check_render_tokens(render_tokens).")])
    cases = [
        (N_("plain words"), ["Hello", ",", " world", "!"]),
        (N_("the source's Chinese answer"), SimulatedLLM().tokens("你好", 0)),
        (N_("tokens that look like HTML"), list(EVIL_TOKENS)),
        (N_("no tokens"), []),
    ]
    problems: list[str] = []
    for label, tokens in cases:
        name = tr(label)
        try:
            out = call_limited(lambda tokens=tokens: render_tokens(list(tokens)),
                               timeout=TIME_LIMIT)
        except _Timeout:
            problems.append(tr("{name}: render_tokens() did not return within {TIME_LIMIT:g} "
                               "s.", name=name, TIME_LIMIT=TIME_LIMIT))
            break
        except Exception as exc:
            problems.append(tr("{name}: render_tokens() raised {error}.", name=name,
                               error=_err(exc)))
            break
        if not isinstance(out, str):
            problems.append(tr("{name}: render_tokens() returned {out}; return one HTML "
                               "string.", name=name, out=repr(out)))
            break
        parser = _Spans()
        try:
            parser.feed(out)
            parser.close()
        except Exception as exc:  # pragma: no cover - HTMLParser is lenient
            problems.append(tr("{name}: the HTML could not be parsed ({error}).", name=name,
                               error=_err(exc)))
            break
        others = [tag for tag, _ in parser.elements if tag != "span"]
        if others:
            evil = next((t for t in tokens if f"<{others[0]}" in t), None)
            problems.append(
                tr("{name}: the HTML contains a <{tag}> element that came from the token "
                   "{token}. Escape each token with html.escape(token): in the browser that is "
                   "what span.textContent = token does, and what innerHTML does not.",
                   name=name, tag=others[0], token=repr(evil)) if evil else
                tr("{name}: the HTML contains a <{tag}> element. Escape each token with "
                   "html.escape(token): in the browser that is what span.textContent = token "
                   "does, and what innerHTML does not.", name=name, tag=others[0])
            )
            break
        spans = [attrs for tag, attrs in parser.elements if tag == "span"]
        if len(spans) != len(tokens):
            problems.append(
                tr("{name}: {tokens} tokens gave {spans} <span> elements; make exactly one "
                   "per token.",
                   name=name, tokens=len(tokens), spans=len(spans))
            )
            break
        if any((a.get("class") or "").split() != ["tok"] for a in spans):
            problems.append(
                tr("{name}: give every span class=\"tok\" (the page's CSS fades those in).",
                   name=name)
            )
            break
        if parser.outside:
            problems.append(
                tr("{name}: text outside the spans: {text}. Put each token inside its span and "
                   "nothing between them.", name=name, text=repr(parser.outside[0]))
            )
            break
        wrong = next(
            ((t, s) for t, s in zip(tokens, parser.texts, strict=False) if t != s), None
        )
        if wrong is not None:
            token, shown = wrong
            hint = ""
            if shown == html.unescape(html.escape(html.escape(token))):
                hint = tr(" It was escaped twice: escape once.")
            problems.append(
                tr("{name}: the token {token} is shown as {shown}.{hint}",
                   name=name, token=repr(token), shown=repr(shown), hint=hint)
            )
            break
    notes = []
    if not problems:
        notes.append(
            tr("Every token is one span, shown exactly as text: even "
               "'<img src=x onerror=alert(1)>' stays harmless characters.")
        )
    return result(exercise, problems, notes)


# -- exercise 2: a fixed-pace smoothing schedule --------------------------------------------


def _cases() -> list[tuple[str, list[float], float, float]]:
    bursty = SimulatedLLM(cadence="bursty", speed=2).plan("Why do AI chats stream?", 0)
    steady = SimulatedLLM(speed=2).plan("你好", 0)
    return [
        (N_("a bursty stream"), bursty.emit_times(), 0.05, 0.5),
        (N_("a steady stream"), steady.emit_times(), 0.03, 0.5),
        (N_("one token"), [0.2], 0.05, 0.5),
        (N_("no tokens"), [], 0.05, 0.5),
        (N_("a big burst after a pause (the lag bound must act)"), [0.1] + [1.0] * 30, 0.05,
         0.3),
        (N_("interval 0 (show on arrival)"), [0.1, 0.1, 0.2, 0.5], 0.0, 0.5),
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
    exercise = tr("smooth(arrivals, interval, max_lag): an even reveal of bursty tokens")
    if not callable(smooth):
        return result(exercise, [tr("Pass your function itself: check_smooth(smooth).")])
    problems: list[str] = []
    for label, arrivals, interval, max_lag in _cases():
        name = tr(label)
        try:
            got = call_limited(lambda a=arrivals, i=interval, m=max_lag: smooth(list(a), i, m),
                               timeout=TIME_LIMIT)
        except _Timeout:
            problems.append(tr("{name}: smooth() did not return within {TIME_LIMIT:g} s.",
                               name=name, TIME_LIMIT=TIME_LIMIT))
            break
        except Exception as exc:
            problems.append(tr("{name}: smooth() raised {error}.", name=name, error=_err(exc)))
            break
        try:
            got = list(got)
        except TypeError:
            problems.append(tr("{name}: smooth() returned {got}; return a list of times.",
                               name=name, got=repr(got)))
            break
        if len(got) != len(arrivals):
            problems.append(
                tr("{name}: {arrivals} arrivals gave {times} display times; return one per token.",
                   name=name, arrivals=len(arrivals), times=len(got))
            )
            break
        if not all(_is_number(x) for x in got):
            bad = next(x for x in got if not _is_number(x))
            problems.append(tr("{name}: {bad} is not a time in seconds.", name=name, bad=repr(bad)))
            break
        expected = smooth_schedule(arrivals, interval=interval, max_lag=max_lag, catch_up=False)
        early = next((i for i, (a, d) in enumerate(zip(arrivals, got, strict=True))
                      if d < a - 1e-9), None)
        if early is not None:
            problems.append(
                tr("{name}: token {early} is shown at {shown:.3f} s but arrived at "
                   "{arrived:.3f} s: a token can't be shown before it arrived (take "
                   "max(arrival, previous + interval)).", name=name, early=early,
                   shown=got[early], arrived=arrivals[early])
            )
            break
        late = next((i for i, (a, d) in enumerate(zip(arrivals, got, strict=True))
                     if d > a + max_lag + 1e-9), None)
        if late is not None:
            problems.append(
                tr("{name}: token {late} waited {waited:.3f} s after arriving, more than max_lag = "
                   "{max_lag:g} s (cap with min(..., arrival + max_lag)).",
                   name=name, late=late, waited=got[late] - arrivals[late], max_lag=max_lag)
            )
            break
        wrong = next((i for i, (e, d) in enumerate(zip(expected, got, strict=True))
                      if not math.isclose(e, d, rel_tol=1e-6, abs_tol=1e-6)), None)
        if wrong is not None:
            i = wrong
            problems.append(
                tr("{name}: token {i} (arrived {arrived:.3f} s) shown at {shown:.3f} s, "
                   "expected {expected:.3f} s (the first token is shown the moment it "
                   "arrives).", name=name, i=i, arrived=arrivals[i], shown=got[i],
                   expected=expected[i]) if i == 0 else
                tr("{name}: token {i} (arrived {arrived:.3f} s) shown at {shown:.3f} s, "
                   "expected {expected:.3f} s = min(max({arrived:.3f}, {previous:.3f} + "
                   "{interval:g}), {arrived:.3f} + {max_lag:g}).", name=name, i=i,
                   arrived=arrivals[i], shown=got[i], expected=expected[i],
                   previous=expected[i - 1], interval=interval, max_lag=max_lag)
            )
            break
    notes = []
    if not problems:
        notes.append(tr("Never early, never more than max_lag late, an even pace in between."))
    return result(exercise, problems, notes)
