"""The EventSource lifecycle page (``GET /lifecycle``) in Chromium.

Each scenario is asserted on what the browser reported *and* on the server's
own log of the requests (``/lifecycle/log``): reconnects carry
``Last-Event-ID``, a 204 and a wrong content type end the connection for
good (readyState CLOSED, no further request), named events reach
``addEventListener``, and a seventh stream waits for one of six connections.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sse_lab.server import LabServer

CLOSED, OPEN, CONNECTING = 2, 1, 0


def run_scenarios(page: Any, server: LabServer, names: str) -> dict[str, Any]:
    page.goto(f"{server.url}/lifecycle?run={names}")
    page.wait_for_function("() => window.sseLab.finished", timeout=60_000)
    return page.evaluate("() => window.sseLab.results")


def test_reconnect_sends_last_event_id_and_done_closes(page: Any, demo_server: LabServer) -> None:
    r = run_scenarios(page, demo_server, "reconnect")["reconnect"]
    assert r["done"] and r["readyState"] == CLOSED
    assert r["ids"] == [str(i) for i in range(9)]  # no event lost, none twice
    assert r["reconnects"] == 2 and len(r["opens"]) == 3
    assert [e["last_event_id"] for e in r["server"]] == [None, "2", "5"]
    assert all(e["readyState"] == CONNECTING for e in r["errors"])  # "will reconnect"
    assert all(gap >= 250 for gap in r["reconnectGapsMs"]), r["reconnectGapsMs"]  # retry: 300


def test_204_ends_reconnection_for_good(page: Any, demo_server: LabServer) -> None:
    r = run_scenarios(page, demo_server, "gone")["gone"]
    assert r["readyState"] == CLOSED and r["events"] == 2
    assert r["errors"] == [CONNECTING, CLOSED]
    assert [e["answer"] for e in r["server"]] == ["stream", "204"]
    assert r["server"][1]["last_event_id"] == "1"
    _no_more_requests(demo_server, r["tag"], 2)


def test_wrong_content_type_fails_without_retry(page: Any, demo_server: LabServer) -> None:
    r = run_scenarios(page, demo_server, "wrong-type")["wrong-type"]
    assert r["readyState"] == CLOSED and r["opens"] == 0 and r["events"] == 0
    assert r["errors"] == [CLOSED]
    assert len(r["server"]) == 1
    _no_more_requests(demo_server, r["tag"], 1)


def _no_more_requests(server: LabServer, tag: str, n: int) -> None:
    # CLOSED is final per the spec; check the server agrees over several
    # reconnection times (the body's retry: 100, the stream's retry: 300).
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        with urllib.request.urlopen(f"{server.url}/lifecycle/log?tag={tag}") as resp:
            assert len(json.load(resp)) == n
        time.sleep(0.1)


def test_named_events_reach_add_event_listener(page: Any, demo_server: LabServer) -> None:
    r = run_scenarios(page, demo_server, "named")["named"]
    assert r["done"] and r["status"] == ["thinking"]
    assert r["text"] == "Named events need addEventListener."
    assert r["messages"] == ["this one is a plain message"]
    assert r["usage"] == {"tokens": 5}


@pytest.mark.timeout(120)
def test_the_seventh_stream_waits_for_a_connection(
    page: Any, demo_server: LabServer, artifacts: Path
) -> None:
    page.set_viewport_size({"width": 1000, "height": 1500})
    results = run_scenarios(page, demo_server, "all")
    r = results["six"]
    assert r["seventhWhileSixOpen"] == CONNECTING
    assert all(t is not None for t in r["openedAt"])
    assert r["openedAt"][6] > max(r["openedAt"][:6]) + 900  # held for the 1 s pause at least
    assert len(r["server"]) == 7 and r["serverSeventhAfterSixthMs"] >= 900
    assert all("error" not in res for res in results.values()), results
    page.screenshot(path=str(artifacts / "lifecycle-page.png"), full_page=True)
