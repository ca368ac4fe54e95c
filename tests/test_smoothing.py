"""The smoothing buffer: bursty arrival in, an even reveal out, never early, bounded lag."""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest
from conftest import wait_until_async
from hypothesis import given, settings
from hypothesis import strategies as st

from sse_lab.model import SimulatedLLM
from sse_lab.smoothing import Smoother, SmoothReveal, gap_spread, smooth_schedule


def bursty(seed: int = 0, speed: float = 2.0) -> tuple[list[float], list[str]]:
    plan = SimulatedLLM(cadence="bursty", speed=speed).plan("Why do AI chats stream?", seed)
    return plan.emit_times(), plan.tokens


def test_empty_and_single() -> None:
    assert smooth_schedule([]) == []
    assert smooth_schedule([0.3]) == [0.3]


def test_first_token_is_never_held_back() -> None:
    arrivals, tokens = bursty()
    assert smooth_schedule(arrivals, tokens)[0] == arrivals[0]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("speed", [1.0, 4.0])
def test_bursty_arrival_becomes_even(seed: int, speed: float) -> None:
    arrivals, tokens = bursty(seed, speed)
    shown = smooth_schedule(arrivals, tokens, max_lag=0.5)
    assert gap_spread(shown) < 0.35 * gap_spread(arrivals), (
        gap_spread(shown),
        gap_spread(arrivals),
    )
    lags = [d - a for a, d in zip(arrivals, shown, strict=True)]
    assert min(lags) >= 0 and max(lags) <= 0.5 + 1e-9
    # The reveal keeps up with the stream: it ends within the lag bound.
    assert shown[-1] - arrivals[-1] <= 0.5 + 1e-9


def test_steady_arrival_is_barely_delayed() -> None:
    plan = SimulatedLLM(speed=2.0).plan("Why do AI chats stream?", 0)
    arrivals = plan.emit_times()
    shown = smooth_schedule(arrivals)
    assert statistics.fmean(d - a for a, d in zip(arrivals, shown, strict=True)) < 0.06


def test_fixed_interval_is_the_simple_rule() -> None:
    arrivals = [0.1, 0.1, 0.1, 0.5, 0.5, 2.0] + [2.0] * 20
    interval, max_lag = 0.05, 0.3
    got = smooth_schedule(arrivals, interval=interval, max_lag=max_lag, catch_up=False)
    want = [arrivals[0]]
    for a in arrivals[1:]:
        want.append(min(max(a, want[-1] + interval), a + max_lag))
    assert got == pytest.approx(want)


def test_catch_up_speeds_up_a_big_backlog() -> None:
    arrivals = [0.0, 0.1, 0.2, 0.3] + [1.0] * 40  # a pace, then a flood
    with_catch_up = smooth_schedule(arrivals, max_lag=0.5)
    without = smooth_schedule(arrivals, max_lag=0.5, catch_up=False)
    # both respect the bound; catching up spreads the flood instead of piling
    # it at the bound
    assert max(d - a for a, d in zip(arrivals, with_catch_up, strict=True)) <= 0.5 + 1e-9
    pile = sum(1 for a, d in zip(arrivals, without, strict=True) if d == pytest.approx(a + 0.5))
    pile_cu = sum(
        1 for a, d in zip(arrivals, with_catch_up, strict=True) if d == pytest.approx(a + 0.5)
    )
    assert pile_cu < pile


def test_unbounded_fixed_pace_like_smooth_stream() -> None:
    arrivals = [0.0] * 10
    shown = smooth_schedule(arrivals, interval=0.01, max_lag=None)
    assert shown == pytest.approx([0.01 * i for i in range(10)])


def test_per_char_gives_long_tokens_more_time() -> None:
    arrivals = [0.0, 0.0, 0.0, 0.0, 0.0]
    tokens = ["a", "a", "aaaaaaaa", "a", "a"]
    shown = smooth_schedule(arrivals, tokens, interval=0.01, per="char", max_lag=None)
    gaps = [b - a for a, b in zip(shown, shown[1:], strict=False)]
    assert gaps[1] == pytest.approx(8 * gaps[0])


def test_pace_measures_the_stream() -> None:
    sm = Smoother()
    assert sm.pace(0.0) is None
    for t in (0.0, 0.4, 0.4, 0.4, 0.4, 0.8, 0.8, 0.8, 0.8):  # 4 tokens every 0.4 s
        sm.arrive(t)
    assert sm.pace(0.8) == pytest.approx(0.1)
    assert sm.pace(0.5) == pytest.approx(0.1)  # only the arrivals known by then
    assert sm.pace(0.1) is None


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"interval": -1}, "interval"),
        ({"max_lag": float("nan")}, "max_lag"),
        ({"per": "word"}, "per"),
        ({"window": 1}, "window"),
    ],
)
def test_bad_options(kwargs: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        smooth_schedule([0.0, 1.0], **kwargs)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="tokens"):
        smooth_schedule([0.0, 1.0], ["a"])
    with pytest.raises(ValueError, match="backwards"):
        smooth_schedule([1.0, 0.5])
    with pytest.raises(ValueError, match="finite"):
        smooth_schedule([0.0, float("inf")])
    with pytest.raises(ValueError, match="waiting"):
        Smoother().shown()


def test_gap_spread() -> None:
    assert gap_spread([0.0, 1.0, 2.0, 3.0]) == 0.0
    assert gap_spread([]) == 0.0
    assert gap_spread([0.0, 1.0, 1.0, 2.0, 2.0], skip_first=False) == pytest.approx(0.5)


times = st.lists(st.floats(0, 5, allow_nan=False), min_size=0, max_size=80).map(sorted)


@settings(max_examples=150, deadline=None)
@given(
    arrivals=times,
    max_lag=st.floats(0, 2),
    interval=st.one_of(st.none(), st.floats(0, 0.3)),
    catch_up=st.booleans(),
)
def test_properties(
    arrivals: list[float], max_lag: float, interval: float | None, catch_up: bool
) -> None:
    shown = smooth_schedule(arrivals, interval=interval, max_lag=max_lag, catch_up=catch_up)
    assert len(shown) == len(arrivals)
    for i, (a, d) in enumerate(zip(arrivals, shown, strict=True)):
        assert d >= a - 1e-12, "never shown before it arrived"
        assert d <= a + max_lag + 1e-9, "the extra delay is bounded"
        if i:
            assert d >= shown[i - 1], "tokens appear in order"
    if arrivals:
        assert shown[0] == arrivals[0]


def test_live_reveal_follows_the_pure_schedule() -> None:
    arrivals, tokens = bursty(1, speed=4.0)

    async def run() -> tuple[SmoothReveal, list[str]]:
        revealed: list[str] = []
        reveal = SmoothReveal(revealed.append)
        task = asyncio.ensure_future(reveal.run())
        t0 = reveal.t0
        for t, tok in zip(arrivals, tokens, strict=True):
            wait = t - (time.perf_counter() - t0)
            if wait > 0:
                await asyncio.sleep(wait)  # the experiment: replay the recorded arrivals
            reveal.push(tok)
        reveal.close()
        await asyncio.wait_for(task, 5)
        return reveal, revealed

    reveal, revealed = asyncio.run(run())
    assert revealed == tokens
    a, d = reveal.arrival_times, reveal.display_times
    assert len(a) == len(d) == len(tokens)
    assert all(dd >= aa - 1e-6 for aa, dd in zip(a, d, strict=True))
    assert gap_spread(d) < 0.5 * gap_spread(a)
    pure = smooth_schedule(a, tokens)
    # the live reveal is the pure schedule, give or take the loop's timer accuracy
    assert max(abs(x - y) for x, y in zip(pure, d, strict=True)) < 0.05


def test_live_reveal_flush_shows_everything_now() -> None:
    async def run() -> list[str]:
        revealed: list[str] = []
        reveal = SmoothReveal(revealed.append, interval=1.0)
        task = asyncio.ensure_future(reveal.run())
        for tok in "abcde":
            reveal.push(tok)
        await wait_until_async(lambda: revealed)
        assert revealed == ["a"]  # the rest waits for the (slow) pace
        reveal.flush()
        assert revealed == list("abcde")
        reveal.close()
        await asyncio.wait_for(task, 1)
        return revealed

    assert asyncio.run(run()) == list("abcde")
