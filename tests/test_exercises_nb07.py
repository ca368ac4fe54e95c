"""Notebook 07's checkers: escaped typewriter spans, a fixed-pace smoothing schedule."""

from __future__ import annotations

import html
import runpy
import time
from pathlib import Path

import pytest

from sse_lab.exercises import CheckResult, check_render_tokens, check_smooth

SOLUTIONS = Path(__file__).parent.parent / "notebooks" / "solutions"


def solution(name: str, func: str):
    return runpy.run_path(str(SOLUTIONS / name))[func]


def problems(verdict: CheckResult) -> str:
    assert isinstance(verdict, CheckResult)
    return " ".join(verdict.problems)


# -- render_tokens --------------------------------------------------------------------------
def test_render_tokens_solution_passes() -> None:
    verdict = check_render_tokens(solution("07-render-tokens.py", "render_tokens"))
    assert verdict.passed, verdict


def test_render_tokens_stub() -> None:
    def render_tokens(tokens):
        ...

    verdict = check_render_tokens(render_tokens)
    assert not verdict.passed and "return one HTML string" in problems(verdict)


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (lambda toks: "".join(f'<span class="tok">{t}</span>' for t in toks), "<img> element"),
        (lambda toks: "".join(toks), "<span> elements"),
        (lambda toks: "".join(f"<span>{html.escape(t)}</span>" for t in toks), 'class="tok"'),
        (
            lambda toks: " ".join(f'<span class="tok">{html.escape(t)}</span>' for t in toks)
            + ("!" if toks else ""),
            "outside the spans",
        ),
        (
            lambda toks: "".join(
                f'<span class="tok">{html.escape(html.escape(t))}</span>' for t in toks
            ),
            "escaped twice",
        ),
        (
            lambda toks: "".join(f'<span class="tok">{t.strip()}</span>' for t in toks),
            "is shown as",
        ),
        (
            lambda toks: '<div>' + "".join(
                f'<span class="tok">{html.escape(t)}</span>' for t in toks) + "</div>",
            "<div> element",
        ),
        (lambda toks: 1 / 0, "ZeroDivisionError"),
        (None, "Pass your function"),
    ],
)
def test_render_tokens_wrong_answers(fn, words: str) -> None:
    verdict = check_render_tokens(fn)
    assert not verdict.passed
    assert words in problems(verdict), problems(verdict)


def test_render_tokens_hang_is_cut() -> None:
    def render_tokens(tokens):
        while True:
            time.sleep(0.01)  # the experiment: a solution that never returns

    t0 = time.perf_counter()
    verdict = check_render_tokens(render_tokens)
    assert time.perf_counter() - t0 < 8 and "did not return" in problems(verdict)


# -- smooth -----------------------------------------------------------------------------------
def test_smooth_solution_passes() -> None:
    verdict = check_smooth(solution("07-smooth.py", "smooth"))
    assert verdict.passed, verdict


def test_smooth_stub() -> None:
    def smooth(arrivals, interval=0.05, max_lag=0.5):
        ...

    verdict = check_smooth(smooth)
    assert not verdict.passed and "list of times" in problems(verdict)


def no_lag_bound(arrivals, interval=0.05, max_lag=0.5):
    out = []
    for i, a in enumerate(arrivals):
        out.append(a if i == 0 else max(a, out[-1] + interval))
    return out


def too_early(arrivals, interval=0.05, max_lag=0.5):
    return [arrivals[0] + i * interval for i in range(len(arrivals))] if arrivals else []


def delays_first(arrivals, interval=0.05, max_lag=0.5):
    out = []
    for a in arrivals:
        t = max(a, (out[-1] if out else a) + interval)
        out.append(min(t, a + max_lag))
    return out


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (lambda a, i, m: list(a), "expected"),
        (no_lag_bound, "more than max_lag"),
        (too_early, "before it arrived"),
        (delays_first, "the first token is shown the moment it arrives"),
        (lambda a, i, m: list(a)[:-1], "display times"),
        (lambda a, i, m: [str(x) for x in a], "not a time"),
        (lambda a, i, m: 7, "return a list"),
        ("smooth", "Pass your function"),
    ],
)
def test_smooth_wrong_answers(fn, words: str) -> None:
    verdict = check_smooth(fn)
    assert not verdict.passed
    assert words in problems(verdict), problems(verdict)
