"""The fetch chat page (``GET /fetch``): POST streaming, Stop, and what Stop saves.

The page POSTs to ``v1/chat/completions`` and parses the body with
``static/sse-parser.js``. Stop aborts the fetch; the server notices the closed
connection and cancels the generation. The proof is the server's own counters
(``/stats``): live generation tasks back to zero, and no token written after
the page stopped reading beyond those already in flight.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sse_lab.client import record_sync
from sse_lab.lab.browser_reports import as_recording, page_loads, read_reports, wait_for_reports
from sse_lab.metrics import summarize
from sse_lab.model import SimulatedLLM
from sse_lab.server import LabServer

from .conftest import MARKUP, MARKUP_TOPIC

STATE = "() => window.sseLab"


def open_fetch(page: Any, server: LabServer, **params: Any) -> None:
    page.goto(f"{server.url}/fetch?{urlencode({**params, 'autostart': 1})}")


def wait_finished(page: Any, timeout: float = 30.0) -> dict[str, Any]:
    page.wait_for_function("() => window.sseLab.finished", timeout=timeout * 1000)
    return page.evaluate(STATE)


def reports(server: LabServer) -> list[dict[str, Any]]:
    with urllib.request.urlopen(server.url + "/reports?page=fetch") as resp:
        return json.load(resp)["reports"]


def test_the_whole_answer_streams_through_fetch(
    page: Any, demo_server: LabServer, artifacts: Path
) -> None:
    prompt, seed = "Why stream tokens?", 2
    open_fetch(page, demo_server, prompt=prompt, seed=seed, speed=10)
    lab = wait_finished(page)
    assert lab["done"] and not lab["stopped"] and lab["error"] is None
    assert lab["tokens"] == SimulatedLLM().tokens(prompt, seed)
    assert page.locator("#answer").text_content() == SimulatedLLM().answer(prompt, seed)
    assert lab["times"] == sorted(lab["times"]) and lab["ttfb"] <= lab["firstToken"]
    [rep] = reports(demo_server)
    assert rep["kind"] == "completed" and rep["tokens"] == len(lab["tokens"])
    assert len(rep["arrivalsMs"]) == rep["tokens"]
    page.set_viewport_size({"width": 900, "height": 420})
    page.screenshot(path=str(artifacts / "fetch-page-done.png"))


def test_stop_stops_the_model_and_keeps_the_partial_answer(
    page: Any, demo_server: LabServer, artifacts: Path
) -> None:
    prompt, seed, speed = "Why stream tokens?", 0, 1.0
    model = SimulatedLLM(speed=speed)
    plan = model.plan(prompt, seed)
    stop_after = 5
    assert len(plan.tokens) > 3 * stop_after
    open_fetch(page, demo_server, prompt=prompt, seed=seed, speed=speed, stop_after=stop_after)
    lab = wait_finished(page)
    assert lab["stopped"] and not lab["done"]
    # The partial answer stays, exactly the tokens read before Stop.
    partial = "".join(plan.tokens[: lab["tokensAtStop"]])
    assert lab["tokensAtStop"] >= stop_after
    assert page.locator("#answer").text_content() == partial == lab["text"]
    # The server cancelled the generation: no live task, and it wrote at most
    # the events that were in flight. What 100 ms of generating would add:
    following = plan.delays[lab["tokensAtStop"] : lab["tokensAtStop"] + 20]
    in_100ms = sum(1 for t in _cumsum(following) if t <= 0.1)
    assert lab["tasksAfterStop"] == 0
    assert lab["eventsAfterStop"] <= max(1, in_100ms), lab
    stats = demo_server.stats()
    assert stats["generation_tasks"] == 0 and stats["open_total"] == 0
    # role chunk + tokens read + those in flight; never the rest of the answer
    assert stats["events_sent"] < 1 + len(plan.tokens)
    print(
        f"abort-to-stop latency (browser, /stats polled): {lab['abortToStopMs']:.1f} ms; "
        f"events after Stop: {lab['eventsAfterStop']}; 100 ms of generation = {in_100ms}"
    )
    [rep] = reports(demo_server)
    assert rep["kind"] == "stopped" and rep["abortToStopMs"] == round(lab["abortToStopMs"], 1)
    page.set_viewport_size({"width": 900, "height": 420})
    page.screenshot(path=str(artifacts / "fetch-page-stopped.png"))


def _cumsum(xs: list[float]) -> list[float]:
    out, total = [], 0.0
    for x in xs:
        total += x
        out.append(total)
    return out


def test_model_markup_stays_text(page: Any, markup_server: LabServer) -> None:
    open_fetch(page, markup_server, prompt=f"show {MARKUP_TOPIC}", speed=10)
    wait_finished(page)
    assert MARKUP in page.locator("#answer").text_content()
    assert page.locator("#answer *").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_report_back_reaches_the_kernel(page: Any, demo_server: LabServer) -> None:
    """The lab-side reader turns the browser's report into a Recording."""
    prompt, seed, speed = "What is SSE?", 1, 4.0
    assert page_loads(demo_server) == {} and read_reports(demo_server) == []
    open_fetch(page, demo_server, prompt=prompt, seed=seed, speed=speed)
    [rep] = wait_for_reports(demo_server, "fetch", timeout=30)
    assert page_loads(demo_server) == {"fetch": 1}
    assert rep.kind == "completed" and rep["userAgent"].find("Chrome") >= 0
    browser = as_recording(rep)
    python = record_sync(f"{demo_server.url}/chat?prompt={prompt}&seed={seed}&speed={speed}")
    assert browser.text == python.text == SimulatedLLM().answer(prompt, seed)
    assert browser.done and len(browser.token_times) == len(python.token_times)
    b, p = summarize(browser), summarize(python)
    # Same model plan on both: the first token waits for the prefill in both.
    plan = SimulatedLLM(speed=speed).plan(prompt, seed)
    assert b.ttft >= 0.9 * plan.ttft and p.ttft >= 0.9 * plan.ttft
