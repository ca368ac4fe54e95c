"""Reconnection storms: attempts per time bin, one panel per policy (notebook 06)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.figure import Figure

from sse_lab.i18n import tr
from sse_lab.lab.plots.style import (
    BLOCKING_COLOR,
    FG,
    MUTED,
    STREAMING_COLOR,
    chart,
    new_figure,
)

__all__ = ["reconnect_storm"]


@chart
def reconnect_storm(
    attempts: dict[str, Sequence[Sequence[float]]],
    *,
    bin_s: float = 0.1,
    down_for: float | None = None,
) -> Figure:
    """Reconnection attempts per time bin, one panel per policy.

    Many clients lose the same server at ``t = 0``. With a fixed schedule
    (the source's ``1000 * reconnectCount``) every client comes back in the
    same instant: tall spikes, the *thundering herd*. Full jitter spreads the
    same clients thinly over time.

    Args:
        attempts: ``{policy name: per-client lists of attempt times}``, as
            :func:`sse_lab.lab.loadtest.simulate_reconnects` returns.
        bin_s: Width of a bin (seconds).
        down_for: Draw the moment the server is back.
    """
    names = list(attempts)
    if not names:
        raise ValueError("reconnect_storm needs at least one policy")
    fig, axes = new_figure(len(names), 1, (9.0, 1.2 + 1.9 * len(names)), sharex=True)
    all_times = [t for name in names for c in attempts[name] for t in c]
    xmax = max(all_times + [down_for or 0.0, bin_s]) * 1.03
    nbins = max(1, math.ceil(xmax / bin_s))
    edges = [k * bin_s for k in range(nbins + 1)]
    colors = [BLOCKING_COLOR, "#E69F00", STREAMING_COLOR, "#009E73", "#CC79A7"]
    peaks = []
    for k, (a, name) in enumerate(zip(axes, names, strict=True)):
        times = [t for c in attempts[name] for t in c]
        counts, _, _ = a.hist(times, bins=edges, color=colors[k % len(colors)], alpha=0.85,
                              edgecolor=colors[k % len(colors)], linewidth=0.6)
        peak = int(max(counts, default=0))
        peaks.append(peak)
        clients = len(attempts[name])
        if down_for is None:
            what = tr("peak {peak} of {clients} clients in one {ms:.0f} ms bin", peak=peak,
                      clients=clients, ms=bin_s * 1000)
        else:
            back = [c for c, e in zip(counts, edges, strict=False) if e >= down_for - 1e-9]
            what = tr("once it is back, up to {most} of {clients} clients per {ms:.0f} ms",
                      most=int(max(back, default=0)), clients=clients, ms=bin_s * 1000)
            a.axvspan(0, down_for, color="#000000", alpha=0.05, linewidth=0, gid="down")
            a.axvline(down_for, color=MUTED, linestyle="--", linewidth=1.2, gid="back-up")
        a.set_title(tr("{name}: {what}", name=tr(name), what=what), fontsize=10.5, loc="left")
        a.set_ylabel(tr("attempts"))
    top = max(peaks + [1]) * 1.15
    for a in axes:
        a.set_ylim(0, top)
    if down_for is not None:
        axes[0].annotate(tr("server back"), xy=(down_for, top * 0.97), xytext=(4, 0),
                         textcoords="offset points", va="top", fontsize=8.5, color=MUTED)
        axes[0].annotate(tr("server down"), xy=(down_for / 2, top * 0.97), ha="center", va="top",
                         fontsize=8.5, color=MUTED)
    axes[-1].set_xlim(0, xmax)
    axes[-1].set_xlabel(tr("time since the server went away (s)"))
    fig.suptitle(tr("Reconnection attempts per time bin"), color=FG, fontsize=12)
    return fig
