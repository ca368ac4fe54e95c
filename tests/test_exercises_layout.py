"""The exercises package: no import cycle, public names only, every checker exported."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import sse_lab.exercises as exercises

PACKAGE = Path(exercises.__file__).parent


def imported_modules(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every ``from X import names`` in a file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.module or "", [a.name for a in node.names])
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    ]


def test_checker_modules_never_import_the_package_back() -> None:
    for path in sorted(PACKAGE.glob("nb*.py")):
        for module, _names in imported_modules(path):
            assert module != "sse_lab.exercises", f"{path.name} imports its own package: a cycle"


def test_no_private_name_crosses_a_module() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        for module, names in imported_modules(path):
            if module.startswith("sse_lab"):
                private = [n for n in names if n.startswith("_") and n != "__future__"]
                assert not private, f"{path.name} imports {private} from {module}"


def test_every_checker_is_exported() -> None:
    for path in sorted(PACKAGE.glob("nb*.py")):
        mod = importlib.import_module(f"sse_lab.exercises.{path.stem}")
        for name in mod.__all__:
            assert getattr(exercises, name) is getattr(mod, name)
    assert "TRANSPORT_SCENARIOS" in exercises.__all__
    assert {"CheckResult", "result"} <= set(exercises.__all__)
