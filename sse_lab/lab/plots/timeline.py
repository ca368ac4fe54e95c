"""Token arrivals on a time line, one row per recording (notebooks 01 and 04)."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sse_lab.i18n import tr, trn
from sse_lab.lab.plots.style import (
    chart,
    fmt_ms,
    new_axes,
    series_colors,
    text_color,
)
from sse_lab.metrics import (
    summarize,
)
from sse_lab.recording import Recording

__all__ = ["token_timeline"]


@chart
def token_timeline(
    rec_or_recs: Recording | Sequence[Recording],
    *,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """One row per recording, one vertical tick per token at its arrival time.

    The shaded band of each row is the wait before the first token; a dashed
    line marks the TTFT, annotated in milliseconds. Rows run top to bottom in
    the order given, so several transports of the same answer compare at a
    glance (a blocking fetch is one tick at the very end).

    Args:
        rec_or_recs: A recording or a sequence of them.
        labels: Row labels; defaults to each recording's transport.
        ax: Axes to draw into; a new figure is created if omitted.

    Returns:
        The figure. Token ticks are the axes' ``EventCollection`` artists
        (one per row, ``gid="tokens"``).
    """
    recs = [rec_or_recs] if isinstance(rec_or_recs, Recording) else list(rec_or_recs)
    if not recs:
        raise ValueError("token_timeline needs at least one recording")
    names = [r.transport for r in recs] if labels is None else [str(x) for x in labels]
    shown = [tr(name) for name in names]  # a caller's label, in the learner's language
    if len(names) != len(recs):
        raise ValueError(f"{len(recs)} recordings but {len(names)} labels")
    colors = series_colors(names, [r.transport for r in recs])
    n = len(recs)
    ax = new_axes(ax, (9.0, 1.3 + 0.85 * n))
    fg = text_color(ax)

    ends = [summarize(r).total or 0.0 for r in recs]
    ends += [t for r in recs for t in r.token_times]
    xmax = max(max(ends, default=0.0), 1e-3) * 1.04
    ticklabels = []
    for i, (rec, name, color) in enumerate(zip(recs, shown, colors, strict=False)):
        y = n - 1 - i
        times = rec.token_times
        few = len(times) <= 3
        coll = ax.eventplot(
            [times],
            lineoffsets=y,
            linelengths=0.56,
            colors=[color],
            linewidths=3.0 if few else 1.3,
        )
        for c in coll:
            c.set_gid("tokens")
            c.set_label(name)
        ticklabels.append(name + "\n" + trn("{n} token", "{n} tokens", len(times), n=len(times)))
        if not times:
            continue
        bursts = _bursts(times)
        if len(bursts) <= 40 and any(k > 1 for _, k in bursts):
            for t, k in bursts:
                if k > 1:  # several tokens on one tick: say how many
                    ax.text(
                        t,
                        y - 0.3,
                        f"×{k}",
                        ha="center",
                        va="top",
                        fontsize=7.5,
                        color=fg,
                        gid="burst-label",
                    )
        ttft = times[0]
        ax.broken_barh([(0, ttft)], (y - 0.28, 0.56), facecolors=color, alpha=0.13, gid="wait")
        ax.vlines(ttft, y - 0.4, y + 0.4, colors=fg, linestyles="--", linewidth=1.1, gid="ttft")
        right = ttft > 0.62 * xmax
        ax.annotate(
            tr("TTFT {ms}", ms=fmt_ms(ttft)),
            xy=(ttft, y + 0.4),
            xytext=(-4 if right else 4, 0),
            textcoords="offset points",
            ha="right" if right else "left",
            va="center",
            fontsize=9,
            color=fg,
            gid="ttft-label",
        )
    ax.set_yticks(range(n - 1, -1, -1), ticklabels)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(0, xmax)
    ax.grid(False, axis="y")
    ax.set_xlabel(tr("time since request (s)"))
    ax.set_title(tr("Token arrivals: one tick per token"))
    return ax.figure


def _bursts(times: Sequence[float], within: float = 0.001) -> list[tuple[float, int]]:
    """Group arrivals less than ``within`` seconds apart: ``(time, count)``."""
    out: list[tuple[float, int]] = []
    for t in sorted(times):
        if out and t - out[-1][0] < within:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((t, 1))
    return out
