"""The demo page (``GET /``) in a real browser: Chromium's own EventSource.

Every test opens ``server.url + "/?...&autostart=1"`` and reads what the page
kept in ``window.sseLab`` and put in ``#message``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from sse_lab.model import SimulatedLLM
from sse_lab.server import LabServer

from .conftest import MARKUP, MARKUP_ANSWER, MARKUP_TOPIC

LAB_STATE = "() => window.sseLab"


def open_demo(page: Any, server: LabServer, **params: Any) -> None:
    query = urlencode({**params, "autostart": 1})
    page.goto(f"{server.url}/?{query}")


def wait_done(page: Any, timeout: float = 20.0) -> dict[str, Any]:
    page.wait_for_function("() => window.sseLab && window.sseLab.done", timeout=timeout * 1000)
    return page.evaluate(LAB_STATE)


def message_text(page: Any) -> str:
    return page.evaluate("() => document.getElementById('message').textContent")


def test_eventsource_receives_the_whole_answer_in_order(page: Any, demo_server: LabServer) -> None:
    prompt, seed = "Why stream tokens?", 3
    tokens = SimulatedLLM().tokens(prompt, seed)
    open_demo(page, demo_server, prompt=prompt, seed=seed, speed=10)
    lab = wait_done(page)

    assert message_text(page) == SimulatedLLM().answer(prompt, seed)
    assert lab["tokens"] == tokens
    # id: <answer-id>:<k> (the answer's log); one answer, offsets 0..n-1
    assert len({i.rsplit(":", 1)[0] for i in lab["ids"]}) == 1
    assert [i.rsplit(":", 1)[-1] for i in lab["ids"]] == [str(i) for i in range(len(tokens))]
    # one <span class="tok"> per token, in order
    spans = page.locator("#message span.tok").all_text_contents()
    assert spans == tokens
    assert lab["state"] == "done" and lab["reconnects"] == 0 and lab["duplicates"] == 0
    assert lab["times"] == sorted(lab["times"])


@pytest.mark.parametrize(
    "endpoint",
    ["chat", "xss"],
    ids=["markup-split-over-model-tokens", "markup-as-one-event"],
)
def test_markup_in_a_token_stays_text(
    page: Any, markup_server: LabServer, artifacts: Path, endpoint: str
) -> None:
    open_demo(page, markup_server, endpoint=endpoint, prompt=f"show {MARKUP_TOPIC}", speed=10)
    lab = wait_done(page)

    text = message_text(page)
    assert MARKUP in text
    if endpoint == "chat":
        assert text == MARKUP_ANSWER
        assert len(lab["tokens"]) > 1 and MARKUP not in lab["tokens"]  # split up
    else:
        assert MARKUP in lab["tokens"]  # one event carried all of it
    assert page.locator("img").count() == 0
    assert page.evaluate("() => document.querySelectorAll('#message *:not(span.tok)').length") == 0
    page.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert page.dialogs == []  # type: ignore[attr-defined]
    page.set_viewport_size({"width": 900, "height": 300})
    page.screenshot(path=str(artifacts / f"demo-page-markup-{endpoint}.png"))


def test_dropped_stream_resumes_without_duplicates(page: Any, demo_server: LabServer) -> None:
    prompt, seed = "What is SSE?", 1
    expected = SimulatedLLM().answer(prompt, seed)
    open_demo(page, demo_server, prompt=prompt, seed=seed, speed=10, drop_after=5)
    lab = wait_done(page)

    assert lab["reconnects"] >= 1
    assert demo_server.stats()["connections_served"] >= 2
    assert lab["duplicates"] == 0
    assert lab["text"] == expected
    assert message_text(page) == expected
    n = len(SimulatedLLM().tokens(prompt, seed))
    assert len({i.rsplit(":", 1)[0] for i in lab["ids"]}) == 1, "the reconnect resumed the answer"
    assert [i.rsplit(":", 1)[-1] for i in lab["ids"]] == [str(i) for i in range(n)]


def test_done_closes_the_source_no_reconnect_storm(page: Any, demo_server: LabServer) -> None:
    open_demo(page, demo_server, prompt="hello", speed=10)
    wait_done(page)
    served = demo_server.stats()["connections_served"]
    time.sleep(2.0)  # with retry: 200 ms, a source left open would reconnect ~10 times

    stats = demo_server.stats()
    assert stats["connections_served"] == served == 1
    assert stats["open_total"] == 0
    lab = page.evaluate(LAB_STATE)
    assert lab["state"] == "done" and lab["done"] is True
    assert lab["opens"] == 1 and lab["reconnects"] == 0


def test_dead_server_retries_are_capped(page: Any, demo_server: LabServer) -> None:
    open_demo(page, demo_server, prompt="Why stream tokens?", speed=0.5)
    page.wait_for_function("() => window.sseLab.tokens.length >= 2", timeout=15_000)
    demo_server.stop()
    page.wait_for_timeout(3000)  # retry: 200 ms -> ~15 attempts if nothing caps them
    lab = page.evaluate(LAB_STATE)
    assert lab["reconnects"] <= 6, f"{lab['reconnects']} reconnects in 3 s, state {lab['state']}"
    # The page gives up after MAX_RECONNECTS (5) backoff attempts, not never.
    page.wait_for_function("() => window.sseLab.state === 'error'", timeout=20_000)
    assert page.evaluate(LAB_STATE)["reconnects"] <= 6


_GLYPH_DIFFERS_FROM_TOFU = """(ch) => {
  // Draw the character and a code point no font has (U+0378 is unassigned);
  // a missing glyph draws the same .notdef box as the unassigned one.
  const font = getComputedStyle(document.getElementById('message')).font;
  const draw = (s) => {
    const c = document.createElement('canvas'); c.width = 64; c.height = 64;
    const g = c.getContext('2d'); g.font = font.replace(/\\d+(\\.\\d+)?px/, '40px');
    g.fillStyle = '#000'; g.textBaseline = 'top'; g.fillText(s, 4, 4);
    return Array.from(g.getImageData(0, 0, 64, 64).data);
  };
  const a = draw(ch), b = draw('\\u0378');
  const inked = a.some((v, i) => i % 4 === 3 && v > 0);
  let colored = false;
  for (let i = 0; i < a.length; i += 4)
    if (a[i + 3] > 0 && (Math.abs(a[i] - a[i + 1]) > 40 || Math.abs(a[i + 1] - a[i + 2]) > 40))
      colored = true;
  return {inked, differs: a.some((v, i) => v !== b[i]), colored};
}"""


def test_cjk_and_emoji_render_as_glyphs(
    page: Any, markup_server: LabServer, artifacts: Path
) -> None:
    page.set_viewport_size({"width": 900, "height": 300})
    open_demo(page, markup_server, prompt="你好 🎉", speed=10)
    lab = wait_done(page)
    assert lab["text"] == SimulatedLLM().answer("你好")  # the Chinese answer
    page.wait_for_timeout(300)  # let the last tokens' fade-in finish
    page.screenshot(path=str(artifacts / "demo-page-cjk-emoji.png"))

    for ch in ("你", "流", "服"):
        glyph = page.evaluate(_GLYPH_DIFFERS_FROM_TOFU, ch)
        assert glyph["inked"] and glyph["differs"], f"{ch!r} renders as a missing-glyph box"
    emoji = page.evaluate(_GLYPH_DIFFERS_FROM_TOFU, "🎉")
    assert emoji["differs"] and emoji["colored"], "🎉 is not drawn by a color emoji font"
