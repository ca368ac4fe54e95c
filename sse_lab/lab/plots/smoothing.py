"""Smoothing: bursty arrival against an even reveal (notebook 07)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.figure import Figure

from sse_lab.i18n import N_, tr
from sse_lab.lab.plots.style import (
    BLOCKING_COLOR,
    FG,
    STREAMING_COLOR,
    add_legend,
    chart,
    new_figure,
)

__all__ = ["arrival_vs_display"]


@chart
def arrival_vs_display(
    arrival_times: Sequence[float],
    display_times: Sequence[float],
    *,
    title: str = N_("Smoothing: tokens as they arrive vs as they are shown"),
) -> Figure:
    """Bursty arrival against the smoothed reveal, one token at a time.

    Top: tokens visible over time, a staircase for arrival (tall steps are
    bursts) and one for display (small even steps). Bottom: the gap before
    each token, arrival vs display; the spread of each (standard deviation)
    is in the legend. A display point never lies left of its arrival: no
    token is shown before it arrived.

    Args:
        arrival_times: When each token arrived (seconds).
        display_times: When each was shown (same clock, same length).
    """
    arr, disp = list(arrival_times), list(display_times)
    if len(arr) != len(disp):
        raise ValueError(f"{len(arr)} arrival times but {len(disp)} display times")
    fig, (top, bottom) = new_figure(2, 1, (9.0, 6.0), height_ratios=[3, 2])
    n = len(arr)
    xs = list(range(1, n + 1))
    if n:
        end = max(arr[-1], disp[-1]) * 1.03
        top.step([0.0, *arr, end], [0, *xs, n], where="post", color=BLOCKING_COLOR,
                 linewidth=1.8, label=tr("arrived (bursty)"), gid="arrival")
        top.step([0.0, *disp, end], [0, *xs, n], where="post", color=STREAMING_COLOR,
                 linewidth=2.2, label=tr("shown (smoothed)"), gid="display")
        lags = [d - a for a, d in zip(arr, disp, strict=True)]
        top.set_xlim(0, end)
        top.set_ylim(0, n * 1.05)
        top.text(0.99, 0.03, tr("extra delay: mean {mean:.0f} ms, max {worst:.0f} ms",
                                mean=sum(lags) / n * 1000, worst=max(lags) * 1000),
                 transform=top.transAxes, ha="right",
                 va="bottom", fontsize=9, color=FG)
        add_legend(top, loc="upper left")

        def gaps(ts: list[float]) -> list[float]:
            return [(b - a) * 1000 for a, b in zip(ts, ts[1:], strict=False)]

        ga, gd = gaps(arr), gaps(disp)
        sa = _pstdev(ga[1:]) if len(ga) > 2 else 0.0
        sd = _pstdev(gd[1:]) if len(gd) > 2 else 0.0
        bottom.plot(xs[1:], ga, "o", color=BLOCKING_COLOR, markersize=3.5, alpha=0.8,
                    label=tr("arrival gaps (spread {ms:.0f} ms)", ms=sa), gid="arrival-gaps")
        bottom.plot(xs[1:], gd, "-o", color=STREAMING_COLOR, markersize=3.0, linewidth=1.0,
                    label=tr("display gaps (spread {ms:.0f} ms)", ms=sd), gid="display-gaps")
        bottom.set_ylim(0, max(ga + gd + [1.0]) * 1.3)
        add_legend(bottom, loc="upper right", ncols=2)
    top.set_xlabel(tr("time (s)"))
    top.set_ylabel(tr("tokens"))
    top.set_title(tr(title))
    bottom.set_xlabel(tr("token #"))
    bottom.set_ylabel(tr("gap before it (ms)"))
    return fig


def _pstdev(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
