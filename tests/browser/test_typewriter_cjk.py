"""The chat page types Chinese one character at a time (``Intl.Segmenter``), in Chromium.

A token of several Chinese characters (``输出``) becomes one ``span.tok`` per
grapheme, staggered; English tokens stay whole; the text is unchanged. Without
``Intl.Segmenter`` the page falls back to code points and still works.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from sse_lab.model import SimulatedLLM
from sse_lab.server import LabServer, ServerConfig, start_server
from sse_lab.smoothing import graphemes, is_cjk

ZH = "你好！我很高兴为你提供帮助。流式输出让你在模型还在生成时就能开始阅读 SSE 🎉。"
TRICKY = "👩\u200d💻你好🇨🇳e\u0301👍🏽"


@pytest.fixture
def zh_server() -> Iterator[LabServer]:
    srv = start_server(config=ServerConfig(model=SimulatedLLM(extra_answers={"中文": ZH})))
    yield srv
    srv.stop()


def expected_spans(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        pieces = graphemes(token)
        split = len(pieces) > 1 and any(is_cjk(g) for g in pieces)
        out += pieces if split else [token]
    return out


def run_page(page: Any, server: LabServer) -> dict[str, Any]:
    page.goto(f"{server.url}/?{urlencode({'prompt': '中文', 'speed': 10, 'autostart': 1})}")
    page.wait_for_function("() => window.sseLab && window.sseLab.done", timeout=20_000)
    return page.evaluate("() => window.sseLab")


def test_chinese_tokens_fade_in_one_character_at_a_time(
    page: Any, zh_server: LabServer, artifacts: Path
) -> None:
    lab = run_page(page, zh_server)
    assert lab["segmenter"] == "Intl.Segmenter"
    tokens = lab["tokens"]
    assert "".join(tokens) == ZH
    assert any(len(t) > 1 and is_cjk(t[0]) for t in tokens), "some tokens hold 2+ characters"
    spans = page.locator("#message span.tok").all_text_contents()
    assert spans == expected_spans(tokens)
    assert len(spans) > len(tokens)
    assert page.evaluate("() => document.getElementById('message').textContent") == ZH
    assert page.evaluate("() => document.querySelectorAll('#message *:not(span.tok)').length") == 0
    # The page's segmentation is the Unicode one (the same as sse_lab.smoothing's).
    assert page.evaluate("(t) => window.sseLab.graphemes(t)", TRICKY) == graphemes(TRICKY)
    page.set_viewport_size({"width": 900, "height": 260})
    page.screenshot(path=str(artifacts / "demo-page-chinese-by-character.png"))


def test_without_intl_segmenter_the_page_falls_back_to_code_points(
    page: Any, zh_server: LabServer
) -> None:
    page.add_init_script("delete Intl.Segmenter;")
    lab = run_page(page, zh_server)
    assert lab["segmenter"] == "Array.from"
    assert page.evaluate("() => document.getElementById('message').textContent") == ZH
    spans = page.locator("#message span.tok").all_text_contents()
    assert spans == expected_spans(lab["tokens"])  # this answer has no multi-code-point CJK
    # Code points: a surrogate pair is never cut (an emoji stays whole).
    assert page.evaluate("(t) => window.sseLab.graphemes(t)", "你👍好") == ["你", "👍", "好"]
