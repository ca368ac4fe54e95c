"""Tests of sse_lab.lab.plots: each chart draws the artists it promises."""

from __future__ import annotations

import io
import math
import subprocess
import sys
import warnings
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.collections import EventCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from sse_lab.lab import plots  # noqa: E402
from sse_lab.lab.plots import style  # noqa: E402
from sse_lab.metrics import percentile, reader_idle_time, summarize, visible_words  # noqa: E402
from sse_lab.model import Plan, SimulatedLLM  # noqa: E402
from sse_lab.protocol import DONE, Event  # noqa: E402
from sse_lab.recording import Arrival, Recording  # noqa: E402

LAG = 0.002


def from_plan(plan: Plan, lag: float = LAG) -> tuple[Recording, Recording]:
    """(streaming, blocking) recordings of a plan, the client ``lag`` s behind."""
    end = plan.total + lag
    arrivals = [
        Arrival(t + lag, Event(data=tok, id=str(i)))
        for i, (t, tok) in enumerate(zip(plan.emit_times(), plan.tokens, strict=True))
    ]
    streaming = Recording(
        url="/chat",
        transport="sse",
        status=200,
        first_byte_time=lag,
        end_time=end,
        arrivals=[*arrivals, Arrival(end, Event(data=DONE))],
        requests=1,
    )
    blocking = Recording(
        url="/chat?stream=false",
        transport="blocking",
        status=200,
        first_byte_time=end,
        end_time=end,
        arrivals=[Arrival(end, Event(data=plan.text))],
        requests=1,
    )
    return streaming, blocking


@pytest.fixture(scope="module")
def plan() -> Plan:
    return SimulatedLLM(speed=1).plan("why stream tokens?", seed=1)


@pytest.fixture(scope="module")
def recs(plan: Plan) -> tuple[Recording, Recording]:
    return from_plan(plan)


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def render(fig: Figure) -> None:
    """Draw the figure for real, failing on any warning (fonts, layout)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(io.BytesIO(), format="png", dpi=40)


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def check_common(fig: Figure, xunit: str) -> None:
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title()
    assert xunit in ax.get_xlabel()
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)  # legible on dark themes
    render(fig)


# -- token timeline ----------------------------------------------------------------


def test_token_timeline_ticks_and_ttft(recs: tuple[Recording, Recording]) -> None:
    streaming, blocking = recs
    fig = plots.token_timeline([streaming, blocking], labels=["SSE", "blocking"])
    check_common(fig, "(s)")
    ax = fig.axes[0]
    rows = [c for c in ax.collections if isinstance(c, EventCollection)]
    assert [len(c.get_positions()) for c in rows] == [len(streaming.tokens), 1]
    assert sum(len(c.get_segments()) for c in rows) == len(streaming.tokens) + 1
    assert rows[0].get_positions() == pytest.approx(streaming.token_times)
    # Streaming blue, blocking vermillion.
    assert matplotlib.colors.to_hex(rows[0].get_colors()[0]) == plots.STREAMING_COLOR.lower()
    assert matplotlib.colors.to_hex(rows[1].get_colors()[0]) == plots.BLOCKING_COLOR.lower()
    ttft_labels = [t for t in texts(fig) if t.startswith("TTFT")]
    assert ttft_labels == [
        f"TTFT {streaming.token_times[0] * 1000:.0f} ms",
        f"TTFT {blocking.token_times[0] * 1000:.0f} ms",
    ]
    assert [t.get_text().split("\n")[0] for t in ax.get_yticklabels()] == ["SSE", "blocking"]


def test_token_timeline_single_recording_and_bursts() -> None:
    rec = Recording(
        url="/x",
        arrivals=[Arrival(t, Event(data="a")) for t in (0.2, 0.5, 0.5, 0.5, 0.9)],
        end_time=1.0,
    )
    fig = plots.token_timeline(rec)
    (row,) = [c for c in fig.axes[0].collections if isinstance(c, EventCollection)]
    assert len(row.get_positions()) == 5
    assert "×3" in texts(fig)  # three tokens on one tick are counted
    render(fig)
    empty = plots.token_timeline(Recording(url="/x"))
    render(empty)
    with pytest.raises(ValueError):
        plots.token_timeline([])
    with pytest.raises(ValueError):
        plots.token_timeline([rec], labels=["a", "b"])


def test_token_timeline_into_existing_axes(recs: tuple[Recording, Recording]) -> None:
    fig, (left, right) = plt.subplots(1, 2)
    out = plots.token_timeline(recs[0], ax=right)
    assert out is fig
    assert not left.collections and right.collections


# -- words visible over time -------------------------------------------------------------


def test_visible_text_over_time(recs: tuple[Recording, Recording], plan: Plan) -> None:
    streaming, blocking = recs
    fig = plots.visible_text_over_time(streaming, blocking)
    check_common(fig, "(s)")
    ax = fig.axes[0]
    assert "words" in ax.get_ylabel()
    idle = fig.idle_times
    assert idle["blocking"] == pytest.approx(plan.total + LAG)
    assert idle["streaming"] == pytest.approx(reader_idle_time(visible_words(streaming)))
    assert idle["streaming"] < 0.1 * idle["blocking"]
    # Nielsen's limits: all three fall in a ~20 s range.
    nielsen = [ln for ln in ax.get_lines() if ln.get_gid() == "nielsen"]
    assert sorted(ln.get_xdata()[0] for ln in nielsen) == [0.1, 1.0, 10.0]
    labels = texts(fig)
    assert any(t.startswith("0.1 s") for t in labels)
    assert any(t.startswith("10 s") for t in labels)
    # The step curves end at the full word count; the idle times are in the legend.
    words = visible_words(streaming)[-1][1]
    by_gid = {ln.get_gid(): ln for ln in ax.get_lines()}
    assert by_gid["streaming"].get_ydata()[-1] == words
    assert by_gid["blocking"].get_ydata()[-1] == words
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(f"{idle['blocking']:.2f} s" in t for t in legend)
    assert any("4 words/s" in t for t in legend)
    # The reader line goes at 4 words/s from the first visible word.
    reader = by_gid["reader-streaming"]
    xs, ys = reader.get_xdata(), reader.get_ydata()
    assert (ys[-1] - ys[0]) / (xs[-1] - xs[0]) == pytest.approx(4.0)
    assert xs[0] == pytest.approx(streaming.token_times[0])


def test_visible_text_log_axis_and_short_range() -> None:
    # A short Chinese answer: ~2 s range, so the 10 s limit is left out.
    streaming, blocking = from_plan(SimulatedLLM(speed=4).plan("你好", seed=0))
    fig = plots.visible_text_over_time(streaming, blocking, words_per_s=8, log_x=True)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    nielsen = sorted(ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_gid() == "nielsen")
    assert nielsen == [0.1, 1.0]
    assert "log" in ax.get_xlabel()
    render(fig)  # CJK text must not warn, whether or not a CJK font is installed


# -- ITL histogram ---------------------------------------------------------------------


def test_itl_histogram_single(recs: tuple[Recording, Recording]) -> None:
    streaming = recs[0]
    fig = plots.itl_histogram(streaming)
    check_common(fig, "(ms)")
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) >= 10
    assert sum(b.get_height() for b in bars) == len(streaming.tokens) - 1
    itl_ms = [x * 1000 for x in summarize(streaming).itl]
    p50 = [ln for ln in ax.get_lines() if ln.get_gid() == "p50"]
    p99 = [ln for ln in ax.get_lines() if ln.get_gid() == "p99"]
    assert p50[0].get_xdata()[0] == pytest.approx(percentile(itl_ms, 50))
    assert p99[0].get_xdata()[0] == pytest.approx(percentile(itl_ms, 99))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"sse p50 = {percentile(itl_ms, 50):.0f} ms" in legend


def test_itl_histogram_several_and_plain_numbers(plan: Plan) -> None:
    steady = from_plan(plan)[0]
    bursty = from_plan(SimulatedLLM(speed=1, cadence="bursty").plan(plan.prompt, seed=1))[0]
    fig = plots.itl_histogram([steady, bursty], labels=["steady", "bursty"])
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert sum(b.get_height() for b in bars) == 2 * (len(plan.tokens) - 1)
    assert len([ln for ln in ax.get_lines() if ln.get_gid() in ("p50", "p99")]) == 4
    render(fig)

    plain = plots.itl_histogram([0.05, 0.1, 0.1, 0.2])
    ax = plain.axes[0]
    p50 = next(ln for ln in ax.get_lines() if ln.get_gid() == "p50")
    assert p50.get_xdata()[0] == pytest.approx(100.0)
    assert sum(p.get_height() for p in ax.patches) == 4

    lists = plots.itl_histogram([[0.1, 0.2], [0.3]], labels=["a", "b"])
    assert len([ln for ln in lists.axes[0].get_lines() if ln.get_gid() == "p99"]) == 2

    nothing = plots.itl_histogram(Recording(url="/x"))
    assert "no inter-token gaps" in " ".join(texts(nothing))
    render(nothing)
    with pytest.raises(ValueError):
        plots.itl_histogram([[0.1], [0.2]], labels=["only one"])


# -- emit vs receive ----------------------------------------------------------------------


def test_emit_vs_receive(plan: Plan) -> None:
    emit = plan.emit_times()
    # A proxy that flushes every 0.5 s: tokens pile up into horizontal runs.
    buffered = [math.ceil(t / 0.5) * 0.5 for t in emit]
    fig = plots.emit_vs_receive(emit, [t + LAG for t in emit], label="direct")
    check_common(fig, "(s")
    ax = fig.axes[0]
    assert "receive" in ax.get_ylabel() and "(s" in ax.get_ylabel()
    plots.emit_vs_receive(plan, buffered, label="proxy", ax=ax)
    series = [ln for ln in ax.get_lines() if ln.get_gid() == "emit-receive"]
    assert len(series) == 2
    assert list(series[1].get_xdata()) == pytest.approx(emit)
    assert list(series[1].get_ydata()) == pytest.approx(buffered)
    assert series[0].get_color() != series[1].get_color()
    (diagonal,) = [ln for ln in ax.get_lines() if ln.get_gid() == "diagonal"]
    xs, ys = diagonal.get_xdata(), diagonal.get_ydata()
    assert list(xs) == list(ys) and xs[-1] >= max(buffered)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("direct (lag p50 2 ms") for t in legend)
    render(fig)


def test_emit_vs_receive_from_recording(plan: Plan, recs: tuple[Recording, Recording]) -> None:
    fig = plots.emit_vs_receive(plan, recs[0])
    (series,) = [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "emit-receive"]
    assert series.get_label().startswith("sse")
    with pytest.raises(ValueError):
        plots.emit_vs_receive([0.1, 0.2], [0.1])


# -- theme ----------------------------------------------------------------------------------


def test_figures_stay_light_under_a_dark_style(recs: tuple[Recording, Recording]) -> None:
    with plt.style.context("dark_background"):
        fig = plots.visible_text_over_time(*recs)
    ax = fig.axes[0]
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    assert ax.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    assert max(matplotlib.colors.to_rgb(ax.title.get_color())) < 0.3
    with plt.style.context("dark_background"):
        render(fig)  # ticks are made now, under the dark style
    tick = ax.xaxis.get_major_ticks()[0]
    assert max(matplotlib.colors.to_rgb(tick.label1.get_color())) < 0.3


def test_cjk_font_fallback_is_silent() -> None:
    before = list(matplotlib.rcParams["font.family"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = plots.cjk_font()
    assert list(matplotlib.rcParams["font.family"]) == before  # a lookup changes nothing
    if found is not None:
        with matplotlib.rc_context():
            assert plots.use_cjk_font() == found  # the explicit, global opt-in
            plots.use_cjk_font()
            family = matplotlib.rcParams["font.family"]
            assert found in family and family.count(found) == 1  # idempotent
    assert list(matplotlib.rcParams["font.family"]) == before


def test_chinese_text_gets_the_cjk_font_at_draw_time(recs: tuple[Recording, Recording]) -> None:
    found = plots.cjk_font()
    if found is None:
        pytest.skip("no Noto Sans CJK font installed")
    fig = plots.token_timeline(list(recs), labels=["流式", "阻塞"])
    assert found not in matplotlib.rcParams["font.family"]  # nothing global
    render(fig)
    labels = [t for t in fig.axes[0].get_yticklabels() if "流式" in t.get_text()]
    assert labels and found in labels[0].get_fontfamily()


def test_import_touches_no_global_matplotlib_state() -> None:
    code = (
        "import matplotlib as mpl, sys\n"
        "before = dict(mpl.rcParams)\n"
        "import sse_lab.lab.plots, sse_lab.lab.plots.style\n"
        "import sse_lab.lab.plots.timeline, sse_lab.lab.plots.monitor\n"
        "assert dict(mpl.rcParams) == before, 'rcParams changed at import'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_a_chart_leaves_rcparams_as_it_found_them(recs: tuple[Recording, Recording]) -> None:
    before = dict(matplotlib.rcParams)
    render(plots.visible_text_over_time(*recs))
    assert dict(matplotlib.rcParams) == before


def test_cjk_font_absent_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    style.cjk_font.cache_clear()
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    try:
        with matplotlib.rc_context({"font.family": ["sans-serif"]}):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                assert plots.use_cjk_font() is None
            assert list(matplotlib.rcParams["font.family"]) == ["sans-serif"]
    finally:
        style.cjk_font.cache_clear()
