"""Fixtures for the browser tests: Chromium, lab servers, and a real JupyterLab.

Browser and JupyterLab are *package*-scoped: created once for all of
``tests/browser`` and torn down as soon as its last test is done, so the
Jupyter server and its kernels do not keep running (and eating the CPU) while
``make test`` goes on with the other tests and the nbval notebooks.

Without ``/usr/bin/chromium`` (or the ``playwright`` package) the browser
tests are skipped with a reason, except under CI (``CI`` set), where that is a
failure. Playwright drives Debian's Chromium; ``playwright install`` is never
needed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sse_lab.model import SimulatedLLM
from sse_lab.protocol import DONE
from sse_lab.server import LabServer, ServerConfig, SSEHandler, start_server

from .labdriver import ARTIFACTS, CHROMIUM, JupyterLab, launch_chromium

#: A custom answer whose markup must stay text. The tokenizer cuts it into
#: several tokens (' <', 'img', ' src', '=', 'x', ...), so it also checks that
#: the page never re-parses the accumulated text as HTML.
MARKUP = "<img src=x onerror=alert(1)>"
MARKUP_ANSWER = f"Tokens are text, not markup: {MARKUP} stays visible 🎉 流式输出."
MARKUP_TOPIC = "markup"


class OneTokenMarkup(SSEHandler):
    """``/xss``: the markup as ONE event (the model's tokenizer never does that)."""

    async def stream(self) -> None:
        for i, text in enumerate(["Before ", MARKUP, " after."]):
            await self.send(text, id=str(i))
        await self.send(DONE)


#: Why browser tests were skipped in this run (for the one-line summary at the end).
_SKIP_REASONS: set[str] = set()


def _chromium_or_skip() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the playwright package is missing (pip install -e '.[test]')"
    else:
        if CHROMIUM.exists():
            return
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and {reason}", pytrace=False)
    _SKIP_REASONS.add(reason)
    pytest.skip(reason)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say in one line which browser tests were skipped and how to run them.

    A skip is easy to miss among hundreds of dots; without this line, ``make test``
    on a machine without Chromium looks fully green.
    """
    if not _SKIP_REASONS:
        return
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "tests/browser/" in r.nodeid]
    terminalreporter.write_line(
        f"BROWSER TESTS SKIPPED: {len(skipped)} tests did not run: "
        f"{'; '.join(sorted(_SKIP_REASONS))}. .ci/run installs all they need.",
        yellow=True,
        bold=True,
    )


@pytest.fixture(scope="package")
def browser_context() -> Iterator[Any]:
    """One headless Chromium (fresh profile) shared by every browser test."""
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="sse-lab-chromium-") as profile:
        with sync_playwright() as pw:
            context = launch_chromium(pw, profile)
            context.set_default_timeout(30_000)
            yield context
            context.close()


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    """A new tab; records JS dialogs (``page.dialogs``) and dismisses them."""
    pg = browser_context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.dialogs = dialogs  # type: ignore[attr-defined]
    yield pg
    pg.close()


@pytest.fixture
def demo_server() -> Iterator[LabServer]:
    """A fresh lab server per test, so its counters belong to that test alone.

    ``retry_ms=200``: a dropped stream is resumed quickly, and a page that
    failed to close its EventSource after ``[DONE]`` would reconnect several
    times within the 2 s the no-reconnect-storm test watches.
    """
    srv = start_server(config=ServerConfig(retry_ms=200))
    yield srv
    srv.stop()


@pytest.fixture
def markup_server() -> Iterator[LabServer]:
    """A lab server whose model answers prompts containing ``markup`` with markup.

    Also routes ``/xss``, which sends the markup as a single event.
    """
    model = SimulatedLLM(extra_answers={MARKUP_TOPIC: MARKUP_ANSWER})
    srv = start_server(config=ServerConfig(model=model, retry_ms=200))
    srv.add_handler(r"/xss", OneTokenMarkup)
    yield srv
    srv.stop()


@pytest.fixture(scope="package")
def jupyter_lab() -> Iterator[JupyterLab]:
    """``jupyter lab`` on 127.0.0.1:<random>, no token, over a copy of notebooks/."""
    _chromium_or_skip()  # no point starting it for tests that will skip
    lab = JupyterLab().start()
    yield lab
    lab.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
