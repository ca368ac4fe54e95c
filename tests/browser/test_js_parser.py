"""``/static/sse-parser.js`` in Chromium against every spec case of ``sse_lab.conformance``.

Each case's bytes are fed to a fresh ``EventStreamParser`` four ways: whole,
byte by byte (every CRLF pair, BOM and multi-byte character split), at random
split points (several seeds), and whole with the events of ``feed()`` alone
("prompt": a complete event must not wait for ``close()``). The events (type,
data, lastEventId) and the final ``retry``/``lastEventId`` must be the case's.
"""

from __future__ import annotations

import random
import urllib.request
from typing import Any

import pytest

from sse_lab.conformance import CASES, Case, as_event
from sse_lab.lab.browser_reports import wait_for_reports
from sse_lab.protocol import Event
from sse_lab.server import LabServer

#: Runs every case with every chunking in the page; returns what the parser said.
_RUN_ALL = """async (cases) => {
  const { EventStreamParser } = await import('./static/sse-parser.js');
  const out = [];
  for (const c of cases) {
    const bytes = Uint8Array.from(c.bytes);
    const results = {};
    for (const [mode, cuts] of Object.entries(c.splits)) {
      const p = new EventStreamParser();
      const fed = [];
      let prev = 0;
      try {
        for (const cut of [...cuts, bytes.length]) {
          fed.push(...p.feed(bytes.subarray(prev, cut)));
          prev = cut;
        }
        const late = p.close();
        results[mode] = { fed, late, retry: p.retry, lastEventId: p.lastEventId };
      } catch (e) {
        results[mode] = { error: String(e) };
      }
    }
    out.push(results);
  }
  return out;
}"""

RANDOM_SEEDS = range(5)


def _splits(stream: bytes, name: str) -> dict[str, list[int]]:
    n = len(stream)
    splits = {"whole": [], "bytewise": list(range(1, n))}
    for seed in RANDOM_SEEDS:
        rng = random.Random(f"{name}/{seed}")
        k = rng.randint(1, max(1, n // 2)) if n > 1 else 0
        splits[f"random{seed}"] = sorted(rng.sample(range(1, n), min(k, n - 1))) if n > 1 else []
    return splits


def _events(raw: list[dict[str, Any]]) -> tuple[Event, ...]:
    return tuple(as_event(e) for e in raw)


def _problems(case: Case, results: dict[str, Any]) -> list[str]:
    problems = []
    for mode, got in results.items():
        if "error" in got:
            problems.append(f"[{mode}] raised {got['error']}")
            continue
        want = tuple(Event(e.event, e.data, e.id) for e in case.events)  # retry: not per event
        have = _events(got["fed"] + got["late"])
        if have != want:
            problems.append(f"[{mode}] events {have!r}, expected {want!r}")
        if got["late"]:
            problems.append(f"[{mode}] close() dispatched {len(got['late'])} unfinished event(s)")
        if got["retry"] != case.retry:
            problems.append(f"[{mode}] retry {got['retry']!r}, expected {case.retry!r}")
        if got["lastEventId"] != case.last_event_id:
            problems.append(
                f"[{mode}] lastEventId {got['lastEventId']!r}, expected {case.last_event_id!r}"
            )
    return problems


@pytest.fixture
def parser_results(page: Any, demo_server: LabServer) -> list[tuple[Case, dict[str, Any]]]:
    page.goto(demo_server.url + "/fetch")
    payload = [{"bytes": list(c.stream), "splits": _splits(c.stream, c.name)} for c in CASES]
    results = page.evaluate(_RUN_ALL, payload)
    return list(zip(CASES, results, strict=True))


def test_js_parser_passes_every_spec_case(
    parser_results: list[tuple[Case, dict[str, Any]]],
) -> None:
    failed = {case.name: p for case, res in parser_results if (p := _problems(case, res))}
    passed = len(CASES) - len(failed)
    modes = len(parser_results[0][1])
    print(f"JS parser spec score: {passed}/{len(CASES)} cases, each in {modes} chunkings")
    assert not failed, "\n".join(f"{name}: {p[0]}" for name, p in failed.items())


def test_parser_is_served_as_a_module_with_the_public_names(
    page: Any, demo_server: LabServer
) -> None:
    with urllib.request.urlopen(demo_server.url + "/static/sse-parser.js") as resp:
        assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    page.goto(demo_server.url + "/fetch")
    shape = page.evaluate(
        """async () => {
      const m = await import('./static/sse-parser.js');
      const p = new m.EventStreamParser();
      const before = p.retry;
      const a = p.feed(new TextEncoder().encode('retry: 250\\nid: 7\\ndata: hi\\r'));
      const b = p.feed(new TextEncoder().encode('\\n\\r\\n'));
      return {names: Object.keys(m), before, after: p.retry, a, b, close: p.close()};
    }"""
    )
    assert shape["names"] == ["EventStreamParser"]
    assert shape["before"] is None and shape["after"] == 250
    assert shape["a"] == [] and shape["close"] == []
    assert shape["b"] == [{"type": "message", "data": "hi", "lastEventId": "7"}]


def test_the_parser_check_page_scores_it_in_the_browser(page: Any, demo_server: LabServer) -> None:
    """``/parser-check``: the same grading, done by the page, reported back."""
    page.goto(demo_server.url + "/parser-check")
    page.wait_for_function("() => window.sseLab.finished", timeout=60_000)
    lab = page.evaluate("() => window.sseLab")
    assert lab["failures"] == [] and lab["passed"] == lab["total"] == len(CASES)
    assert lab["runs"] == 5 * len(CASES)
    [rep] = wait_for_reports(demo_server, "parser", timeout=10)
    assert rep["passed"] == len(CASES)
