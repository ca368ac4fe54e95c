"""The browser-side pages behind jupyter-server-proxy, as on JupyterHub and Binder.

Every URL in the pages is relative, the fetch page sends
``Accept: text/event-stream`` (the proxy streams only then), and the pages'
CSP lets the Jupyter origin frame them. Same checks as direct, through
``/proxy/<port>/``.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import pytest

from sse_lab.conformance import CASES
from sse_lab.lab.browser_reports import wait_for_reports
from sse_lab.lab.urls import public_url
from sse_lab.model import SimulatedLLM
from sse_lab.server import LabServer

from .labdriver import JupyterLab
from .test_js_parser import _RUN_ALL, _problems, _splits

pytestmark = pytest.mark.timeout(180)


def proxied(lab: JupyterLab, server: LabServer, path: str) -> str:
    return lab.url + public_url(server, path, proxy="/")


def test_js_parser_through_the_proxy(
    page: Any, demo_server: LabServer, jupyter_lab: JupyterLab
) -> None:
    page.goto(proxied(jupyter_lab, demo_server, "/fetch"))
    payload = [{"bytes": list(c.stream), "splits": _splits(c.stream, c.name)} for c in CASES]
    results = page.evaluate(_RUN_ALL, payload)
    assert not [c.name for c, r in zip(CASES, results, strict=True) if _problems(c, r)]


def test_fetch_streams_and_stop_stops_the_model_through_the_proxy(
    page: Any, demo_server: LabServer, jupyter_lab: JupyterLab
) -> None:
    prompt, seed, speed = "Why stream tokens?", 0, 1.0
    plan = SimulatedLLM(speed=speed).plan(prompt, seed)
    query = urlencode({"prompt": prompt, "seed": seed, "speed": speed, "autostart": 1})
    page.goto(proxied(jupyter_lab, demo_server, f"/fetch?{query}&stop_after=6"))
    # Mid-stream: tokens are on the page before the answer is complete.
    page.wait_for_function("() => window.sseLab.tokens.length >= 3", timeout=30_000)
    assert page.evaluate("() => window.sseLab.done") is False
    page.wait_for_function("() => window.sseLab.finished", timeout=30_000)
    lab = page.evaluate("() => window.sseLab")
    assert lab["stopped"] and lab["tokensAtStop"] >= 6
    assert lab["text"] == "".join(plan.tokens[: lab["tokensAtStop"]])
    assert lab["tasksAfterStop"] == 0 and lab["eventsAfterStop"] <= 2
    stats = demo_server.stats()
    assert stats["generation_tasks"] == 0 and stats["events_sent"] < 1 + len(plan.tokens)
    [rep] = wait_for_reports(demo_server, "fetch", timeout=10)
    assert rep.kind == "stopped"
    # The proxy kept its upstream request open: the page's POST cancel found
    # the stream still running, and that is what stopped it.
    assert rep["cancelFoundStream"] is True
    print(f"through the proxy: abort-to-stop {lab['abortToStopMs']:.1f} ms (with POST cancel)")


def test_without_cancel_the_proxy_lets_the_model_run_on(
    page: Any, demo_server: LabServer, jupyter_lab: JupyterLab
) -> None:
    """jupyter-server-proxy 4.x does not close its upstream request on a disconnect."""
    prompt, seed, speed = "What is SSE?", 1, 8.0
    plan = SimulatedLLM(speed=speed).plan(prompt, seed)
    query = urlencode({"prompt": prompt, "seed": seed, "speed": speed, "autostart": 1})
    page.goto(proxied(jupyter_lab, demo_server, f"/fetch?{query}&stop_after=3&cancel=0"))
    page.wait_for_function("() => window.sseLab.finished", timeout=30_000)
    lab = page.evaluate("() => window.sseLab")
    assert lab["stopped"] and lab["cancelled"] is None
    # The page stopped reading after a few tokens, yet the server generated
    # and wrote the whole answer (role chunk + tokens + finish + [DONE]).
    want = 1 + len(plan.tokens) + 2
    deadline = time.monotonic() + plan.total + 10
    while demo_server.stats()["events_sent"] < want and time.monotonic() < deadline:
        time.sleep(0.1)
    stats = demo_server.stats()
    assert stats["events_sent"] == want, stats
    assert lab["tokensAtStop"] < len(plan.tokens) // 2


def test_lifecycle_through_the_proxy(
    page: Any, demo_server: LabServer, jupyter_lab: JupyterLab
) -> None:
    page.goto(proxied(jupyter_lab, demo_server, "/lifecycle?run=reconnect,gone,wrong-type,named"))
    page.wait_for_function("() => window.sseLab.finished", timeout=60_000)
    r = page.evaluate("() => window.sseLab.results")
    assert r["reconnect"]["ids"] == [str(i) for i in range(9)]
    assert [e["last_event_id"] for e in r["reconnect"]["server"]] == [None, "2", "5"]
    assert r["gone"]["readyState"] == 2 and len(r["gone"]["server"]) == 2
    assert r["wrong-type"]["readyState"] == 2 and len(r["wrong-type"]["server"]) == 1
    assert r["named"]["text"] == "Named events need addEventListener."


def test_article_xss_through_the_proxy(
    page: Any, demo_server: LabServer, jupyter_lab: JupyterLab
) -> None:
    page.goto(proxied(jupyter_lab, demo_server, "/article?interval=0.1"))
    page.wait_for_function("() => window.sseLab.finished", timeout=30_000)
    lab = page.evaluate("() => window.sseLab")
    assert lab["xss"]["original"] >= 1 and lab["xss"]["corrected"] == 0
    assert lab["correctedDone"] is True
