"""The README's first command, ``make lab``, really starts JupyterLab (also as root).

The test runs the make target itself on a free port, without a browser and
without a token, and waits until ``/lab`` answers 200; then it stops the whole
process group (make, the shell, jupyter). ``-o <stamp>`` tells make not to
re-install the virtual environment: the one running this test is used.

Both editions: ``make lab`` (English, opening ``00-index.ipynb``) and
``make lab EDITION=zh-CN`` (opening ``zh-CN/00-index.ipynb``, with JupyterLab's own
interface in Chinese through the ``jupyterlab-language-pack-zh-CN`` dependency, set
for that run only: the English run's interface language stays the default).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTUP_DEADLINE = 120.0  # s; about 2 s on an idle machine, far more on a busy one


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None  # not listening yet


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM the process group, SIGKILL whatever is left after 15 s."""
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def _interface_locale(base: str) -> str:
    """The interface language JupyterLab starts with (its settings' default + user value)."""
    plugin = _json(f"{base}/lab/api/settings/@jupyterlab/translation-extension:plugin")
    default = plugin["schema"]["properties"]["locale"]["default"]
    return plugin.get("settings", {}).get("locale", default)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("edition", ["en", "zh-CN"])
def test_make_lab_serves_jupyterlab(edition: str) -> None:
    venv = Path(sys.prefix)
    if not (venv / "bin" / "jupyter").exists():
        pytest.skip(f"no jupyter in {venv}: run make test from a virtual environment")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="sse-lab-make-lab-") as home:
        env = {
            **os.environ,
            # Keep JupyterLab's runtime, settings and workspace files out of the user's home.
            "JUPYTER_RUNTIME_DIR": str(Path(home) / "runtime"),
            "JUPYTERLAB_WORKSPACES_DIR": str(Path(home) / "workspaces"),
            "JUPYTERLAB_SETTINGS_DIR": str(Path(home) / "user-settings"),
        }
        command = [
            "make",
            "--no-print-directory",
            "-o",
            str(venv / ".sse_lab-installed"),
            "lab",
            f"VENV={venv}",
            f"PORT={port}",
            f"EDITION={edition}",
            f"LAB_SETTINGS={Path(home) / 'app-settings'}",
            "LAB_ARGS=--no-browser --ServerApp.token= --ServerApp.password=",
        ]
        log_path = Path(home) / "make-lab.log"
        with open(log_path, "w+") as log:
            proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # its own process group, stopped as a whole
            )
            try:
                deadline = time.monotonic() + STARTUP_DEADLINE
                status = None
                while time.monotonic() < deadline and proc.poll() is None:
                    status = _status(f"http://127.0.0.1:{port}/lab")
                    if status == 200:
                        break
                    time.sleep(0.2)  # polling interval, not a wait for an outcome
                output = log_path.read_text()
                assert status == 200, (
                    f"/lab answered {status}, make exited {proc.poll()}:\n{output[-3000:]}"
                )
                if os.geteuid() == 0:
                    assert "--allow-root" in output, "as root, make lab says it allows root"
                start = "zh-CN/00-index.ipynb" if edition == "zh-CN" else "00-index.ipynb"
                assert f"--LabApp.default_url=/lab/tree/{start}" in output
                base = f"http://127.0.0.1:{port}"
                locale = _interface_locale(base)
                if edition == "en":
                    assert locale == "default", "the English run keeps JupyterLab's default"
                else:
                    assert locale == "zh_CN", "make lab EDITION=zh-CN sets the interface language"
                    packs = {e.name for e in entry_points(group="jupyterlab.languagepack")}
                    assert "zh_CN" in packs, (
                        "jupyterlab-language-pack-zh-CN (a dependency) is not installed")
                    assert "zh_CN" in _json(f"{base}/lab/api/translations/")["data"]
                    menus = _json(f"{base}/lab/api/translations/zh_CN")["data"]["jupyterlab"]
                    assert menus.get("Run All Cells") == ["运行所有单元格"], "menus translated"
            finally:
                _stop_group(proc)
        assert proc.poll() is not None, "make lab is still running after SIGKILL"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lab_names_the_editions_it_knows() -> None:
    venv = Path(sys.prefix)
    done = subprocess.run(
        ["make", "--no-print-directory", "-o", str(venv / ".sse_lab-installed"), "lab",
         f"VENV={venv}", "EDITION=fr"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert 'EDITION must be en or zh-CN, not "fr"' in done.stderr
