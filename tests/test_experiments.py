"""sse_lab.lab.experiments (notebooks 04 and 05) and the latency charts in sse_lab.lab.plots."""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sse_lab import metrics  # noqa: E402
from sse_lab.client import record_sync, run_sync  # noqa: E402
from sse_lab.client.transports import record_websocket  # noqa: E402
from sse_lab.lab import experiments as ex  # noqa: E402
from sse_lab.lab import plots  # noqa: E402
from sse_lab.metrics import reader_idle_time, visible_words  # noqa: E402
from sse_lab.model import SimulatedLLM, tokenize  # noqa: E402
from sse_lab.protocol import DONE, Event  # noqa: E402
from sse_lab.recording import (  # noqa: E402
    Arrival,
    Recording,
    WireRecording,  # noqa: E402
)
from sse_lab.server import running_servers  # noqa: E402

PROMPT = "why stream"


def rec_of(times: list[float], texts: list[str] | None = None, **kw) -> Recording:
    texts = texts or [f" w{i}" for i in range(len(times))]
    rec = WireRecording(url="http://x/chat", **kw)
    rec.arrivals = [Arrival(t, Event(data=s, id=str(i)))
                    for i, (t, s) in enumerate(zip(times, texts, strict=True))]
    if times:
        rec.arrivals.append(Arrival(times[-1], Event(data=DONE)))
        rec.end_time = times[-1]
    return rec


# -- notebook 04 ---------------------------------------------------------------------


def test_token_lags_and_measurements() -> None:
    rec = rec_of([0.11, 0.22, 0.35], bytes_received=300, requests=3, transport="poll")
    assert metrics.token_lags(rec, [0.1, 0.2, 0.3]) == pytest.approx([0.01, 0.02, 0.05])
    row = ex.transport_measurements({"poll": rec}, [0.1, 0.2, 0.3])["poll"]
    assert row["ttft_s"] == 0.11 and row["requests"] == 3 and row["tokens"] == 3
    assert row["bytes_per_token"] == pytest.approx(100.0)
    assert row["lag_p50_s"] == pytest.approx(0.02)
    empty = ex.transport_measurements({"sse": rec_of([])}, [0.1])["sse"]
    assert empty["ttft_s"] is None and empty["bytes_per_token"] is None


@pytest.mark.parametrize("longpoll", [False, True])
def test_poll_through_drop_resumes_with_identical_text(server, longpoll) -> None:
    plan = SimulatedLLM(speed=40).plan(PROMPT, 2)
    rec = run_sync(lambda: ex.poll_through_drop(
        server.url, prompt=PROMPT, seed=2, speed=40, drop_after=10, interval=0.02,
        longpoll=longpoll))
    assert rec.text == plan.text and rec.done
    assert rec.extra["connections"] == 2 and rec.extra["dropped_at"] >= 10
    assert rec.transport == ("longpoll" if longpoll else "poll")
    assert rec.bytes_received > 0 and rec.bytes_sent > 0 and rec.requests >= 2


def test_drop_results_describe_what_happened(server) -> None:
    plan = SimulatedLLM(speed=40).plan(PROMPT, 3)
    sse = record_sync(f"{server.url}/chat?prompt=why+stream&seed=3&speed=40&drop_after=5",
                      reconnect=True)
    sse_drop = ex.DropResult("sse", sse, plan.text, 5)
    assert sse_drop.complete and sse_drop.requests == 2 and sse_drop.gap > 0
    assert "by itself" in sse_drop.describe() and "identical" in sse_drop.describe()

    first = run_sync(lambda: record_websocket(server.url, prompt=PROMPT, seed=3, speed=40,
                                              drop_after=5))
    rest = run_sync(lambda: record_websocket(server.url, prompt=PROMPT, seed=3, speed=40,
                                             after=int(first.arrivals[-1].event.id)))
    ws = ex.DropResult("websocket", first, plan.text, 5)
    assert not ws.complete and ws.gap is None
    assert "just ended: 5/" in ws.describe() and "resume code" not in ws.describe()
    ws.resumed = rest
    assert ws.text_with_resume_code == plan.text and ws.requests == 2
    assert "text identical" in ws.describe()

    poll = run_sync(lambda: ex.poll_through_drop(server.url, prompt=PROMPT, seed=3, speed=40,
                                                 drop_after=5, interval=0.02))
    assert "new connection" in ex.DropResult("poll", poll, plan.text, 5).describe()


def test_comparison_markdown_keeps_the_source_rows_and_adds_measurements() -> None:
    rows = ex.transport_measurements(
        {"sse": rec_of([0.1, 0.2], bytes_received=60, requests=1),
         "poll": rec_of([0.15, 0.3], bytes_received=400, requests=4)},
        [0.1, 0.2],
    )
    md = ex.comparison_markdown(rows)
    lines = md.splitlines()
    assert lines[0] == "| 特性 feature | SSE | short polling |"
    for feature in ("通信方向", "协议", "复杂度", "重连机制", "适用场景"):
        assert any(line.startswith(f"| {feature}") for line in lines)
    assert "自动 automatic" in md and "†" in md
    assert "| **measured: requests for one answer** | 1 | 4 |" in md
    assert "| **measured: time to first token** | 100 ms | 150 ms |" in md
    assert "200.0" in md  # poll bytes per token
    assert all(line.count("|") == 4 for line in lines if line.startswith("|"))


# -- notebook 05 ---------------------------------------------------------------------


def test_many_runs_keeps_seed_order(server) -> None:
    recs = run_sync(lambda: ex.many_runs(server.url, prompt="tell me", seeds=[2, 0, 1],
                                         speed=40, concurrency=2))
    model = SimulatedLLM()
    assert [r.text for r in recs] == [model.answer("tell me", s) for s in (2, 0, 1)]
    with pytest.raises(ValueError):
        run_sync(lambda: ex.many_runs(server.url, prompt="x", seeds=[0], concurrency=0))


def test_describe_and_distribution_table() -> None:
    d = metrics.describe([3.0, 1.0, 2.0, None])
    assert d["n"] == 3 and d["min"] == 1 and d["p50"] == 2 and d["max"] == 3
    table = ex.distribution_table({"TTFT": ([0.01, 0.02, 0.03], "ms", 1000),
                                   "tokens/s": ([90, 100, 110], "tok/s", 1)})
    lines = table.splitlines()
    assert lines[0].split() == ["n", "min", "p50", "p90", "p99", "max", "unit"]
    assert lines[2].split()[:3] == ["TTFT", "3", "10.0"]
    assert lines[3].split()[-1] == "tok/s"
    with pytest.raises(ValueError):
        metrics.describe([])


@pytest.mark.parametrize("n", [1, 7, 50, 333, 1000])
def test_prompt_with_tokens_is_exact(n) -> None:
    assert len(tokenize(ex.prompt_with_tokens(n))) == n


def test_ttft_grows_with_prompt_length(server) -> None:
    pts = run_sync(lambda: ex.ttft_by_prompt_length(server.url, [5, 4000], seeds=(0, 1),
                                                    speed=4))
    assert [n for n, _ in pts] == [5, 5, 4000, 4000]
    fit = metrics.fit_line([n for n, _ in pts], [t for _, t in pts])
    assert fit.slope > 0
    short = max(t for n, t in pts if n == 5)
    assert min(t for n, t in pts if n == 4000) > 2 * short  # planned: 0.06 s vs 0.26 s


def test_fit_line() -> None:
    fit = metrics.fit_line([0, 1, 2, 3], [1, 3, 5, 7])
    assert fit.intercept == pytest.approx(1) and fit.slope == pytest.approx(2)
    assert fit.r2 == pytest.approx(1) and fit(10) == pytest.approx(21)
    assert metrics.fit_line([0, 1, 2], [1, 3, 2]).r2 < 1
    for xs, ys in (([1], [1]), ([1, 1], [1, 2]), ([1, 2], [1])):
        with pytest.raises(ValueError):
            metrics.fit_line(xs, ys)


def test_equal_total_variants_share_tokens_and_total() -> None:
    models = ex.equal_total_variants(
        PROMPT, 0, total=9.0,
        variants={"a": (0.2, "steady"), "b": (0.2, "bursty"), "c": (5.0, "steady")})
    plans = {k: m.plan(PROMPT, 0) for k, m in models.items()}
    assert {len(p.tokens) for p in plans.values()} == {len(plans["a"].tokens)}
    for name, ttft in (("a", 0.2), ("b", 0.2), ("c", 5.0)):
        assert plans[name].total == pytest.approx(9.0, rel=1e-9)
        assert plans[name].ttft == pytest.approx(ttft, rel=1e-9)
    assert plans["b"].delays.count(0.0) > 5  # bursts: tokens that come together
    assert models["c"].itl[1] < models["a"].itl[1]
    with pytest.raises(ValueError):
        ex.equal_total_variants(PROMPT, 0, total=1.0, variants={"x": (2.0, "steady")})
    with pytest.raises(ValueError):
        ex.equal_total_variants(PROMPT, 0, total=1.0, variants={"x": (0.5, "jazzy")})


def test_record_variants_serves_each_model_and_stops_its_servers() -> None:
    before = len(running_servers())
    models = ex.equal_total_variants(
        PROMPT, 0, total=3.0, variants={"quick": (0.1, "steady"), "slow": (2.0, "steady")})
    recs = run_sync(lambda: ex.record_variants(models, prompt=PROMPT, seed=0, speed=4))
    assert len(running_servers()) == before
    assert recs["quick"].text == recs["slow"].text
    quick, slow = (metrics.scaled(recs[k], 4) for k in ("quick", "slow"))
    assert slow.token_times[0] > 5 * quick.token_times[0]
    for r in (quick, slow):  # never early; a busy machine only makes the timers later
        assert r.token_times[-1] >= 3.0 * 0.95


def test_scaled_copies() -> None:
    rec = rec_of([0.1, 0.2])
    rec.first_byte_time = 0.05
    out = metrics.scaled(rec, 10)
    assert out.token_times == pytest.approx([1.0, 2.0]) and out.first_byte_time == 0.5
    assert rec.token_times == [0.1, 0.2] and out.text == rec.text
    with pytest.raises(ValueError):
        metrics.scaled(rec, 0)


def test_reader_progress_examples() -> None:
    verts, idle = metrics.reader_progress([(1.0, 4)], 4.0)
    assert verts == [(0.0, 0.0), (1.0, 0.0), (2.0, 4.0)] and idle == [(0.0, 1.0)]
    verts, idle = metrics.reader_progress([(0.5, 2), (0.6, 4), (3.0, 8)], 4.0)
    assert idle == [(0.0, 0.5), (1.5, 3.0)]
    assert verts[-1] == (4.0, 8.0)
    assert metrics.reader_progress([], 4.0) == ([(0.0, 0.0)], [])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 20), st.integers(0, 50)), max_size=30),
    st.floats(0.5, 12),
)
def test_reader_progress_idle_matches_metrics(points, wps) -> None:
    pts = sorted(points)
    running, best = [], 0
    for t, w in pts:  # visible counts never fall
        best = max(best, w)
        running.append((t, best))
    _, idle = metrics.reader_progress(running, wps)
    if best == 0:
        assert idle == []
        return
    assert sum(e - s for s, e in idle) == pytest.approx(reader_idle_time(running, wps),
                                                        abs=1e-9)


def test_distinct_instants() -> None:
    assert metrics.distinct_instants([0.1, 0.1, 0.1005, 0.2, 0.3]) == 3
    assert metrics.distinct_instants(rec_of([1.0] * 20)) == 1
    assert metrics.distinct_instants([]) == 0


# -- charts -----------------------------------------------------------------------------


def test_ttft_distribution_marks_percentiles() -> None:
    fig = plots.ttft_distribution([0.02, 0.03, 0.025, 0.04], planned=[0.018, 0.02, 0.022, 0.03])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    gids = {ln.get_gid() for ln in ax.get_lines()}
    assert {"p50", "p90", "p99"} <= gids
    assert any("p50 = 27.5 ms" in t.get_text() for t in ax.get_legend().get_texts())
    fig.savefig(io.BytesIO(), format="png")  # it renders
    empty = plots.ttft_distribution([])
    assert "no first token" in empty.axes[0].texts[0].get_text()
    fig = plots.ttft_distribution([rec_of([0.05, 0.1]), rec_of([])])
    assert "1 runs" in " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())


def test_ttft_vs_prompt_length_draws_fit() -> None:
    pts = [(0, 0.03), (1000, 0.43), (2000, 0.83)]
    fit = metrics.fit_line([p[0] for p in pts], [p[1] for p in pts])
    fig = plots.ttft_vs_prompt_length(pts, fit=fit)
    lines = {ln.get_gid(): ln for ln in fig.axes[0].get_lines()}
    assert set(lines) == {"measured", "fit"}
    assert "400.0 µs × tokens" in lines["fit"].get_label()


def test_perceived_wait_panels_and_idle_times() -> None:
    quick = rec_of([0.2 + 0.25 * i for i in range(20)])
    slow = rec_of([3.0 + 0.05 * i for i in range(20)])
    fig = plots.perceived_wait({"quick": quick, "slow": slow, "odd": quick})
    assert len([a for a in fig.axes if a.get_visible()]) == 3
    assert fig.idle_times["quick"] == pytest.approx(reader_idle_time(visible_words(quick)))
    assert fig.idle_times["slow"] > fig.idle_times["quick"]
    assert any(p.get_gid() == "idle" for p in fig.axes[1].patches)
    assert "idle" in fig.axes[1].get_title(loc="left")
    fig.savefig(io.BytesIO(), format="png")


def test_emit_vs_receive_grid_titles_count_instants() -> None:
    emit = [0.1 * i for i in range(1, 6)]
    recs = {"direct": rec_of([t + 0.01 for t in emit]), "held": rec_of([0.6] * 5)}
    fig = plots.emit_vs_receive_grid(emit, recs, titles={"held": "proxy"})
    titles = [a.get_title(loc="left") for a in fig.axes if a.get_visible()]
    assert titles[0].endswith("5 tokens at 5 instants")
    assert titles[1].startswith("proxy") and titles[1].endswith("5 tokens at 1 instant")
    fig.savefig(io.BytesIO(), format="png")
    with pytest.raises(ValueError):
        plots.emit_vs_receive_grid(emit, {})
    assert not math.isnan(fig.get_figwidth())
