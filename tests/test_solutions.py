"""Every exercise solution in notebooks/solutions passes its checker.

Each solution file starts with a line ``# check: <expression>`` naming the
checker call that grades it, e.g. ``# check: check_parser(MyParser)``.
The file is executed with ``server`` (a running lab server) available, as in
the notebooks, then the expression is evaluated.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sse_lab.exercises as exercises

SOLUTIONS = sorted((Path(__file__).parent.parent / "notebooks" / "solutions").glob("*.py"))


def test_there_are_solutions() -> None:
    assert SOLUTIONS


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solution_passes_its_checker(path: Path, server) -> None:
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^# check: (.+)$", text, re.M)
    assert m, f"{path.name} lacks a '# check: ...' line"
    namespace: dict = {"server": server, "__name__": "solution"}
    exec(compile(text, str(path), "exec"), namespace)
    namespace.update({k: getattr(exercises, k) for k in exercises.__all__})
    namespace.update({k: v for k, v in vars(exercises).items() if k.startswith("check_")})
    verdict = eval(m.group(1), namespace)
    if hasattr(verdict, "__await__"):
        import asyncio

        verdict = asyncio.run(verdict)
    assert verdict.passed, str(verdict)
