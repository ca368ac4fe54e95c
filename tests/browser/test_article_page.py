"""The source article's page next to the corrected one (``GET /article``).

The same stream reaches both; its third message is an ``<img onerror>``
payload. The article's ``innerHTML +=`` runs it (inside a sandboxed, origin-less
iframe, where it can only ``postMessage`` that it ran); the corrected page
shows it as text. The article's page also never closes on ``[DONE]``, so the
server sees it come back; the corrected page connects once.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from sse_lab.server import LabServer
from sse_lab.server.routes.pages import XSS_PAYLOAD


def _log(server: LabServer, tag: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{server.url}/lifecycle/log?tag={tag}") as resp:
        return json.load(resp)


def test_the_payload_runs_in_the_article_page_and_never_in_the_corrected_one(
    page: Any, demo_server: LabServer, artifacts: Path
) -> None:
    page.set_viewport_size({"width": 1100, "height": 560})
    page.goto(f"{demo_server.url}/article?interval=0.1")
    page.wait_for_function("() => window.sseLab.finished", timeout=30_000)
    lab = page.evaluate("() => window.sseLab")
    assert lab["xss"]["original"] >= 1  # the article's innerHTML += ran it
    assert lab["xss"]["corrected"] == 0 and lab["xss"]["other"] == 0
    # The article's page reconnected after [DONE]; the corrected one closed.
    assert len(_log(demo_server, lab["tag"] + "-original")) == lab["originalOpens"] == 3
    assert len(_log(demo_server, lab["tag"] + "-corrected")) == 1
    assert lab["correctedDone"] is True
    frame = page.frame_locator("#corrected")
    assert XSS_PAYLOAD in frame.locator("#message").text_content()
    assert frame.locator("#message img").count() == 0
    assert page.frame_locator("#original").locator("#message img").count() >= 1
    page.screenshot(path=str(artifacts / "article-page.png"))


def test_the_corrected_page_alone_never_runs_the_payload(page: Any, demo_server: LabServer) -> None:
    page.goto(f"{demo_server.url}/article-corrected?interval=0.05")
    page.wait_for_function("() => window.sseLab.done", timeout=20_000)
    assert XSS_PAYLOAD in page.locator("#message").text_content()
    assert page.locator("img").count() == 0
    assert page.evaluate("() => document.body.classList.contains('pwned')") is False
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_the_article_page_is_sandboxed_even_on_its_own(demo_server: LabServer) -> None:
    with urllib.request.urlopen(demo_server.url + "/article-original") as resp:
        csp = resp.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox allow-scripts;") and "allow-same-origin" not in csp
    with urllib.request.urlopen(demo_server.url + "/article") as resp:
        assert "'unsafe-inline'" not in resp.headers["Content-Security-Policy"]
