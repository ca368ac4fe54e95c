"""Every chart speaks the learner's language, and Chinese renders with a CJK font.

Each chart function is drawn in zh-CN and rendered to PNG with warnings as errors,
so a Chinese glyph that falls back to a Latin-only font ("Glyph ... missing from
font(s)") fails the test. The English charts keep their English words.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from sse_lab.i18n import use_language  # noqa: E402
from sse_lab.lab import plots  # noqa: E402
from sse_lab.lab.loadtest import ClientResult, LoadResult  # noqa: E402
from sse_lab.metrics import READING_SPEEDS, fit_line  # noqa: E402
from sse_lab.model import SimulatedLLM  # noqa: E402
from sse_lab.protocol import DONE, Event  # noqa: E402
from sse_lab.recording import Arrival, Recording  # noqa: E402

HANZI = re.compile(r"[\u4e00-\u9fff]")
ZH_ANSWER = "大语言模型一个词一个词地写出回答，所以最前面的字早在最后一个字之前就已存在。"


def recordings(text_prompt: str = "why stream tokens?") -> tuple[Recording, Recording]:
    """(streaming, blocking) recordings of one planned answer, 2 ms behind the model."""
    model = SimulatedLLM(extra_answers={"流式": ZH_ANSWER})
    plan = model.plan(text_prompt, seed=1)
    lag = 0.002
    end = plan.total + lag
    arrivals = [Arrival(t + lag, Event(data=tok, id=str(i)))
                for i, (t, tok) in enumerate(zip(plan.emit_times(), plan.tokens, strict=True))]
    streaming = Recording(url="/chat", transport="sse", status=200, first_byte_time=lag,
                          end_time=end, arrivals=[*arrivals, Arrival(end, Event(data=DONE))],
                          requests=1)
    blocking = Recording(url="/complete", transport="blocking", status=200,
                         first_byte_time=end, end_time=end,
                         arrivals=[Arrival(end, Event(data=plan.text))], requests=1)
    return streaming, blocking


def load_result() -> LoadResult:
    results = [ClientResult(index=i, url="/chat", start=0.01 * i, ttft=0.05 + 0.002 * i,
                            total=0.4, tokens=20, done=i != 3,
                            error="timeout" if i == 3 else None) for i in range(12)]
    samples = [{"t": 0.05 * k, "open_total": min(k, 12)} for k in range(12)]
    return LoadResult(url="/chat", clients=12, ramp=0.1, results=results, wall=0.6,
                      samples=samples)


def monitor_samples() -> list[dict[str, object]]:
    out: list[dict[str, object]] = [{"t": 0.1 * k, "open_total": k % 4, "subscribers": k % 3,
                                     "generation_tasks": k % 2, "rss_bytes": (50 + k) * 2**20}
                                    for k in range(10)]
    out[5]["mark"] = "load x10"  # a caller's label, unknown: shown as is
    return out


def charts() -> dict[str, Callable[[], Figure]]:
    """One call per public chart function (and the Chinese-reader variants)."""
    streaming, blocking = recordings()
    zh_stream, zh_block = recordings("为什么要流式输出")
    emit = [0.05 * k for k in range(12)]
    zh = READING_SPEEDS["zh-CN"]
    return {
        "token_timeline": lambda: plots.token_timeline(
            [streaming, blocking], labels=["streaming", "blocking"]),
        "visible_text_over_time": lambda: plots.visible_text_over_time(streaming, blocking),
        "visible_text_over_time_log": lambda: plots.visible_text_over_time(
            streaming, blocking, log_x=True),
        "visible_text_over_time_zh_reader": lambda: plots.visible_text_over_time(
            zh_stream, zh_block, words_per_s=zh.per_s, unit="char"),
        "perceived_wait": lambda: plots.perceived_wait(
            {"quick start, steady": streaming, "slow start, steady": blocking}),
        "perceived_wait_zh_reader": lambda: plots.perceived_wait(
            {"quick start, steady": zh_stream, "slow start, steady": zh_block},
            words_per_s=zh.per_s, unit="char"),
        "itl_histogram": lambda: plots.itl_histogram([streaming, streaming]),
        "itl_histogram_empty": lambda: plots.itl_histogram(blocking),
        "ttft_distribution": lambda: plots.ttft_distribution(
            [0.1, 0.12, 0.11, 0.2], planned=[0.09, 0.1, 0.1, 0.1]),
        "ttft_distribution_empty": lambda: plots.ttft_distribution([]),
        "ttft_vs_prompt_length": lambda: plots.ttft_vs_prompt_length(
            [(10, 0.25), (1000, 0.45), (2000, 0.65)],
            fit=fit_line([10, 1000, 2000], [0.25, 0.45, 0.65])),
        "emit_vs_receive": lambda: plots.emit_vs_receive(emit, [t + 0.01 for t in emit],
                                                         label="direct"),
        "emit_vs_receive_grid": lambda: plots.emit_vs_receive_grid(
            streaming.token_times, {"direct": streaming, "proxy": streaming}),
        "monitor_chart": lambda: plots.monitor_chart(monitor_samples()),
        "monitor_chart_empty": lambda: plots.monitor_chart([]),
        "load_chart": lambda: plots.load_chart(load_result(), planned_ttft=0.04),
        "reconnect_storm": lambda: plots.reconnect_storm(
            {"fixed": [[1.0, 2.0], [1.0, 2.0]], "jitter": [[0.3, 1.7], [0.8, 3.1]]}, down_for=3.0),
        "reconnect_storm_no_down": lambda: plots.reconnect_storm({"fixed": [[1.0], [1.0]]}),
        "arrival_vs_display": lambda: plots.arrival_vs_display(
            [0.1, 0.1, 0.1, 0.4, 0.4], [0.1, 0.15, 0.2, 0.4, 0.45]),
    }


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def render(fig: Figure) -> bytes:
    """Draw for real; any warning (a glyph missing from the font) is an error."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(buf, format="png", dpi=50)
    return buf.getvalue()


def words(fig: Figure) -> list[str]:
    out = [t.get_text() for t in fig.findobj(Text) if t.get_text()]
    for ax in fig.axes:  # legend labels live on the handles, too
        out += [str(label) for label in ax.get_legend_handles_labels()[1]]
    return out


def chinese(texts: list[str]) -> list[str]:
    return [t for t in texts if HANZI.search(t)]


@pytest.mark.parametrize("name", list(charts()))
def test_every_chart_speaks_chinese_with_a_cjk_font(name: str) -> None:
    if plots.cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    with use_language("zh-CN"):
        fig = charts()[name]()
    png = render(fig)
    assert png.startswith(b"\x89PNG")
    texts = words(fig)
    titles = [ax.get_title(loc=loc) for ax in fig.axes for loc in ("center", "left")]
    titles += [fig.get_suptitle()] if fig.get_suptitle() else []
    assert chinese(titles), f"{name}: no Chinese title in {titles}"
    for ax in fig.axes:
        if ax.get_visible() and ax.get_xlabel():
            assert HANZI.search(ax.get_xlabel()), f"{name}: x label {ax.get_xlabel()!r}"
    # Every text that holds Chinese was given the CJK font in its fallback list.
    cjk = plots.cjk_font()
    for t in fig.findobj(Text):
        if HANZI.search(t.get_text()):
            assert cjk in t.get_fontfamily(), (name, t.get_text(), t.get_fontfamily())
    # English words that are no unit, brand or abbreviation should all be translated.
    leftovers = [t for t in texts if re.search(r"\b(?:the|of|since|reader|words?|runs?|"
                                               r"clients?|time|tokens)\b", t)]
    assert not leftovers, f"{name}: untranslated {leftovers}"
    if os.environ.get("SSE_LAB_SAVE_CHARTS"):  # look at them: SSE_LAB_SAVE_CHARTS=/tmp/x
        folder = Path(os.environ["SSE_LAB_SAVE_CHARTS"])
        folder.mkdir(parents=True, exist_ok=True)
        fig.savefig(folder / f"zh-{name}.png", dpi=90)


@pytest.mark.parametrize("name", list(charts()))
def test_english_charts_keep_their_english_words(name: str) -> None:
    with use_language("en"):
        fig = charts()[name]()
    render(fig)
    assert not chinese(words(fig)), f"{name}: Chinese text in an English chart"


def test_english_titles_are_the_english_messages() -> None:
    streaming, blocking = recordings()
    with use_language("en"):
        timeline = plots.token_timeline([streaming, blocking], labels=["streaming", "blocking"])
        reading = plots.visible_text_over_time(streaming, blocking)
    assert timeline.axes[0].get_title() == "Token arrivals: one tick per token"
    assert timeline.axes[0].get_xlabel() == "time since request (s)"
    assert reading.axes[0].get_ylabel() == "words visible (1 CJK character = 1 word)"
    labels = reading.axes[0].get_legend_handles_labels()[1]
    assert labels[0].startswith("streaming (sse): reader idle ")
    assert "reader at 4 words/s" in labels


def test_caller_labels_are_translated_and_unknown_ones_kept() -> None:
    streaming, blocking = recordings()
    with use_language("zh-CN"):
        fig = plots.token_timeline([streaming, blocking], labels=["my own label", "blocking"])
    rows = [t.get_text().split("\n")[0] for t in fig.axes[0].get_yticklabels()]
    assert rows == ["my own label", "阻塞"]


def test_the_chinese_reader_counts_characters() -> None:
    _, _ = recordings()
    zh_stream, zh_block = recordings("为什么要流式输出")
    zh = READING_SPEEDS["zh-CN"]
    with use_language("zh-CN"):
        fig = plots.perceived_wait({"a": zh_stream, "b": zh_block}, words_per_s=zh.per_s,
                                   unit="char")
    assert fig.axes[0].get_ylabel() == "字"
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "读者，每秒 4.25 个字" in labels
    with pytest.raises(ValueError, match="unit"):
        plots.perceived_wait({"a": zh_stream}, unit="syllable")


def test_chinese_text_a_notebook_adds_afterwards_gets_the_cjk_font() -> None:
    # notebook 05 labels sped-up charts with fig.text(tr("played at speed={speed}x")) after
    # the chart function returned, outside its style: the figure adds the fallback at draw.
    if plots.cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    with use_language("zh-CN"):
        fig = plots.itl_histogram([0.05, 0.1, 0.1, 0.2])
    late = fig.text(0.99, 0.01, "以 10 倍速播放", ha="right")
    latin = fig.text(0.01, 0.01, "played at speed=10x")
    render(fig)
    assert plots.cjk_font() in late.get_fontfamily()
    assert plots.cjk_font() not in latin.get_fontfamily()  # Latin text keeps its font list
