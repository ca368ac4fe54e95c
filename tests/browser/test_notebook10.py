"""Notebook 10 in a real JupyterLab: the pages stream inside the notebook and report back.

Under nbval no browser loads the notebook's IFrames, so its browser cells skip.
Here JupyterLab renders them: the fetch, lifecycle and article pages run in
Chromium, post their timings to the in-kernel server, and the kernel's check
cells must all pass for real (none skipped), with the browser-vs-Python chart
rendered.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from .labdriver import (
    JupyterLab,
    capture_notebook,
    cell_errors,
    open_notebook,
    run_all_cells,
    wait_all_executed,
)

NAME = "10-browser-side.ipynb"

_OUTPUTS = """() => [...document.querySelectorAll(
  '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-OutputArea-output')]
  .map(o => o.textContent)"""


@pytest.mark.timeout(240)
def test_notebook10_runs_the_pages_and_reads_their_reports(
    page: Any, jupyter_lab: JupyterLab, artifacts: Path
) -> None:
    shot = artifacts / "10-browser-side-jupyterlab.png"
    shot.unlink(missing_ok=True)
    open_notebook(page, jupyter_lab.url, NAME)
    try:
        run_all_cells(page)
        wait_all_executed(page, timeout=150)
        page.wait_for_timeout(500)
        errors = cell_errors(page)
        outputs = "\n".join(page.evaluate(_OUTPUTS))
        capture_notebook(page, shot)
        assert errors == [], errors
        assert "a browser is showing this notebook's pages" in outputs
        assert "CHECK skipped" not in outputs, outputs
        for claim in (
            "CHECK passed: same answer in both clients",
            "CHECK passed: reconnect with Last-Event-ID",
            "CHECK passed: the payload ran only in the article's page",
            "CHECK passed: with cancellation",
            "CHECK passed: the JavaScript parser follows the spec",
            "CHECK passed: re-sending generated",
            "CHECK passed: wx-sse.js follows the spec in this browser",
        ):
            assert claim in outputs, f"missing {claim!r}"
        # The browser-vs-Python chart and the cost chart rendered as images.
        images = page.locator(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img"
        ).count()
        assert images >= 2
        # The pages themselves streamed inside the notebook's IFrames.
        fetch = page.frame_locator("iframe[src*='/fetch?']")
        assert fetch.locator("#status b").text_content() == "stopped"
        assert len(fetch.locator("#answer").text_content()) > 10
    except BaseException:
        if not shot.exists():
            with contextlib.suppress(Exception):
                capture_notebook(page, shot)
        raise
    finally:
        with contextlib.suppress(Exception):
            page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
