"""The monitor chart's legend stays inside the figure, in every language.

Its legend sits above the plot in one row; the English labels ("generation tasks
(peak 320)") are wider than the Chinese ones, and in one row they ran past the
right edge ("generation tasks (pea"). The chart now measures the row and breaks it
in two when it does not fit, from the labels with their numbers widened, so a live
view's frames keep one layout while the peaks grow.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402

from sse_lab.i18n import use_language  # noqa: E402
from sse_lab.lab import plots  # noqa: E402


def samples(peak: int) -> list[dict[str, object]]:
    """A wave up to ``peak`` open streams (twice as many generation tasks)."""
    return [
        {"t": 0.1 * k, "open_total": k * peak // 20, "subscribers": 0,
         "generation_tasks": 2 * (k * peak // 20), "rss_bytes": (170 + k) * 2**20}
        for k in range(21)
    ]


def legend_box(fig: matplotlib.figure.Figure) -> tuple[float, float, int]:
    """(left, right) of the top panel's legend in pixels, and its number of rows."""
    canvas = FigureCanvasAgg(fig)
    fig.savefig(io.BytesIO(), format="png", dpi=fig.dpi)  # lay out as when shown
    legend = fig.axes[0].get_legend()
    renderer = canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    rows = {round(t.get_window_extent(renderer).y0) for t in legend.get_texts()}
    return box.x0, box.x1, len(rows)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("fast", [True, False])
def test_monitor_legend_fits_the_figure(language: str, fast: bool) -> None:
    with use_language(language):
        fig = plots.monitor_chart(samples(320), title="Waves of clients", fast=fast)
        left, right, _ = legend_box(fig)
    assert 0 <= left and right <= fig.bbox.width, (language, fast, left, right, fig.bbox.width)


def test_monitor_legend_layout_does_not_depend_on_the_peaks() -> None:
    # A live view redraws while the peaks grow from 0 to hundreds: same rows throughout.
    with use_language("en"):
        rows = {legend_box(plots.monitor_chart(samples(p), fast=True))[2] for p in (0, 9, 320)}
    assert len(rows) == 1


def test_chinese_legend_keeps_one_row() -> None:
    with use_language("zh-CN"):
        _, _, rows = legend_box(plots.monitor_chart(samples(320), fast=True))
    assert rows == 1
