"""Release units: Chinese smoothed by character, other scripts by word, nothing lost.

``regex``'s ``\\X`` (installed with tiktoken) is the reference for grapheme clusters;
``sse_lab.smoothing`` itself uses only the standard library.
"""

from __future__ import annotations

import asyncio

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from sse_lab.lab.widgets import TypewriterView
from sse_lab.model import SimulatedLLM
from sse_lab.server import ServerConfig, start_server
from sse_lab.smoothing import (
    SmoothReveal,
    UnitSplitter,
    char_times,
    gap_spread,
    graphemes,
    is_cjk,
    release_units,
    smooth_schedule,
    split_arrivals,
)

ZH = "你好！我很高兴为你提供帮助。流式输出让你在模型还在生成时就能开始阅读。"

# Characters whose clustering is the same in every recent Unicode version.
PIECES = [
    "a", "b", "Z", "4", "-", ".", " ", "  ", "\n", "\r", "\t",
    "你", "好", "助", "，", "。", "！", "「", "」", "あ", "カ", "ｶ", "ﾞ",
    "\u0301", "\u0308", "\u0903",  # combining acute, diaeresis; a spacing mark
    "👍", "👩", "💻", "❤", "\ufe0f", "\u200d", "\U0001f3fd",  # emoji, VS16, ZWJ, skin tone
    "\U0001f1e8", "\U0001f1f3", "\U0001f1fa",  # regional indicators C, N, U
    "한", "국", "\u1100", "\u1161", "\u11a8",  # Hangul syllables and jamo L V T
    "é", "\U00020000", "\U000e0100",  # a CJK extension B ideograph, an ideographic VS
]
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


def reference(text: str) -> list[str]:
    return regex.findall(r"\X", text)


@pytest.mark.parametrize(("text", "clusters"), [
    ("你好", ["你", "好"]),
    ("e\u0301t\u00e9", ["e\u0301", "t", "\u00e9"]),
    ("👍🏽!", ["👍🏽", "!"]),
    ("👩\u200d💻ok", ["👩\u200d💻", "o", "k"]),
    ("🇨🇳🇺🇸", ["🇨🇳", "🇺🇸"]),
    ("👍\u200d🇨", ["👍\u200d", "🇨"]),  # a ZWJ joins pictographs, not a flag's letter
    ("👍\u200d\u200d❤", ["👍\u200d\u200d", "❤"]),  # one ZWJ between two pictographs
    ("❤\u0903\u200d💻", ["❤\u0903\u200d", "💻"]),  # a spacing mark breaks the sequence
    ("\u1100\u1161\u11a8한", ["\u1100\u1161\u11a8", "한"]),
    ("a\r\nb", ["a", "\r\n", "b"]),
    ("", []),
])
def test_graphemes_table(text: str, clusters: list[str]) -> None:
    assert graphemes(text) == clusters == reference(text)


@settings(max_examples=1000, deadline=None)
@given(texts)
def test_graphemes_match_the_unicode_reference(text: str) -> None:
    assert graphemes(text) == reference(text)


@pytest.mark.parametrize(("text", "by", "units"), [
    ("你好，我是 GPT-4o 助手", "auto", ["你", "好", "，", "我", "是", " GPT-4o ", "助", "手"]),
    ("你好，我是 GPT-4o 助手", "word", ["你好，我是 ", "GPT-4o ", "助手"]),
    ("Hello world, how are you?", "auto", ["Hello ", "world, ", "how ", "are ", "you?"]),
    ("  lead 你好 `x = 1`", "auto", ["  lead ", "你", "好", " `x ", "= ", "1`"]),
    ("好的👍谢谢", "auto", ["好", "的", "👍", "谢", "谢"]),
    ("ab c", "char", ["a", "b", " c"]),
    ("한국어 문장", "auto", ["한국어 ", "문장"]),  # Korean puts spaces between words
])
def test_release_units_table(text: str, by: str, units: list[str]) -> None:
    assert release_units(text, by) == units  # type: ignore[arg-type]


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="by must be"):
        release_units("x", "sentence")  # type: ignore[arg-type]


def test_is_cjk() -> None:
    assert all(is_cjk(c) for c in "你好，。！あカ\U00020000")
    assert not any(is_cjk(c) for c in "aé한👍 ")


@settings(max_examples=300, deadline=None)
@given(st.one_of(texts, st.text(max_size=60)), st.sampled_from(["auto", "word", "char"]))
def test_release_units_are_lossless(text: str, by: str) -> None:
    units = release_units(text, by)  # type: ignore[arg-type]
    assert "".join(units) == text
    assert all(units)
    if by != "word":
        # A unit holds at most one CJK character (never a run of them).
        assert all(sum(is_cjk(g) for g in graphemes(u)) <= 1 for u in units)


@settings(max_examples=300, deadline=None)
@given(st.one_of(texts, st.text(max_size=60)), st.sampled_from(["auto", "word", "char"]),
       st.lists(st.integers(0, 60), max_size=8))
def test_a_stream_gives_the_units_of_the_whole_text(text: str, by: str, cuts: list[int]) -> None:
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    tokens = [text[a:b] for a, b in zip(points, points[1:], strict=False)] or [""]
    times = [0.1 * i for i in range(len(tokens))]
    unit_times, units = split_arrivals(times, tokens, by)  # type: ignore[arg-type]
    whole = release_units(text, by)  # type: ignore[arg-type]
    assert "".join(units) == text and all(units)
    if by == "word" or not any(is_cjk(g) and len(g) > 1 for g in graphemes(text)):
        # Released early or not, a CJK character is a unit of its own either way;
        # only an accent on a CJK character that comes in a later token differs.
        assert units == whole
    assert unit_times == sorted(unit_times) and len(unit_times) == len(units)
    # A unit is never released before the token that completed it arrived.
    for t, k in zip(unit_times, range(len(units)), strict=True):
        done = len("".join(units[: k + 1]))
        arrived = len("".join(tokens[: round(t / 0.1) + 1]))
        assert done <= arrived


def test_splitter_holds_the_last_unit_until_the_next_starts() -> None:
    sp = UnitSplitter("auto")
    assert sp.feed("你好") == ["你", "好"]  # a CJK character goes out at once
    assert sp.feed("，wor") == ["，"]  # "wor" might still grow
    assert sp.feed("ld ") == []  # and so might "world "
    assert sp.feed("好 ok") == ["world ", "好"]
    assert sp.close() == [" ok"] and sp.close() == []


def test_chinese_answer_by_word_vs_by_character() -> None:
    """The measurement behind notebook 07: word re-chunking holds Chinese back."""
    plan = SimulatedLLM(cadence="bursty", extra_answers={"中文": ZH}).plan("中文", 0)
    arrivals, tokens = plan.emit_times(), plan.tokens
    assert "".join(tokens) == ZH
    n_chars = len([g for g in graphemes(ZH) if not g.isspace()])
    shown = {}
    for by in ("word", "auto"):
        times, units = split_arrivals(arrivals, tokens, by)
        display = smooth_schedule(times, units, max_lag=0.4, per="char")
        shown[by] = char_times(display, units)
        assert len(shown[by]) == n_chars
    # By word: no spaces, so the whole answer is one unit, shown at the end at once.
    assert len(release_units(ZH, "word")) == 1
    assert shown["word"][0] >= arrivals[-1] and len(set(shown["word"])) == 1
    # By character: the first character at the first arrival, one at a time, even.
    assert shown["auto"][0] == arrivals[0]
    assert len(set(shown["auto"])) == n_chars
    assert gap_spread(shown["auto"]) < 0.5 * gap_spread(arrivals)


def test_live_reveal_by_character() -> None:
    """SmoothReveal(by="auto"): Chinese tokens of several characters come out one by one."""
    tokens = ["你好！", "我很高兴为你", "提供帮助。", " It works 很好"]

    async def run() -> tuple[SmoothReveal, list[str]]:
        revealed: list[str] = []
        reveal = SmoothReveal(revealed.append, by="auto", interval=0.001)
        task = asyncio.ensure_future(reveal.run())
        for tok in tokens:
            reveal.push(tok)
            await asyncio.sleep(0)
        reveal.close()
        await asyncio.wait_for(task, 10)
        return reveal, revealed

    reveal, revealed = asyncio.run(run())
    assert "".join(revealed) == "".join(tokens)
    assert revealed == release_units("".join(tokens)) == reveal.tokens
    assert revealed[:4] == ["你", "好", "！", "我"] and " It " in revealed
    assert len(reveal.display_times) == len(revealed)


def test_typewriter_reveals_chinese_by_character() -> None:
    """The widget on a real server: a Chinese answer revealed one character at a time."""
    model = SimulatedLLM(extra_answers={"中文": ZH})
    server = start_server(config=ServerConfig(model=model))
    try:
        view = TypewriterView(smooth={"by": "auto", "max_lag": 0.3})
        rec = asyncio.run(view.play(f"{server.url}/chat?prompt=中文&speed=20"))
    finally:
        server.stop()
    assert rec.text == view.text == ZH and view.status == "done"
    units = release_units(ZH)
    assert len(view.display_times) == len(units) == len(graphemes(ZH))
    assert len(units) > len(rec.tokens)  # multi-character tokens were split
