"""The chat page: a policy that runs only its own script, and a query that cannot break it."""

from __future__ import annotations

import tempfile
from typing import Any

import pytest

from sse_lab.server import LabServer, ServerConfig, start_server
from tests.browser.labdriver import CHROMIUM, launch_chromium

from .conftest import get, header, status


@pytest.fixture(scope="module")
def lab() -> LabServer:
    srv = start_server(config=ServerConfig(heartbeat=5.0))
    yield srv
    srv.stop()


def test_the_page_has_a_self_only_policy_that_jupyterlab_may_frame(lab: LabServer) -> None:
    resp = get("/", lab.port)
    assert status(resp) == 200
    csp = header(resp, "Content-Security-Policy") or ""
    assert "default-src 'self'" in csp and "script-src 'self' 'sha256-" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'self' http://127.0.0.1:* http://localhost:*" in csp
    assert header(resp, "X-Content-Type-Options") == "nosniff"


def test_a_query_named_like_a_form_property_does_not_break_autostart(lab: LabServer) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional, heavy

    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sse-lab-hostile-") as profile, \
            sync_playwright() as pw:
        context = launch_chromium(pw, profile)
        try:
            page: Any = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text)
                    if msg.type == "error" and "favicon" not in msg.location.get("url", "")
                    else None)
            page.goto(f"{lab.url}/?length=1&item=2&prompt=hi&speed=50&autostart=1")
            page.wait_for_function("() => window.sseLab && window.sseLab.done", timeout=20_000)
            text = page.evaluate("() => window.sseLab.text")
        finally:
            context.close()
    assert text, "the page did not stream"
    assert not errors, errors  # no CSP violation, no TypeError from ?length=1
