"""Regenerate docs/screenshot.png (and docs/screenshot.zh-CN.png): notebook 01's race,
caught mid-stream.

Starts a throwaway JupyterLab over a copy of notebooks/, opens
01-why-streaming.ipynb in headless Chromium (/usr/bin/chromium), runs all
cells from the Run menu, and takes the shot at the moment the streaming
column already shows part of the answer while the blocking column still
spins. Reuses the browser-test helpers in tests/browser/labdriver.py.

    make screenshot                     # both editions, or:
    .venv/bin/python scripts/screenshot.py [--edition zh-CN] [--out docs/screenshot.zh-CN.png]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sse_lab.i18n import tr, use_language  # noqa: E402
from sse_lab.model import SimulatedLLM  # noqa: E402
from tests.browser.labdriver import (  # noqa: E402
    CHROMIUM,
    JupyterLab,
    launch_chromium,
    open_notebook,
    race_view_state,
    run_all_cells,
)

NOTEBOOK = "01-why-streaming.ipynb"
VIEWPORT = {"width": 1280, "height": 860}


def _partway(state: dict | None, lo: float, hi: float) -> bool:
    """Streaming column between ``lo`` and ``hi`` of its answer, blocking still waiting."""
    if not state or not state["typewriterText"] or not state["blockingSpinning"]:
        return False
    seed = int(re.search(r"(?:seed|种子)\s*(\d+)", state["title"]).group(1))
    answer = SimulatedLLM().answer(state["prompt"], seed)
    shown = state["typewriterText"].rstrip("\u258d").strip()  # minus the cursor
    return answer.startswith(shown) and lo * len(answer) <= len(shown) <= hi * len(answer)


def shoot(page, lab: JupyterLab, out: Path, edition: str = "en", attempts: int = 3) -> None:
    notebook = NOTEBOOK if edition == "en" else f"{edition}/{NOTEBOOK}"
    with use_language(edition):  # the widget's title, as the kernel of that edition says it
        title = tr("Race: the same answer, blocking vs streaming")
    for attempt in range(1, attempts + 1):
        open_notebook(page, lab.url, notebook)
        run_all_cells(page)
        # The race widget appears when its cell starts: bring that cell to the
        # top of the panel before the tokens start flowing.
        heading = page.locator(".widget-html", has_text=title).first
        heading.wait_for(timeout=60_000)
        page.evaluate(
            """(title) => {
              const h = [...document.querySelectorAll('.widget-html')]
                .find(e => e.textContent.includes(title));
              h.closest('.jp-Cell').scrollIntoView({block: 'start'});
            }""",
            title,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            before = race_view_state(page, title)
            if _partway(before, 0.35, 0.75):
                page.screenshot(path=str(out))
                after = race_view_state(page, title)
                if after and after["blockingSpinning"]:  # still mid-race when the shot ended
                    shown = len(before["typewriterText"])
                    print(f"{out}: streaming column at {shown} chars, blocking still waiting")
                    page.evaluate(
                        "() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()"
                    )
                    return
                break
            if before and not before["blockingSpinning"] and before["summary"].count("ms") > 2:
                break  # the race is over: missed it
            page.wait_for_timeout(20)
        print(f"attempt {attempt}: missed the mid-stream moment, running again", file=sys.stderr)
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    raise SystemExit("could not catch the race mid-stream")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edition", choices=("en", "zh-CN"), default="en")
    parser.add_argument("--out", type=Path, default=None,
                        help="default: docs/screenshot.png, docs/screenshot.zh-CN.png for zh-CN")
    args = parser.parse_args()
    if args.out is None:
        suffix = "" if args.edition == "en" else f".{args.edition}"
        args.out = REPO / "docs" / f"screenshot{suffix}.png"
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    args.out.parent.mkdir(parents=True, exist_ok=True)
    lab = JupyterLab().start()
    try:
        with tempfile.TemporaryDirectory(prefix="sse-lab-chromium-") as profile:
            with sync_playwright() as pw:
                context = launch_chromium(pw, profile, viewport=VIEWPORT)
                try:
                    shoot(context.new_page(), lab, args.out, args.edition)
                finally:
                    context.close()
    finally:
        lab.stop()


if __name__ == "__main__":
    main()
