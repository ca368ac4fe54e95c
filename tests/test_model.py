"""The simulated LLM: deterministic, model-like timing, tokens that join back."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sse_lab.model import ANSWERS, SOURCE_ANSWER, SimulatedLLM, tokenize


@given(st.text())
@settings(max_examples=200, deadline=None)
def test_tokens_join_back_to_the_text(text: str) -> None:
    assert "".join(tokenize(text)) == text


def test_chinese_splits_into_single_characters() -> None:
    toks = tokenize(SOURCE_ANSWER)
    assert toks[:4] == ["我", "是", "你", "的"]
    assert "AI" in toks and all(len(t) == 1 for t in toks if t != "AI")


def test_english_splits_into_word_pieces_with_leading_space() -> None:
    toks = tokenize("Streaming output feels fast")
    assert toks[0] == "Stre" and " output" in toks and " fast" in toks
    assert all(len(t.strip()) <= 6 for t in toks)


def test_same_prompt_and_seed_give_the_same_plan() -> None:
    a = SimulatedLLM().plan("tell me something", 3)
    b = SimulatedLLM().plan("tell me something", 3)
    assert a == b
    others = {SimulatedLLM().plan("tell me something", s).text for s in range(10)}
    assert len(others) > 1  # the seed chooses among answers


def test_source_answer_for_a_greeting() -> None:
    assert SimulatedLLM().answer("你好") == SOURCE_ANSWER
    assert SimulatedLLM().answer("hello there") == SOURCE_ANSWER
    assert SimulatedLLM().answer("something else") != SOURCE_ANSWER  # "hi" inside a word


def test_default_inter_token_delay_is_the_source_articles_50_to_150_ms() -> None:
    plan = SimulatedLLM().plan("why stream tokens?", 0)
    gaps = plan.delays[1:]
    assert len(gaps) > 30
    assert all(0.05 <= g <= 0.15 for g in gaps)
    assert 0.08 < sum(gaps) / len(gaps) < 0.12


def test_ttft_grows_with_the_prompt() -> None:
    m = SimulatedLLM()
    short = m.ttft("hi", 0)
    long = m.ttft("please explain " * 100, 0)
    assert long > 2 * short


def test_speed_scales_every_delay() -> None:
    slow = SimulatedLLM().plan("why stream", 1)
    fast = SimulatedLLM(speed=10).plan("why stream", 1)
    assert slow.tokens == fast.tokens
    assert fast.delays == pytest.approx([d / 10 for d in slow.delays])
    with pytest.raises(ValueError):
        SimulatedLLM(speed=0)


def test_bursty_cadence_keeps_the_total_and_groups_tokens() -> None:
    steady = SimulatedLLM().plan("why stream", 2)
    bursty = SimulatedLLM(cadence="bursty").plan("why stream", 2)
    assert bursty.tokens == steady.tokens
    assert bursty.total == pytest.approx(steady.total)
    zeros = sum(1 for d in bursty.delays[1:] if d == 0)
    assert zeros >= len(bursty.delays) // 2  # most tokens ride along in a burst
    assert max(bursty.delays[1:]) > max(steady.delays[1:])


def test_stream_yields_planned_tokens_and_resumes() -> None:
    m = SimulatedLLM(speed=50)

    async def collect(start: int) -> list[tuple[int, str]]:
        return [(t.index, t.text) async for t in m.stream("hello", 0, start=start)]

    full = asyncio.run(collect(0))
    assert [t for _, t in full] == m.tokens("hello", 0)
    assert asyncio.run(collect(5)) == full[5:]


def test_blocking_call_returns_whole_text_after_total_time() -> None:
    m = SimulatedLLM(speed=20)

    async def timed() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        text = await m.complete("hello", 0)
        return text, loop.time() - t0

    text, took = asyncio.run(timed())
    assert text == SOURCE_ANSWER
    assert took >= m.plan("hello", 0).total * 0.9


def test_every_canned_answer_is_nonempty() -> None:
    assert all(tokenize(a) for a in ANSWERS.values())
