"""Drive headless Chromium and a throwaway JupyterLab for the browser tests.

Plain functions (no pytest here), so ``scripts/screenshot.py`` can import them
too. The fixtures in ``conftest.py`` are thin wrappers around them.

* :func:`launch_chromium` -- Debian's ``/usr/bin/chromium`` through Playwright,
  with a fresh profile directory.
* :class:`JupyterLab` -- ``jupyter lab`` on 127.0.0.1 with a random port, no
  token, a temp root holding a copy of ``notebooks/``, fresh settings (news
  prompt off, every cell attached to the DOM) and a fresh workspace.
* :func:`open_notebook`, :func:`run_all_cells`, :func:`wait_all_executed`,
  :func:`cell_errors`, :func:`capture_notebook` -- what a learner does, plus
  the checks and a whole-notebook screenshot.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# JupyterLab user settings written before the server starts: no "receive news?"
# toast, no update check, no extension manager calling PyPI, no autosave, and
# every cell attached to the DOM (the default windowing detaches off-screen
# cells, which would hide their prompts and outputs from the checks and from
# the screenshots); no blank "scroll past the end" area under the last cell.
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
        "scrollPastEnd": False,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- Chromium --------------------------------------------------------------------
def launch_chromium(playwright: Any, user_data_dir: str | Path, **options: Any) -> Any:
    """A persistent Chromium context on a fresh profile directory.

    ``launch_persistent_context`` is Playwright's way to pass
    ``--user-data-dir`` (it refuses that flag in ``args``).
    """
    options.setdefault("viewport", {"width": 1400, "height": 900})
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        **options,
    )


# -- JupyterLab server -------------------------------------------------------------
def _http(url: str, method: str = "GET", timeout: float = 5.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class JupyterLab:
    """``jupyter lab`` in a temp directory; :meth:`start`, then :meth:`stop`."""

    source: Path = NOTEBOOKS
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sse-lab-jl-")))
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def notebook_dir(self) -> Path:
        return self.root / "notebooks"

    def start(self, timeout: float = 60.0) -> JupyterLab:
        shutil.copytree(
            self.source,
            self.notebook_dir,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
        home = self.root / "home"
        settings = home / "lab-settings"
        workspaces = home / "lab-workspaces"
        for rel, values in LAB_SETTINGS.items():
            path = settings / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values), encoding="utf-8")
        workspaces.mkdir(parents=True)
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "IPYTHONDIR": str(home / "ipython"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(workspaces),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        }
        # A hub prefix inherited from the environment would make the notebooks
        # print proxy URLs; this lab is reached directly.
        for var in ("JUPYTERHUB_SERVICE_PREFIX", "SSE_LAB_PROXY"):
            env.pop(var, None)
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={self.notebook_dir}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={workspaces}",
        ]
        self.log_path = self.root / "jupyter-lab.log"
        log = open(self.log_path, "wb")  # the child writes to it; closed here after Popen
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.notebook_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited early:\n{self.log()}")
            try:
                status, _ = _http(self.url + "/api/status", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer /api/status in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def kernels(self) -> list[dict[str, Any]]:
        status, body = _http(self.url + "/api/kernels")
        return json.loads(body) if status == 200 else []

    def stop(self) -> None:
        """Shut down every kernel and the server; kill what is left over."""
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        try:
            import psutil

            procs = psutil.Process(proc.pid).children(recursive=True)
        except Exception:  # psutil missing or the server already gone
            procs = []
        try:
            for kernel in self.kernels():
                _http(f"{self.url}/api/kernels/{kernel['id']}", method="DELETE", timeout=10)
            _http(self.url + "/api/shutdown", method="POST", timeout=5)
        except OSError:
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
        for child in procs:  # kernels run in their own sessions
            try:
                child.kill()
            except Exception:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


# -- JupyterLab in the page ---------------------------------------------------------
_NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"

_APP_READY = """(name) => {
  const app = window.jupyterapp;
  const w = app && app.shell && app.shell.currentWidget;
  return !!(w && w.context && w.context.path.endsWith(name) && w.content
            && w.content.widgets.length > 0 && w.sessionContext);
}"""


def dismiss_dialogs(page: Any) -> None:
    """Accept a dialog that may block the notebook (e.g. "Select Kernel")."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        page.locator(".jp-Dialog .jp-mod-accept").first.click()
        dialog.first.wait_for(state="detached", timeout=5000)


def open_notebook(page: Any, lab_url: str, name: str, timeout: float = 60.0) -> None:
    """Open ``name`` in a fresh workspace, hide the sidebar, wait for the kernel."""
    page.goto(f"{lab_url}/lab/tree/{name}?reset", wait_until="domcontentloaded")
    page.wait_for_function(_APP_READY, arg=name, timeout=timeout * 1000)
    page.evaluate(
        """() => { const s = window.jupyterapp.shell;
                   s.collapseLeft(); s.collapseRight(); }"""
    )
    dismiss_dialogs(page)
    # Wait until the kernel is up and idle before Run All.
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
                   const k = w.sessionContext.session && w.sessionContext.session.kernel;
                   return !!k && k.status === 'idle'; }""",
        timeout=timeout * 1000,
    )


def run_all_cells(page: Any) -> None:
    """Run -> Run All Cells, through the menu bar like a learner."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item:visible", has_text=re.compile(r"^Run All Cells")).first.click()


_PROMPTS = f"""() => [...document.querySelectorAll(
    '{_NOTEBOOK} .jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
    .map(p => p.textContent.trim())"""


def code_cell_prompts(page: Any) -> list[str]:
    return page.evaluate(_PROMPTS)


def wait_all_executed(page: Any, timeout: float = 60.0) -> float:
    """Wait until every code cell shows ``[n]:``; return the seconds it took.

    Kernel "idle" is not enough (it is idle between queued cells, and a failed
    cell stops Run All): the check is each cell's execution count. Stops early
    with the error if a cell raised.
    """
    t0 = time.monotonic()
    while True:
        prompts = code_cell_prompts(page)
        if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            return time.monotonic() - t0
        errors = cell_errors(page)
        if errors and not any(p == "[*]:" for p in prompts):
            raise AssertionError(f"a cell raised: {errors[0]}")
        if time.monotonic() - t0 > timeout:
            pending = [i for i, p in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", p)]
            raise AssertionError(
                f"not all cells executed within {timeout} s; code cells {pending} show "
                f"{[prompts[i] for i in pending]}; errors: {errors}"
            )
        page.wait_for_timeout(250)


# ``output_type: error`` has no CSS class of its own in JupyterLab 4: it renders
# as application/vnd.jupyter.stderr, like a warning on stderr. The notebook
# model knows the output type, so read it there (window.jupyterapp is exposed
# by --LabApp.expose_app_in_browser); the DOM check catches IPython's
# traceback banner in case the model is not reachable.
_ERRORS = f"""() => {{
  const out = [];
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (w && w.content && w.content.model) {{
    const cells = w.content.model.cells;
    for (let i = 0; i < cells.length; i++) {{
      const c = cells.get(i);
      if (c.type !== 'code') continue;
      for (const o of c.outputs.toJSON()) {{
        if (o.output_type === 'error') out.push(`cell ${{i}}: ${{o.ename}}: ${{o.evalue}}`);
      }}
    }}
  }}
  for (const el of document.querySelectorAll(
      '{_NOTEBOOK} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')) {{
    const t = el.textContent;
    if (/Traceback \\(most recent call last\\)|^-{{20,}}\\s*$/m.test(t))
      out.push('DOM traceback: ' + t.slice(0, 800));
  }}
  return out;
}}"""


def cell_errors(page: Any) -> list[str]:
    """Every ``output_type: error`` output in the open notebook, as text."""
    return page.evaluate(_ERRORS)


# The RaceView in the DOM: found by its heading, then walked by widget
# structure (RaceView = VBox[heading, GridBox[left, right], summary]; right =
# VBox[head, TypewriterView = VBox[header, body, footer]]).
_RACE_VIEW = """(title) => {
  const text = (el) => (el ? el.textContent.replace(/\\s+/g, ' ').trim() : null);
  const heading = [...document.querySelectorAll('.widget-html')]
    .find(h => h.textContent.includes(title));
  if (!heading) return null;
  const race = heading.closest('.widget-vbox');
  const grid = race.querySelector(':scope > .widget-gridbox');
  const [left, right] = grid ? [...grid.children] : [null, null];
  const leftParts = left ? [...left.querySelectorAll(':scope > .widget-html')] : [];
  const tw = right ? right.querySelector(':scope > .widget-vbox') : null;
  const twParts = tw ? [...tw.querySelectorAll(':scope > .widget-html')] : [];
  const summary = [...race.querySelectorAll(':scope > .widget-html')].pop();
  const twBody = twParts[1] ? twParts[1].querySelector('.widget-html-content') : null;
  return {
    title: text(heading),
    prompt: text(heading.querySelector('code')),
    blockingBody: text(leftParts[1]),
    blockingSpinning: !!(left && left.querySelector('.sse-lab-spinner')),
    blockingFoot: text(leftParts[2]),
    typewriterHeader: text(twParts[0]),
    typewriterText: twBody ? twBody.textContent : null,
    typewriterFoot: text(twParts[2]),
    summary: text(summary),
  };
}"""


def race_view_state(page: Any, title: str = "Race: the same answer") -> dict[str, Any] | None:
    """What the first RaceView on the page shows, as text (``None``: no race).

    ``title``: the start of the race's heading in the notebook's language.
    """
    return page.evaluate(_RACE_VIEW, title)


def capture_notebook(page: Any, path: Path, max_height: int = 15000) -> Path:
    """Screenshot the whole open notebook, not only what fits in the viewport.

    The notebook panel scrolls inside a fixed-height page, so Playwright's
    ``full_page`` would stop at the viewport. Instead the viewport is made as
    tall as the notebook's content (up to ``max_height``), so the notebook
    panel grows and holds every cell; beyond that the scroller is shot in
    slices and the slices are stacked with Pillow.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    scroller = f"{_NOTEBOOK} .jp-WindowedPanel-outer"
    original = page.viewport_size
    dims = page.evaluate(
        """(sel) => { const s = document.querySelector(sel);
                      return [s.scrollHeight, s.clientHeight]; }""",
        scroller,
    )
    scroll_h, client_h = dims
    wanted = original["height"] + scroll_h - client_h + 40
    try:
        if wanted <= max_height:
            page.set_viewport_size({"width": original["width"], "height": wanted})
            page.wait_for_timeout(600)
            page.evaluate("(sel) => document.querySelector(sel).scrollTo(0, 0)", scroller)
            page.wait_for_timeout(200)
            page.screenshot(path=str(path), full_page=True)
        else:
            _capture_slices(page, scroller, path, original["width"], max_height)
    finally:
        page.set_viewport_size(original)
    return path


def _capture_slices(page: Any, scroller: str, path: Path, width: int, height: int) -> None:
    import io

    from PIL import Image

    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(600)
    scroll_h, client_h = page.evaluate(
        """(sel) => { const s = document.querySelector(sel);
                      return [s.scrollHeight, s.clientHeight]; }""",
        scroller,
    )
    slices = []
    top = 0
    while True:
        page.evaluate("([sel, y]) => document.querySelector(sel).scrollTo(0, y)", [scroller, top])
        page.wait_for_timeout(250)
        actual = page.evaluate("(sel) => document.querySelector(sel).scrollTop", scroller)
        shot = Image.open(io.BytesIO(page.locator(scroller).screenshot()))
        slices.append((actual, shot))
        if actual + client_h >= scroll_h - 1:
            break
        top = actual + client_h
    scale = slices[0][1].height / client_h
    out = Image.new("RGB", (slices[0][1].width, int(scroll_h * scale)), "white")
    for y, shot in slices:
        out.paste(shot, (0, int(y * scale)))
    out.save(path)
