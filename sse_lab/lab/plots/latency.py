"""Latency distributions: inter-token gaps, time to first token, TTFT vs prompt (notebook 05)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sse_lab.i18n import N_, tr
from sse_lab.lab.plots.style import (
    BLOCKING_COLOR,
    STREAMING_COLOR,
    add_legend,
    chart,
    is_numbers,
    new_axes,
    series_colors,
    text_color,
)
from sse_lab.metrics import (
    percentile,
    summarize,
)
from sse_lab.recording import Recording

__all__ = ["itl_histogram", "ttft_distribution", "ttft_vs_prompt_length"]


@chart
def itl_histogram(
    recs_or_itls: Recording | Sequence[Recording] | Sequence[float] | Sequence[Sequence[float]],
    *,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Histogram of inter-token latencies in ms, with p50 and p99 marked.

    Args:
        recs_or_itls: A recording, a list of recordings, one list of
            inter-token latencies in seconds (such as ``StreamMetrics.itl``),
            or a list of such lists. Several datasets share the same bins and
            are overlaid.
        labels: One label per dataset; defaults to the transport (or
            ``"ITL"`` for plain numbers).
        ax: Axes to draw into; a new figure is created if omitted.

    Returns:
        The figure: one rectangle patch per bin and dataset, a dashed line at
        each p50 and a dotted one at each p99 (values in the legend).
    """
    if isinstance(recs_or_itls, Recording) or is_numbers(recs_or_itls):
        items: list[Any] = [recs_or_itls]
    else:
        items = list(recs_or_itls)  # type: ignore[arg-type]
    data: list[list[float]] = []
    transports: list[str] = []
    for item in items:
        if isinstance(item, Recording):
            data.append([x * 1000 for x in summarize(item).itl])
            transports.append(item.transport)
        elif hasattr(item, "itl"):  # a StreamMetrics
            data.append([x * 1000 for x in item.itl])
            transports.append(getattr(item, "transport", ""))
        elif is_numbers(item):
            data.append([float(x) * 1000 for x in item])
            transports.append("")
        else:
            raise TypeError(f"expected a Recording or a sequence of seconds, got {item!r}")
    if labels is None:
        names = [
            t or ("ITL" if len(items) == 1 else tr("series {i}", i=i + 1))
            for i, t in enumerate(transports)
        ]
    else:
        names = [str(x) for x in labels]
    names = [tr(name) for name in names]  # a caller's label, in the learner's language
    if len(names) != len(data):
        raise ValueError(f"{len(data)} datasets but {len(names)} labels")
    colors = series_colors(names, transports)

    ax = new_axes(ax, (8.0, 4.5))
    fg = text_color(ax)
    values = [v for d in data for v in d]
    hi = max(values, default=0.0)
    nbins = min(40, max(10, 2 * math.ceil(math.sqrt(max(len(values), 1)))))
    hi = hi * 1.02 if hi > 0 else 1.0
    edges = [hi * k / nbins for k in range(nbins + 1)]
    shown = [(d, name, color) for d, name, color in zip(data, names, colors, strict=True) if d]
    for d, name, color in shown:
        # Overlaid on shared bins (bars keep their true position); a solid
        # outline tells overlapping datasets apart.
        ax.hist(
            d,
            bins=edges,
            color=color,
            alpha=0.8 if len(shown) == 1 else 0.4,
            edgecolor=ax.get_facecolor(),
            linewidth=0.5,
            label=tr("{name} ({n} gaps)", name=name, n=len(d)),
        )
        if len(shown) > 1:
            ax.hist(d, bins=edges, histtype="step", color=color, linewidth=1.2, gid="outline")
    for d, name, color in shown:
        for q, style in ((50, "--"), (99, ":")):
            v = percentile(d, q)
            ax.axvline(
                v,
                color=color if len(shown) > 1 else fg,
                linestyle=style,
                linewidth=1.6,
                label=tr("{name} p{q} = {v:.0f} ms", name=name, q=q, v=v),
                gid=f"p{q}",
            )
    if not values:
        ax.text(
            0.5,
            0.5,
            tr("no inter-token gaps (fewer than 2 tokens)"),
            transform=ax.transAxes,
            ha="center",
            va="center",
            color=fg,
        )
    ax.set_xlim(-0.01 * hi, hi * 1.04)  # a p50 of 0 ms stays visible
    if values:
        ax.set_ylim(0, ax.get_ylim()[1] * 1.3)  # room for the legend
    ax.set_xlabel(tr("inter-token latency (ms)"))
    ax.set_ylabel(tr("gaps (count)"))
    ax.set_title(tr("Inter-token latency"))
    if values:
        add_legend(ax, loc="upper right")
    return ax.figure


@chart
def ttft_distribution(
    ttfts: Sequence[float] | Sequence[Recording],
    *,
    planned: Sequence[float] | None = None,
    label: str = N_("measured"),
    ax: Axes | None = None,
) -> Figure:
    """Histogram of time to first token over many runs, p50/p90/p99 marked.

    Args:
        ttfts: TTFTs in seconds, or recordings (their first token time).
        planned: Optional TTFTs the model planned for the same runs (its
            prefill alone), drawn as a grey outline: the gap between the two
            is what the network and the server added.
        label: Legend label of the measured series.
        ax: Axes to draw into; a new figure is created if omitted.

    Returns:
        The figure: histogram patches, and one vertical line per percentile
        (``gid`` ``"p50"``, ``"p90"``, ``"p99"``).
    """
    values: list[float] = []
    for item in ttfts:
        if isinstance(item, Recording):
            times = item.token_times
            if times:
                values.append(times[0])
        else:
            values.append(float(item))
    ms = [v * 1000 for v in values]
    plan_ms = [float(v) * 1000 for v in planned or []]
    ax = new_axes(ax, (8.0, 4.3))
    fg = text_color(ax)
    both = ms + plan_ms
    if both:
        lo, hi = min(both), max(both)
        pad = max((hi - lo) * 0.08, 0.5)
        lo, hi = max(0.0, lo - pad), hi + pad
        nbins = min(30, max(8, 2 * math.ceil(math.sqrt(len(ms) or 1))))
        edges = [lo + (hi - lo) * k / nbins for k in range(nbins + 1)]
        if plan_ms:
            ax.hist(plan_ms, bins=edges, histtype="step", color="#999999", linewidth=2.0,
                    label=tr("model's plan (prefill only), {n} runs", n=len(plan_ms)),
                    gid="planned", zorder=3)
        if ms:
            ax.hist(ms, bins=edges, color=STREAMING_COLOR, alpha=0.8,
                    edgecolor=ax.get_facecolor(), linewidth=0.5,
                    label=tr("{label}, {n} runs", label=tr(label), n=len(ms)), gid="measured")
            for q, style in ((50, "--"), (90, "-."), (99, ":")):
                v = percentile(ms, q)
                ax.axvline(v, color=fg, linestyle=style, linewidth=1.5,
                           label=tr("p{q} = {v:.1f} ms", q=q, v=v), gid=f"p{q}")
        ax.set_xlim(lo, hi)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.35)  # room for the legend
        add_legend(ax, loc="upper right")
    else:
        ax.text(0.5, 0.5, tr("no first token in any run"), transform=ax.transAxes,
                ha="center", va="center", color=fg)
    ax.set_xlabel(tr("time to first token (ms)"))
    ax.set_ylabel(tr("runs"))
    ax.set_title(tr("Time to first token over many runs"))
    return ax.figure


@chart
def ttft_vs_prompt_length(
    points: Sequence[tuple[float, float]],
    *,
    fit: Any = None,
    ax: Axes | None = None,
) -> Figure:
    """Time to first token against prompt length, with a fitted line.

    Args:
        points: ``(prompt tokens, TTFT in seconds)`` pairs, as
            :func:`sse_lab.lab.experiments.ttft_by_prompt_length` returns.
        fit: A fitted line with ``intercept`` and ``slope`` in seconds and
            seconds per token (and optionally ``r2``), e.g.
            :func:`sse_lab.lab.experiments.fit_line`; drawn and named in the legend.
        ax: Axes to draw into; a new figure is created if omitted.

    Returns:
        The figure: the measurements as dots (``gid="measured"``), the line
        as ``gid="fit"``.
    """
    ax = new_axes(ax, (8.0, 4.5))
    xs = [float(x) for x, _ in points]
    ys = [float(y) * 1000 for _, y in points]
    ax.plot(xs, ys, "o", color=STREAMING_COLOR, markersize=6, alpha=0.85,
            label=tr("measured ({n} requests)", n=len(xs)), gid="measured")
    x_hi = max(xs + [1.0]) * 1.05
    if fit is not None:
        a, b = float(fit.intercept) * 1000, float(fit.slope) * 1000
        r2 = getattr(fit, "r2", None)
        extra = tr(", r² = {r2:.3f}", r2=r2) if r2 is not None else ""
        ax.plot([0, x_hi], [a, a + b * x_hi], color=BLOCKING_COLOR, linewidth=1.8,
                label=tr("fit: {a:.1f} ms + {b:.1f} µs × tokens", a=a, b=b * 1000) + extra,
                gid="fit")
    ax.set_xlim(0, x_hi)
    ax.set_ylim(0, max(ys + [1.0]) * 1.15)
    ax.set_xlabel(tr("prompt length (tokens)"))
    ax.set_ylabel(tr("time to first token (ms)"))
    ax.set_title(tr("A longer prompt, a later first token (prefill)"))
    add_legend(ax, loc="upper left")
    return ax.figure
