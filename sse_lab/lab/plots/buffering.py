"""The buffering X-ray: server emit time against client receive time (notebook 05)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sse_lab.i18n import tr, trn
from sse_lab.lab.plots.style import (
    FG,
    MUTED,
    PALETTE,
    TRANSPORT_COLORS,
    add_legend,
    chart,
    fmt_ms,
    new_axes,
    new_figure,
    text_color,
)
from sse_lab.metrics import (
    distinct_instants,
    percentile,
)
from sse_lab.model import Plan
from sse_lab.recording import Recording

__all__ = ["emit_vs_receive", "emit_vs_receive_grid"]


@chart
def emit_vs_receive(
    emit_times: Sequence[float] | Plan,
    receive_times: Sequence[float] | Recording,
    *,
    label: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Server emit time against client receive time, one point per token.

    On the dashed ``y = x`` diagonal a token arrived the moment it was sent;
    a constant offset above it is network latency; a horizontal run is a
    burst: tokens sent at different times that a buffer (a proxy, gzip, a
    batching server) held back and delivered together. Call it again with
    the same ``ax`` to overlay another path.

    Args:
        emit_times: When the server emitted each token (seconds since the
            request), or a :class:`~sse_lab.model.Plan`.
        receive_times: When the client received each token, or a Recording
            (its token times).
        label: Legend label of this series; the median and worst lag are added.
        ax: Axes to draw into; a new figure is created if omitted.

    Raises:
        ValueError: the two sequences have different lengths.
    """
    emit = list(emit_times.emit_times()) if isinstance(emit_times, Plan) else list(emit_times)
    if isinstance(receive_times, Recording):
        if label is None:
            label = receive_times.transport
        recv = receive_times.token_times
    else:
        recv = list(receive_times)
    if len(emit) != len(recv):
        raise ValueError(f"{len(emit)} emit times but {len(recv)} receive times")
    ax = new_axes(ax, (6.8, 6.0))
    fg = text_color(ax)
    drawn = [ln for ln in ax.get_lines() if ln.get_gid() == "emit-receive"]
    key = label or "tokens"
    name = tr(label) if label else tr("tokens")
    color = TRANSPORT_COLORS.get(key, PALETTE[len(drawn) % len(PALETTE)])
    if any(ln.get_color() == color for ln in drawn):
        color = PALETTE[(len(drawn) + 1) % len(PALETTE)]
    lags = [r - e for e, r in zip(emit, recv, strict=False)]
    if lags:
        name += tr(" (lag p50 {p50}, max {worst})", p50=fmt_ms(percentile(lags, 50)),
                   worst=fmt_ms(max(lags)))
    ax.plot(
        emit,
        recv,
        "-o",
        color=color,
        markersize=3.5,
        linewidth=0.9,
        label=name,
        gid="emit-receive",
    )
    hi = max([*emit, *recv, 1e-3])
    for ln in drawn:
        hi = max([hi, *ln.get_xdata(), *ln.get_ydata()])
    hi *= 1.04
    diagonal = [ln for ln in ax.get_lines() if ln.get_gid() == "diagonal"]
    if diagonal:
        diagonal[0].set_data([0, hi], [0, hi])
    else:
        ax.plot(
            [0, hi],
            [0, hi],
            color=MUTED,
            linestyle="--",
            linewidth=1.1,
            label=tr("received = emitted (no delay)"),
            gid="diagonal",
            zorder=1,
        )
        ax.text(
            0.03,
            0.97,
            tr("horizontal run = tokens held back,\nthen delivered together"),
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=8.5,
            color=MUTED if fg == FG else fg,
        )
    ax.set_xlim(0, hi)
    ax.set_ylim(0, hi)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(tr("server emit time (s since request)"))
    ax.set_ylabel(tr("client receive time (s since request)"))
    ax.set_title(tr("Buffering X-ray: emitted vs received"))
    add_legend(ax, loc="lower right")
    return ax.figure


@chart
def emit_vs_receive_grid(
    emit_times: Sequence[float],
    recordings: dict[str, Recording],
    *,
    titles: dict[str, str] | None = None,
    ncols: int = 3,
) -> Figure:
    """One emit-vs-receive panel per path, so paths that overlap stay visible.

    Several buffered paths deliver everything at the same final instant: on
    one chart (:func:`emit_vs_receive`) their flat runs would cover each
    other. Here each path gets its own panel with the same axes; the panel's
    title says how many distinct instants its tokens arrived at.

    Args:
        emit_times: When the server emitted each token (seconds since the request).
        recordings: ``{path name: recording}`` (e.g. ``BufferingXRay.recordings``).
        titles: Display names per path (e.g. ``BufferingXRay.descriptions``).
        ncols: Panels per row.
    """
    names = list(recordings)
    if not names:
        raise ValueError("emit_vs_receive_grid needs at least one recording")
    ncols = max(1, min(ncols, len(names)))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = new_figure(nrows, ncols, (4.1 * ncols, 0.6 + 3.9 * nrows),
                                sharex=True, sharey=True)
    emit = list(emit_times)
    hi = max([*emit, 1e-3] + [t for r in recordings.values() for t in r.token_times]) * 1.04
    colors = [c for c in PALETTE if c != "#000000"]
    for k, (a, name) in enumerate(zip(axes, names, strict=False)):
        rec = recordings[name]
        recv = rec.token_times
        n = min(len(emit), len(recv))
        color = colors[k % len(colors)]
        a.plot([0, hi], [0, hi], color=MUTED, linestyle="--", linewidth=1.0, gid="diagonal")
        a.plot(emit[:n], recv[:n], "-o", color=color, markersize=3.0, linewidth=0.9,
               gid="emit-receive")
        lags = [r - e for e, r in zip(emit[:n], recv[:n], strict=True)]
        instants = distinct_instants(rec)
        title = tr((titles or {}).get(name, name))
        a.set_title(title + "\n" + trn("{n} tokens at {k} instant", "{n} tokens at {k} instants",
                                        instants, n=len(recv), k=instants),
                    fontsize=10, loc="left")
        if lags:
            a.text(0.97, 0.04, tr("lag p50 {p50}\nmax {worst}", p50=fmt_ms(percentile(lags, 50)),
                                  worst=fmt_ms(max(lags))),
                   transform=a.transAxes, ha="right", va="bottom", fontsize=8.5, color=FG)
        a.set_aspect("equal", adjustable="box")
    for a in axes[len(names):]:
        a.set_visible(False)
    axes[0].set_xlim(0, hi)
    axes[0].set_ylim(0, hi)
    for a in axes[(nrows - 1) * ncols:]:
        a.set_xlabel(tr("server emit (s)"))
    for a in axes[::ncols]:
        a.set_ylabel(tr("client receive (s)"))
    fig.suptitle(tr("Buffering X-ray: on the diagonal = streamed; flat, then a jump = held back"),
                 color=FG, fontsize=12)
    return fig
