"""The simulated LLM: deterministic, model-like timing, tokens that join back."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sse_lab.model import ANSWERS, SOURCE_ANSWER, SimulatedLLM, Token, load_penalty, tokenize
from sse_lab.tokenizer import count_tokens


@given(st.text())
@settings(max_examples=200, deadline=None)
def test_tokens_join_back_to_the_text(text: str) -> None:
    assert "".join(tokenize(text)) == text


def test_source_answer_pieces_are_whole_characters_from_real_bpe() -> None:
    toks = tokenize(SOURCE_ANSWER)
    assert toks == ["我", "是", "你", "的", "AI", "助", "手", ",", "很", "高", "兴",
                    "为", "您", "服务", "!"]  # "服务" is one cl100k token


def test_english_words_stay_whole_with_leading_space() -> None:
    assert tokenize("Streaming output in any language") == [
        "Streaming", " output", " in", " any", " language"]


def test_plan_pieces_hold_the_byte_tokens_behind_each_emission() -> None:
    plan = SimulatedLLM().plan("你好", 0)
    assert plan.tokens[5] == "助" and plan.pieces[5] == (b"\xe5\x8a", b"\xa9")
    assert b"".join(b"".join(p) for p in plan.pieces) == SOURCE_ANSWER.encode()
    assert plan.n_tokens == 18 and len(plan.tokens) == 15
    for text, pieces in zip(plan.tokens, plan.pieces, strict=True):
        assert b"".join(pieces).decode() == text  # every emission is whole characters


@pytest.mark.parametrize("name", ["article", "hosted", "fast", "reasoning"])
def test_every_emission_is_whole_characters_in_every_profile(name) -> None:
    model = SimulatedLLM.profile(name)
    for prompt in ("你好", "why stream tokens?", "tell me something"):
        plan = model.plan(prompt, 1)
        for text, pieces in zip(plan.tokens, plan.pieces, strict=True):
            assert b"".join(pieces).decode("utf-8") == text and "\ufffd" not in text
        assert plan.text == model.answer(prompt, 1)


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
    long = m.ttft("please explain " * 1000, 0)  # 2,000 tokens
    assert long > 2 * short


def test_default_ttft_for_a_4000_token_prompt_is_under_2_s_at_speed_1() -> None:
    prompt = " x" * 4000
    assert count_tokens(prompt) == 4000
    ttfts = [SimulatedLLM().plan(prompt, s).ttft for s in range(20)]
    assert 0.9 < min(ttfts) and max(ttfts) < 1.2 < 2.0


def test_profiles_follow_their_published_figures() -> None:
    prompt = " x" * 1000  # ~1k prompt tokens, as the published TTFTs
    hosted = SimulatedLLM.profile("hosted")
    plans = [hosted.plan(prompt, s) for s in range(30)]
    assert all(0.4 <= p.ttft <= 0.8 for p in plans)
    lo, hi = hosted.itl
    assert 100 <= 2 / (lo + hi) <= 200  # tokens/s between stalls
    assert 1000 <= 2 / sum(SimulatedLLM.profile("fast").itl)
    reasoning = SimulatedLLM.profile("reasoning").plan("why stream", 0)
    assert reasoning.ttft >= 3.0 and reasoning.thinking
    assert all(t < reasoning.ttft for t in reasoning.thinking_times)
    with pytest.raises(ValueError, match="unknown profile"):
        SimulatedLLM.profile("gpt-9")


def test_hosted_chunks_carry_one_to_three_tokens_and_stalls_are_rare() -> None:
    model = SimulatedLLM.profile("hosted")
    sizes, gaps = [], []
    for seed in range(40):
        plan = model.plan("tell me something", seed)
        sizes += [len(p) for p in plan.pieces]
        gaps += plan.delays[1:]
    assert set(sizes) <= {1, 2, 3, 4} and {1, 2, 3} <= set(sizes)  # 4: a split character
    stalls = sum(1 for g in gaps if g >= 0.2)
    assert 0 < stalls < 0.05 * len(gaps)
    assert model.plan("tell me", 3) == model.plan("tell me", 3)  # seeded


def test_load_follows_the_oci_curve() -> None:
    assert load_penalty(1) == (0.0, 1.0)
    queue, slower = load_penalty(256)
    assert queue == pytest.approx(4.04) and slower == pytest.approx(58.6 / 15.3)
    q32, s32 = load_penalty(32)
    assert q32 == pytest.approx(0.11) and s32 == pytest.approx(58.6 / 44.3)
    assert load_penalty(64)[0] < load_penalty(128)[0]
    base = SimulatedLLM.profile("hosted")
    alone, busy = base.plan("why", 0), base.under_load(128).plan("why", 0)
    assert busy.ttft == pytest.approx(alone.ttft + 1.24)
    assert busy.total - busy.ttft == pytest.approx((alone.total - alone.ttft) * 58.6 / 25.6)
    with pytest.raises(ValueError):
        load_penalty(0)


def test_stream_with_thinking_yields_thinking_tokens_first() -> None:
    m = SimulatedLLM.profile("reasoning", speed=100, think=(1.0, 1.0))

    async def collect() -> list[Token]:
        return [t async for t in m.stream("why", 0, thinking=True)]

    toks = asyncio.run(collect())
    kinds = [t.kind for t in toks]
    assert kinds[0] == "thinking" and kinds[-1] == "text"
    assert kinds == sorted(kinds, key=lambda k: k == "text")
    assert "".join(t.text for t in toks if t.kind == "text") == m.answer("why", 0)


@pytest.mark.parametrize("bad", [{"chunk": (0, 2)}, {"chunk": (3, 2)}, {"stall_rate": 2},
                                 {"think": (5, 1)}, {"concurrency": 0}, {"itl": (-1, 1)},
                                 {"speed": float("inf")}])
def test_bad_settings_are_refused(bad) -> None:
    with pytest.raises(ValueError):
        SimulatedLLM(**bad)


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
