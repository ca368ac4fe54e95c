"""The house's rules (docs/architecture.md), checked on every run.

Two independent readers of the import graph:

- ``lint-imports`` runs the import-linter contracts of ``pyproject.toml``
  (layers, ``client``/``server`` independence, pure lower layers, no cycle
  between siblings);
- this file parses every module of ``sse_lab`` with :mod:`ast` and collects
  *every* first-party import (module level, inside functions, under
  ``if TYPE_CHECKING:``), then checks: no import cycle between modules, no
  import from a higher layer or between independent siblings, no third-party
  framework in the lower layers, no private name imported or read across
  modules, no first-party import inside a function, no module over 800 lines.

The layers are read from the import-linter layers contract, so the two checks
cannot drift apart. A failure names the importing file and line.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PKG = "sse_lab"
MAX_LINES = 800

#: Third-party packages each layer must not import (besides higher layers).
UI = {"matplotlib", "ipywidgets", "IPython", "ipykernel"}
FORBIDDEN_EXTERNAL = {
    0: None,  # L0: standard library only (see test_sans_io_layer_is_stdlib_only)
    1: {"tornado"} | UI,
    2: UI,  # client/ is further kept off tornado below
}


@dataclass(frozen=True)
class Import:
    importer: str  # module name of the importing file
    imported: str  # first-party module the statement loads
    names: tuple[str, ...]  # names taken from it by ``from ... import``
    line: int
    in_function: bool

    def where(self) -> str:
        return f"{module_path(self.importer)}:{self.line}"


def module_path(name: str) -> str:
    return str(modules()[name].relative_to(ROOT))


@cache
def modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    out = {}
    for path in sorted((ROOT / PKG).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def _resolve(name: str) -> str | None:
    """The longest existing module that ``name`` names or lies in."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules():
            return candidate
        parts.pop()
    return None


def _absolute(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer if _is_package(importer) else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    return f"{base}.{node.module}" if node.module else base


class _Collector(ast.NodeVisitor):
    def __init__(self, importer: str) -> None:
        self.importer = importer
        self.depth = 0
        self.first_party: list[Import] = []
        self.external: list[tuple[str, int]] = []  # (top-level package, line)

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _add(self, target: str, names: tuple[str, ...], line: int) -> None:
        top = target.partition(".")[0]
        if top != PKG:
            self.external.append((top, line))
            return
        resolved = _resolve(target)
        assert resolved, f"{module_path(self.importer)}:{line} imports missing {target}"
        self.first_party.append(Import(self.importer, resolved, names, line, self.depth > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, (), node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _absolute(self.importer, node)
        if base == "__future__":
            return
        plain = []
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in modules():  # ``from pkg import submodule``
                self._add(sub, (), node.lineno)
            else:
                plain.append(alias.name)
        if plain or not node.names:
            self._add(base, tuple(plain), node.lineno)


@cache
def scan() -> tuple[list[Import], dict[str, list[tuple[str, int]]], dict[str, ast.Module]]:
    imports: list[Import] = []
    external: dict[str, list[tuple[str, int]]] = {}
    trees = {}
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        trees[name] = tree
        collector = _Collector(name)
        collector.visit(tree)
        imports += collector.first_party
        external[name] = collector.external
    return imports, external, trees


# -- the layers, as declared for import-linter ------------------------------------------


@dataclass(frozen=True)
class Layer:
    rank: int  # 0 = lowest
    members: tuple[str, ...]  # dotted module names
    independent: bool


@cache
def layers() -> list[Layer]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    (container,) = contract["containers"]
    out = []
    declared = contract["layers"]
    for rank, spec in enumerate(reversed(declared)):
        independent = "|" in spec
        tails = [t.strip().strip("()") for t in re.split(r"[|:]", spec)]
        out.append(Layer(rank, tuple(f"{container}.{t}" for t in tails), independent))
    return out


def _member(module: str, member: str) -> bool:
    return module == member or module.startswith(member + ".")


def placement(module: str) -> tuple[Layer, str] | None:
    """The layer holding ``module`` and the layer member (e.g. ``sse_lab.server``)."""
    for layer in layers():
        for member in layer.members:
            if _member(module, member):
                return layer, member
    return None


# -- the tests ------------------------------------------------------------------------


def test_import_linter_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    command = [str(lint_imports)] if lint_imports.exists() else ["lint-imports"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [*command, "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    report = out.stdout[out.stdout.find("Contracts") :] if "Contracts" in out.stdout else out.stdout
    assert out.returncode == 0, report + out.stderr


def test_every_module_sits_in_a_layer() -> None:
    # The root package's __init__ is the lazy public facade and sits above all layers.
    loose = [m for m in modules() if m != PKG and placement(m) is None]
    assert not loose, f"modules in no layer of pyproject.toml's layers contract: {loose}"


def test_no_import_from_a_higher_layer_or_an_independent_sibling() -> None:
    imports, _, _ = scan()
    bad = []
    for imp in imports:
        src, dst = placement(imp.importer), placement(imp.imported)
        if src is None or dst is None:  # the root facade
            continue
        (src_layer, src_member), (dst_layer, dst_member) = src, dst
        if dst_layer.rank > src_layer.rank:
            bad.append(
                f"{imp.where()}: {imp.importer} (L{src_layer.rank}) imports "
                f"{imp.imported} (L{dst_layer.rank}, a higher layer)"
            )
        elif dst_layer is src_layer and src_layer.independent and src_member != dst_member:
            bad.append(
                f"{imp.where()}: {src_member} imports its independent sibling {imp.imported}"
            )
    assert not bad, "\n".join(bad)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_modules_counting_function_level_imports() -> None:
    imports, _, _ = scan()
    edges: dict[str, set[str]] = defaultdict(set)
    lines: dict[tuple[str, str], list[str]] = defaultdict(list)
    for imp in imports:
        if imp.importer != imp.imported:
            edges[imp.importer].add(imp.imported)
            lines[imp.importer, imp.imported].append(imp.where())
    report = []
    for component in _cycles(edges):
        inside = set(component)
        hops = [
            f"    {a} -> {b}  ({', '.join(lines[a, b])})"
            for a in component
            for b in sorted(edges[a] & inside)
        ]
        report.append(f"cycle through {len(component)} modules:\n" + "\n".join(hops))
    assert not report, "\n".join(report)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _outside_private_module(importer: str, imported: str) -> bool:
    """``imported`` lies in a private module (``pkg._x``) and ``importer`` is not in ``pkg``."""
    parts = imported.split(".")
    for i, part in enumerate(parts):
        if _private(part):
            owner = ".".join(parts[:i])
            return not importer.startswith(owner + ".")
    return False


def test_no_private_name_imported_across_modules() -> None:
    imports, _, _ = scan()
    bad = []
    for imp in imports:
        if imp.importer == imp.imported:
            continue
        for name in imp.names:
            if _private(name):
                bad.append(f"{imp.where()}: from {imp.imported} import {name}")
        if _outside_private_module(imp.importer, imp.imported):
            bad.append(f"{imp.where()}: imports {imp.imported}, private to its package")
    assert not bad, "make these public (and documented) or keep them in one module:\n" + (
        "\n".join(bad)
    )


def _module_aliases(importer: str, tree: ast.Module) -> dict[str, str]:
    """Local names bound to first-party modules (``m`` in ``import sse_lab.lab.monitor as m``)."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.partition(".")[0] == PKG:
                    if a.asname:
                        aliases[a.asname] = a.name
                    else:
                        aliases[PKG] = PKG
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(importer, node)
            for a in node.names:
                if f"{base}.{a.name}" in modules():
                    aliases[a.asname or a.name] = f"{base}.{a.name}"
    return aliases


def _dotted(node: ast.expr) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def test_no_private_attribute_of_another_module_read_or_written() -> None:
    _, _, trees = scan()
    bad = set()
    for importer, tree in trees.items():
        aliases = _module_aliases(importer, tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not _private(node.attr):
                continue
            chain = _dotted(node.value)
            if not chain or chain[0] not in aliases:
                continue
            target = ".".join([aliases[chain[0]], *chain[1:]])
            if target in modules() and target != importer:
                bad.add(f"{module_path(importer)}:{node.lineno}: {target}.{node.attr}")
    assert not bad, "\n".join(sorted(bad))


#: Private by name only: the public API of ``collections.namedtuple``.
NAMEDTUPLE_API = {"_replace", "_asdict", "_fields", "_make", "_field_defaults"}
#: Private by name only: argparse has no public name for the type of ``add_subparsers()``.
STDLIB_TYPES = {"_SubParsersAction"}
#: The one module allowed to touch Tornado's private attributes (tested against
#: each Tornado release by tests/test_tornado_internals.py).
TORNADO_INTERNALS = f"{PKG}.server.tornado_internals"


def _defined_privates(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, variables, ``self._x = ...``."""
    defined = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            defined.add(node.attr)
    return defined


def test_no_private_attribute_reached_from_another_module() -> None:
    # ``handler._gone`` in a module that never defines ``_gone`` reaches into another
    # module's object: use a documented hook instead. ``self._x`` may use what one of
    # our own base classes defines (a subclass's protected access), but never a private
    # attribute of Tornado's: those go through server/tornado_internals.py.
    _, _, trees = scan()
    own = {m: _defined_privates(t) | NAMEDTUPLE_API | STDLIB_TYPES for m, t in trees.items()}
    first_party = set().union(*own.values())
    bad = []
    for module, tree in trees.items():
        if module == TORNADO_INTERNALS:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not _private(node.attr):
                continue
            if node.attr in own[module]:
                continue
            on_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if on_self and node.attr in first_party:
                continue
            bad.append((module_path(module), node.lineno, ast.unparse(node)))
    assert not bad, "\n".join(f"{path}:{line}: {expr}" for path, line, expr in sorted(bad))


def test_no_first_party_import_inside_a_function() -> None:
    imports, _, _ = scan()
    bad = [f"{i.where()}: imports {i.imported} inside a function" for i in imports if i.in_function]
    assert not bad, "import at the top of the module (a cycle? move the shared part down):\n" + (
        "\n".join(bad)
    )


def test_lower_layers_keep_off_frameworks() -> None:
    _, external, _ = scan()
    bad = []
    for module, found in external.items():
        where = placement(module)
        if where is None:
            continue
        layer, member = where
        forbidden = set(FORBIDDEN_EXTERNAL.get(layer.rank) or ())
        if member == f"{PKG}.client":
            forbidden.add("tornado")  # client/ is asyncio only
        for top, line in found:
            if top in forbidden:
                bad.append(f"{module_path(module)}:{line}: {member} (L{layer.rank}) imports {top}")
    assert not bad, "\n".join(bad)


def test_sans_io_layer_is_stdlib_only() -> None:
    _, external, _ = scan()
    bad = []
    for module, found in external.items():
        where = placement(module)
        if where and where[0].rank == 0:
            bad += [
                f"{module_path(module)}:{line}: imports {top}"
                for top, line in found
                if top not in sys.stdlib_module_names
            ]
    assert not bad, "\n".join(bad)


def test_no_module_over_800_lines() -> None:
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in modules().values()
    }
    big = {p: n for p, n in sizes.items() if n > MAX_LINES}
    assert not big, f"split these modules (limit {MAX_LINES} lines): {big}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from sse_lab.client import record\n", ("sse_lab.client", ("record",), False)),
        ("def f():\n    from . import protocol\n", ("sse_lab.protocol", (), True)),
        ("import sse_lab.lab.plots as p\n", ("sse_lab.lab.plots", (), False)),
    ],
)
def test_the_scanner_sees_module_and_function_level_imports(
    source: str, expected: tuple[str, tuple[str, ...], bool]
) -> None:
    # The checks above are only as good as the scanner: it must resolve relative
    # imports and submodules and see imports inside functions.
    collector = _Collector("sse_lab.metrics")
    collector.visit(ast.parse(source))
    (imp,) = collector.first_party
    assert (imp.imported, imp.names, imp.in_function) == expected
