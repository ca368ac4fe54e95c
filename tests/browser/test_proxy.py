"""Behind jupyter-server-proxy, as on JupyterHub and Binder.

The browser reaches the in-kernel server only through the Jupyter server, at
``/proxy/<port>/``. jupyter-server-proxy (4.x) streams a response chunk by
chunk only when the request's ``Accept`` header is exactly
``text/event-stream`` (``_proxy_progressive``); any other request goes through
``_proxy_buffered``, which waits for the whole upstream response before
writing a byte. ``EventSource`` always sends that header, so the demo page
streams; a plain ``fetch()`` (``Accept: */*``) of the same URL is buffered.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

from sse_lab.lab.urls import public_url
from sse_lab.model import SimulatedLLM
from sse_lab.server import LabServer

from .labdriver import JupyterLab

PROMPT, SEED, SPEED = "Why stream tokens?", 0, 2.0

_FETCH = """async ([url, accept]) => {
  const t0 = performance.now();
  const r = await fetch(url, {headers: accept ? {Accept: accept} : {}, cache: 'no-store'});
  const reader = r.body.getReader(), dec = new TextDecoder();
  const chunks = []; let text = '';
  for (;;) {
    const {done, value} = await reader.read();
    if (done) break;
    chunks.push({t: performance.now() - t0, n: value.length});
    text += dec.decode(value, {stream: true});
  }
  return {status: r.status, type: r.headers.get('content-type'), chunks, text};
}"""


def plan() -> Any:
    return SimulatedLLM(speed=SPEED).plan(PROMPT, SEED)


@pytest.mark.timeout(180)  # the first user of the package-scoped JupyterLab starts it
def test_eventsource_through_the_proxy_streams_incrementally(
    page: Any, demo_server: LabServer, jupyter_lab: JupyterLab
) -> None:
    query = urlencode({"prompt": PROMPT, "seed": SEED, "speed": SPEED, "autostart": 1})
    path = public_url(demo_server, f"/?{query}", proxy="/")
    assert path.startswith(f"/proxy/{demo_server.port}/")
    page.goto(jupyter_lab.url + path)

    # Mid-stream, part of the answer is already in the DOM.
    page.wait_for_function(
        "() => document.querySelectorAll('#message span.tok').length >= 5", timeout=15_000
    )
    assert page.evaluate("() => window.sseLab.done") is False

    page.wait_for_function("() => window.sseLab.done", timeout=30_000)
    lab = page.evaluate("() => window.sseLab")
    p = plan()
    assert lab["text"] == p.text
    assert lab["reconnects"] == 0
    times = lab["times"]  # ms after the EventSource was created
    decode_ms = (p.total - p.ttft) * 1000
    assert times[0] < 0.5 * times[-1], f"first token only at {times[0]:.0f} of {times[-1]:.0f} ms"
    assert times[-1] - times[0] > 0.5 * decode_ms, (
        f"tokens arrived within {times[-1] - times[0]:.0f} ms; planned decode {decode_ms:.0f} ms"
    )
    assert demo_server.stats()["connections_served"] == 1


@pytest.mark.timeout(120)
def test_plain_fetch_through_the_proxy_is_buffered(
    page: Any, demo_server: LabServer, jupyter_lab: JupyterLab
) -> None:
    """The documented contrast: no ``Accept: text/event-stream``, no streaming."""
    # The demo page itself, through the proxy, without autostart: a same-origin
    # document to fetch from (Jupyter's own /api pages forbid fetch by CSP).
    page.goto(jupyter_lab.url + public_url(demo_server, "/", proxy="/"))
    query = urlencode({"prompt": PROMPT, "seed": SEED, "speed": SPEED})
    url = public_url(demo_server, f"/chat?{query}", proxy="/")
    p = plan()
    total_ms = p.total * 1000
    decode_ms = (p.total - p.ttft) * 1000

    plain = page.evaluate(_FETCH, [url, None])
    assert plain["status"] == 200
    assert plain["text"].rstrip().endswith("data: [DONE]")
    assert (
        "".join(line[6:] for line in plain["text"].split("\n") if line.startswith("data: "))
        == p.text + "[DONE]"
    )
    first, last = plain["chunks"][0]["t"], plain["chunks"][-1]["t"]
    # Nothing reaches the browser before the model has finished the answer...
    assert first > 0.9 * total_ms, f"first byte at {first:.0f} ms of {total_ms:.0f} ms"
    # ...and then everything comes at once.
    assert last - first < 0.1 * decode_ms, f"chunks spread over {last - first:.0f} ms"

    # Same URL, same fetch, only the header added: now the proxy streams.
    sse = page.evaluate(_FETCH, [url, "text/event-stream"])
    assert sse["status"] == 200 and sse["type"].startswith("text/event-stream")
    # Each request is its own answer: ids are <answer>:<k>, so compare offsets.
    def offsets(text: str) -> str:
        return re.sub(r"^id: [^:\n]*:", "id: ", text.replace("\r\n", "\n"), flags=re.M)

    assert offsets(sse["text"]) == offsets(plain["text"])
    first, last = sse["chunks"][0]["t"], sse["chunks"][-1]["t"]
    assert first < 0.5 * total_ms
    assert last - first > 0.5 * decode_ms
    assert len(sse["chunks"]) > len(p.tokens) // 2
