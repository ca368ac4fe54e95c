"""Server monitoring and load tests: open streams, memory, clients (notebook 06)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sse_lab.i18n import N_, tr
from sse_lab.lab.plots.style import (
    BLOCKING_COLOR,
    FG,
    MUTED,
    PALETTE,
    STREAMING_COLOR,
    add_legend,
    chart,
    new_figure,
    text_color,
)
from sse_lab.metrics import (
    percentile,
)

__all__ = ["load_chart", "monitor_chart"]


_MONITOR_SERIES: dict[str, tuple[str, str]] = {
    "open_total": (N_("open streams"), STREAMING_COLOR),
    "subscribers": (N_("/events subscribers"), "#009E73"),
    "generation_tasks": (N_("generation tasks"), "#E69F00"),
}
# Thick solid first, thinner dashed on top: equal series stay visible.
_MONITOR_STYLE: dict[str, dict[str, Any]] = {
    "open_total": {"linewidth": 3.2},
    "subscribers": {"linewidth": 2.0},
    "generation_tasks": {"linewidth": 1.6, "linestyle": (0, (4, 2))},
}


def _widest_label(label: str) -> str:
    """``label`` with every number widened to five digits.

    The legend's layout is chosen from these, so it does not change while a
    live view's peaks grow (a frame must not jump from one row to two).
    """
    return re.sub(r"\d+", "88888", label)


def _legend_rows(ax: Axes, handles: list[Any], labels: list[str]) -> int:
    """1 if a one-row legend of ``labels`` fits the figure's width, else 2."""
    if not labels:
        return 1
    fig = ax.get_figure(root=True)
    probe = ax.legend(handles, labels, ncols=len(labels), frameon=False, fontsize=9)
    renderer = RendererAgg(int(fig.bbox.width), int(fig.bbox.height), fig.dpi)
    width = probe.get_window_extent(renderer).width
    probe.remove()
    return 1 if width <= 0.9 * fig.bbox.width else 2


@chart
def monitor_chart(
    samples: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str] = ("open_total", "subscribers", "generation_tasks"),
    title: str = N_("Server monitor"),
    fast: bool = False,
) -> Figure:
    """Open connections (and friends) and memory over time, from monitor samples.

    The Python counterpart of the source article's ``connectionCount`` and
    ``process.memoryUsage()`` logs, as a chart: the top panel draws each
    counter in ``keys`` as a step line, the bottom panel the process's
    resident memory (RSS) in MB. Peaks are labelled. The first counter's
    line carries a dot per sample, and samples with a ``mark``
    (:meth:`~sse_lab.lab.monitor.Monitor.mark`) get a dotted vertical line
    with their label.

    Args:
        samples: :attr:`sse_lab.lab.monitor.Monitor.samples` (or
            :attr:`sse_lab.lab.loadtest.LoadResult.samples`): dicts with ``t`` and
            the ``stats()`` counters.
        keys: The counters of the top panel.
        title: The figure's title.
        fast: Fixed margins instead of the constrained layout: about twice
            as fast to draw, and frames of a live view do not shift.

    Returns:
        The figure (two axes, sharing the time axis).
    """
    fig, (top, bottom) = new_figure(
        2, 1, (8.5, 5.2), layout=None if fast else "constrained",
        sharex=True, height_ratios=[3, 2],
    )
    if fast:
        fig.subplots_adjust(left=0.08, right=0.98, top=0.87, bottom=0.09, hspace=0.1)
    ts = [float(s.get("t", 0.0)) for s in samples]
    for key in keys:
        name, color = _MONITOR_SERIES.get(key, (key, PALETTE[len(top.get_lines()) % 7]))
        ys = [float(s.get(key, 0) or 0) for s in samples]
        if not ys:
            continue
        peak = max(ys)
        style = _MONITOR_STYLE.get(key, {"linewidth": 2.0})
        top.step(ts, ys, where="post", color=color,
                 label=tr("{name} (peak {peak:.0f})", name=tr(name), peak=peak),
                 gid=key, **style)
        if key == keys[0]:
            # One dot per sample: where the line is a guess between two
            # samples (a late sample on a busy machine) is visible.
            top.plot(ts, ys, "o", linestyle="none", markersize=3.2, markerfacecolor="white",
                     markeredgecolor=color, markeredgewidth=0.9, zorder=3, gid="samples",
                     label=tr("samples"))
    rss = [float(s.get("rss_bytes", 0) or 0) / 2**20 for s in samples]
    if rss:
        bottom.plot(ts, rss, color="#CC79A7", linewidth=2.0, gid="rss",
                    label=tr("RSS {first:.1f} → {last:.1f} MB (peak {peak:.1f})",
                             first=rss[0], last=rss[-1], peak=max(rss)))
        lo, hi = min(rss), max(rss)
        pad = max(2.0, 0.15 * (hi - lo))
        bottom.set_ylim(max(0.0, lo - pad), hi + pad)
        add_legend(bottom, loc="lower right")
    marks = [(t, str(s["mark"])) for t, s in zip(ts, samples, strict=True) if s.get("mark")]
    for t, label in marks:
        # A moment a notebook checked (Monitor.mark / wait_for): fresh stats, not a stale sample.
        for a in (top, bottom):
            a.axvline(t, color=MUTED, linestyle=":", linewidth=1.1, gid="mark")
        top.annotate(tr(label), xy=(t, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2),
                     textcoords="offset points", rotation=90, ha="left", va="top",
                     fontsize=7.5, color=MUTED, gid="mark-label")
    if not samples:
        top.text(0.5, 0.5, tr("no samples yet"), transform=top.transAxes, ha="center",
                 va="center", color=MUTED)
    top.set_ylim(bottom=0)
    top.set_ylim(0, max(1.0, top.get_ylim()[1] * 1.15))
    top.set_ylabel(tr("count"))
    handles, labelled = top.get_legend_handles_labels()
    rows = _legend_rows(top, handles, [_widest_label(label) for label in labelled])
    top.set_title(tr(title), pad=(24 if rows == 1 else 38) if labelled else None)
    if labelled:
        # Above the plot: it never hides a peak. One row when it fits the figure's
        # width, else two (English labels are wider than Chinese ones).
        top.legend(handles, labelled, loc="lower left", bbox_to_anchor=(0.0, 1.0),
                   ncols=math.ceil(len(labelled) / rows), frameon=False, fontsize=9,
                   labelcolor=text_color(top), borderaxespad=0.2)
        if fast and rows > 1:
            fig.subplots_adjust(top=0.82)
    bottom.set_ylabel(tr("memory (MB)"))
    bottom.set_xlabel(tr("time since the monitor started (s)"))
    if ts:
        bottom.set_xlim(0, max(ts[-1], 0.1))
    return fig


@chart
def load_chart(result: Any, *, planned_ttft: float | None = None) -> Figure:
    """A load test at a glance: every client's stream, and the TTFT distribution.

    Left: one thin line per client from its start to its end, a dot at its
    first token (failed clients in vermillion), with the server's open
    streams over time (sampled) on the right-hand axis. Right: a histogram
    of the clients' time to first token with p50, p90 and p99 marked.

    Args:
        result: A :class:`sse_lab.lab.loadtest.LoadResult`.
        planned_ttft: The model's own time to first token (seconds), drawn
            as a grey line: what is right of it is the cost of the load.
    """
    fig, (ax, hist) = new_figure(1, 2, (11.0, 4.8), width_ratios=[3, 2])
    results = list(result.results)
    order = sorted(results, key=lambda r: (r.start, r.index))
    lw = max(0.4, min(2.0, 220 / max(len(order), 1)))
    for y, r in enumerate(order):
        end = r.end if r.end is not None else r.start
        first = r.first_token_at
        if not r.ok:
            ax.hlines(y, r.start, end, color=BLOCKING_COLOR, linewidth=lw, gid="failed")
        elif first is not None:
            ax.hlines(y, r.start, first, color="#bbbbbb", linewidth=lw, gid="waiting")
            ax.hlines(y, first, end, color=STREAMING_COLOR, linewidth=lw, gid="streaming")
    handles = [
        Line2D([], [], color="#bbbbbb", linewidth=3, label=tr("waiting for the first token")),
        Line2D([], [], color=STREAMING_COLOR, linewidth=3, label=tr("streaming tokens")),
    ]
    if any(not r.ok for r in results):
        handles.append(Line2D([], [], color=BLOCKING_COLOR, linewidth=3, label=tr("failed")))
    ax.set_ylim(-1, max(len(order), 1))
    ax.set_xlabel(tr("time since the load test started (s)"))
    ax.set_ylabel(tr("client (by start time)"))
    ax.set_title(tr("{clients} concurrent clients: {ok} complete", clients=result.clients,
                    ok=result.ok))
    xmax = max([r.end or 0 for r in results] + [s.get("t", 0) for s in result.samples] + [0.1])
    ax.set_xlim(0, xmax * 1.03)
    if result.samples:
        twin = ax.twinx()
        twin.step([s["t"] for s in result.samples], [s.get("open_total", 0) for s in
                  result.samples], where="post", color="#E69F00", linewidth=2.0,
                  label=tr("server: open streams (peak {peak})", peak=result.peak_open), gid="open")
        twin.set_ylim(0, max(result.peak_open, 1) * 1.15)
        twin.set_ylabel(tr("open streams on the server"), color="#E69F00")
        twin.tick_params(colors=FG)
        handles += twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=3,
              fontsize=8.5, frameon=False, labelcolor=FG)
    ttfts = [t * 1000 for t in result.ttfts]
    if ttfts:
        hi = max(ttfts) * 1.05 or 1.0
        bins = min(40, max(10, int(math.sqrt(len(ttfts)) * 2)))
        hist.hist(ttfts, bins=bins, range=(0, hi), color=STREAMING_COLOR, alpha=0.8,
                  edgecolor="white", linewidth=0.5, label=tr("{n} clients", n=len(ttfts)))
        for q, style in ((50, "--"), (90, "-."), (99, ":")):
            v = percentile(ttfts, q)
            hist.axvline(v, color=FG, linestyle=style, linewidth=1.5,
                         label=tr("p{q} = {v:.0f} ms", q=q, v=v), gid=f"p{q}")
        if planned_ttft is not None:
            hist.axvline(planned_ttft * 1000, color=MUTED, linewidth=3, alpha=0.6,
                         label=tr("model alone: {ms:.0f} ms", ms=planned_ttft * 1000),
                         gid="planned")
        hist.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2, fontsize=8.5,
                    frameon=False, labelcolor=FG)
    else:
        hist.text(0.5, 0.5, tr("no client got a token"), transform=hist.transAxes,
                  ha="center", va="center", color=FG)
    hist.set_xlabel(tr("time to first token (ms)"))
    hist.set_ylabel(tr("clients"))
    hist.set_title(tr("Time to first token under load"))
    return fig
