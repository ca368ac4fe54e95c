"""Tests of sse_lab.metrics: percentiles, stream metrics, words and readers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sse_lab.metrics import (
    StreamMetrics,
    percentile,
    reader_idle_time,
    summarize,
    summary_table,
    visible_words,
    word_count,
)
from sse_lab.model import SOURCE_ANSWER, Plan, SimulatedLLM
from sse_lab.protocol import DONE, Event
from sse_lab.recording import Arrival, Recording


def make_recording(
    times: list[float],
    tokens: list[str] | None = None,
    *,
    transport: str = "sse",
    end: float | None = None,
    first_byte: float | None = None,
) -> Recording:
    """A recording with one token arrival per time, then ``[DONE]``."""
    tokens = tokens if tokens is not None else [f" w{i}" for i in range(len(times))]
    arrivals = [Arrival(t, Event(data=tok)) for t, tok in zip(times, tokens, strict=True)]
    if end is not None:
        arrivals.append(Arrival(end, Event(data=DONE)))
    return Recording(
        url="/chat",
        transport=transport,
        status=200,
        first_byte_time=first_byte,
        end_time=end,
        arrivals=arrivals,
        bytes_received=100,
        requests=1,
    )


def from_plan(plan: Plan, lag: float = 0.002) -> tuple[Recording, Recording]:
    """(streaming, blocking) recordings of a plan, the client ``lag`` s behind."""
    end = plan.total + lag
    streaming = make_recording(
        [t + lag for t in plan.emit_times()], plan.tokens, end=end, first_byte=lag
    )
    blocking = make_recording([end], [plan.text], transport="blocking", end=end, first_byte=end)
    return streaming, blocking


# -- percentile ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0, 1.0), (25, 1.75), (50, 2.5), (90, 3.7), (99, 3.97), (100, 4.0)],
)
def test_percentile_hand_computed(q: float, expected: float) -> None:
    # rank = 3 * q / 100 into [1, 2, 3, 4]; e.g. q=90: rank 2.7 -> 3 + 0.7 * 1.
    assert percentile([4, 1, 3, 2], q) == pytest.approx(expected)


def test_percentile_single_value_and_errors() -> None:
    assert percentile([0.25], 99) == 0.25
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    with pytest.raises(ValueError):
        percentile([1.0], -1)


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50),
    st.floats(0, 100),
)
def test_percentile_matches_numpy(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-6)


# -- summarize -----------------------------------------------------------------


def test_summarize_hand_computed() -> None:
    rec = make_recording([0.1, 0.2, 0.4, 0.7], end=0.8, first_byte=0.05)
    # A heartbeat of another event type is not a token.
    rec.arrivals.insert(1, Arrival(0.15, Event(event="ping", data="x")))
    m = summarize(rec)
    assert isinstance(m, StreamMetrics)
    assert m.ttfb == 0.05
    assert m.ttft == 0.1
    assert m.total == 0.8
    assert m.n_tokens == 4
    assert m.itl == pytest.approx((0.1, 0.2, 0.3))
    assert m.itl_p50 == pytest.approx(0.2)
    assert m.itl_p90 == pytest.approx(0.28)  # rank 1.8: 0.2 + 0.8 * 0.1
    assert m.itl_p99 == pytest.approx(0.298)
    assert m.itl_mean == pytest.approx(0.2)
    assert m.itl_max == pytest.approx(0.3)
    assert m.tokens_per_s == pytest.approx(3 / 0.6)
    assert m.bytes_received == 100
    assert m.requests == 1
    assert m.transport == "sse"


def test_summarize_without_tokens() -> None:
    m = summarize(make_recording([], end=0.5))
    assert m.ttft is None
    assert m.n_tokens == 0
    assert m.itl == ()
    assert m.itl_p50 is m.itl_p99 is m.itl_mean is m.tokens_per_s is None
    assert m.total == 0.5
    empty = summarize(Recording(url="/x"))
    assert empty.total is None and empty.ttfb is None


def test_summarize_total_falls_back_to_last_arrival() -> None:
    m = summarize(make_recording([0.3, 0.9]))
    assert m.total == 0.9
    assert m.tokens_per_s == pytest.approx(1 / 0.6)


def test_summarize_blocking_and_simultaneous_tokens() -> None:
    blocking = summarize(make_recording([2.5], ["the whole text"], transport="blocking", end=2.5))
    assert blocking.ttft == 2.5 and blocking.n_tokens == 1
    assert blocking.tokens_per_s is None and blocking.itl == ()
    burst = summarize(make_recording([1.0, 1.0, 1.0]))
    assert burst.itl == (0.0, 0.0) and burst.tokens_per_s is None


def test_summarize_plan_recording() -> None:
    plan = SimulatedLLM(speed=1).plan("why stream?", seed=3)
    streaming, blocking = from_plan(plan)
    s, b = summarize(streaming), summarize(blocking)
    assert s.n_tokens == len(plan.tokens)
    assert s.ttft == pytest.approx(plan.ttft + 0.002)
    assert s.itl == pytest.approx(tuple(plan.delays[1:]))
    assert 0.05 <= s.itl_p50 <= 0.15  # the default 50-150 ms range
    expected_rate = (len(plan.tokens) - 1) / (plan.total - plan.ttft)
    assert s.tokens_per_s == pytest.approx(expected_rate)
    assert b.ttft == pytest.approx(plan.total + 0.002)
    assert s.total == b.total


# -- words -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("", 0),
        ("Hello world", 2),
        ("  Hello,   world!  ", 2),
        ("Don't stop: Server-Sent Events!", 4),
        ("data: hello, 123", 3),
        (SOURCE_ANSWER, 14),  # 我是你的 + AI + 助手 + 很高兴为您服务
        ("我爱SSE流式输出", 7),  # 6 CJK characters + "SSE"
        ("日本語のテキスト", 8),
        ("…，。！", 0),
    ],
)
def test_word_count(text: str, n: int) -> None:
    assert word_count(text) == n


def test_visible_words_follow_tokens() -> None:
    rec = make_recording([0.1, 0.2, 0.3, 0.4], ["Hello", " wor", "ld", " 你好"])
    assert visible_words(rec) == [(0.1, 1), (0.2, 2), (0.3, 2), (0.4, 4)]


# -- reader idle time --------------------------------------------------------------


def test_reader_idle_blocking_is_the_wait() -> None:
    assert reader_idle_time([(6.0, 40)]) == pytest.approx(6.0)
    assert reader_idle_time([(6.0, 40)], words_per_s=1.0) == pytest.approx(6.0)


def test_reader_idle_slow_stream_adds_stalls() -> None:
    # Waits 1 s, reads 0.25 s, waits 0.75 s, reads, waits 0.75 s, reads.
    assert reader_idle_time([(1.0, 1), (2.0, 2), (3.0, 3)]) == pytest.approx(2.5)


def test_reader_idle_fast_stream_is_ttft() -> None:
    points = [(0.3 + 0.05 * i, i + 1) for i in range(40)]  # 20 words/s
    assert reader_idle_time(points, 4.0) == pytest.approx(0.3)


def test_reader_idle_edge_cases() -> None:
    assert reader_idle_time([]) == 0.0
    assert reader_idle_time([(0.5, 0), (1.5, 0)]) == 1.5
    # Unordered input and a count that goes down are tolerated.
    assert reader_idle_time([(2.0, 2), (1.0, 1), (3.0, 1)]) == pytest.approx(1.75)
    with pytest.raises(ValueError):
        reader_idle_time([(1.0, 1)], words_per_s=0)


def _idle_by_simulation(points: list[tuple[float, int]], speed: float, dt: float) -> float:
    """Step time forward by dt, reading while something is unread."""
    points = sorted(points)
    total = max(w for _, w in points)
    step, read, idle, i, shown = 0, 0.0, 0.0, 0, 0
    while read < total - 1e-9:
        while i < len(points) and points[i][0] <= step * dt + 1e-9:
            shown = max(shown, points[i][1])
            i += 1
        if read < shown - 1e-9:
            read = min(shown, read + speed * dt)
        else:
            idle += dt
        step += 1
    return idle


@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(1, 5)),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from([2.0, 4.0, 10.0]),
)
def test_reader_idle_matches_simulation(steps: list[tuple[int, int]], speed: float) -> None:
    # Times on a 0.1 s grid and word counts multiple of speed * dt keep the
    # discrete simulation exact enough.
    points, t, w = [], 0.0, 0
    for gap, words in steps:
        t += gap / 10
        w += words
        points.append((t, w))
    dt = 0.1 / 20
    expected = _idle_by_simulation(points, speed, dt)
    assert reader_idle_time(points, speed) == pytest.approx(expected, abs=3 * dt * len(points))


def test_reader_idle_plan_streaming_vs_blocking() -> None:
    plan = SimulatedLLM(speed=1).plan("why stream?", seed=0)
    streaming, blocking = from_plan(plan)
    s_idle = reader_idle_time(visible_words(streaming))
    b_idle = reader_idle_time(visible_words(blocking))
    assert b_idle == pytest.approx(plan.total + 0.002)  # blocking: the whole wait, no more
    assert s_idle == pytest.approx(plan.ttft + 0.002, abs=0.05)  # ~TTFT: faster than reading
    assert s_idle < b_idle / 10


# -- summary table -----------------------------------------------------------------


def test_summary_table() -> None:
    streaming = summarize(make_recording([0.1, 0.2, 0.4, 0.7], end=0.8, first_byte=0.05))
    blocking = summarize(make_recording([2.5], ["x"], transport="blocking", end=2.5))
    table = summary_table({"SSE": streaming, "阻塞 blocking": blocking})
    lines = table.splitlines()
    assert len(lines) == 4  # header, rule, two rows
    assert "TTFT ms" in lines[0] and "ITL p99" in lines[0] and "tok/s" in lines[0]
    sse = lines[2].split()
    assert sse[:8] == ["SSE", "50", "100", "200", "280", "298", "800", "4"]
    assert sse[8] == "5.0"
    assert lines[3].split()[3:7] == ["2500", "-", "-", "-"]
    # Right-aligned columns end at the same offset (CJK counts two columns).
    assert len(lines[0]) == len(lines[2])
    assert len(lines[1]) == len(lines[0])
