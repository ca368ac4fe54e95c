"""What a reader sees: words on screen over time against a reader (notebooks 01 and 05)."""

from __future__ import annotations

import math
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory

from sse_lab.i18n import tr
from sse_lab.lab.plots.style import (
    BLOCKING_COLOR,
    FG,
    MUTED,
    NIELSEN_LIMITS,
    PALETTE,
    STREAMING_COLOR,
    add_legend,
    chart,
    new_axes,
    new_figure,
    text_color,
)
from sse_lab.metrics import (
    reader_idle_time,
    reader_progress,
    visible_words,
)
from sse_lab.recording import Recording

# What the reader counts: words (an English reader) or characters (a Chinese one).
_UNITS = ("word", "char")


def _reader_label(speed: float, unit: str) -> str:
    if unit == "char":
        return tr("reader at {speed:g} characters/s", speed=speed)
    return tr("reader at {speed:g} words/s", speed=speed)


def _idle_label(key: str, transport: str, idle: float) -> str:
    """The legend entry of one answer: its name, its transport if that differs, its idle time."""
    # One whole message per case: "streaming" alone is also a widget status, translated
    # as one (流式输出中), while here it names a series.
    plain = transport in (key, "")
    if key == "streaming":
        return (tr("streaming: reader idle {idle:.2f} s", idle=idle) if plain else
                tr("streaming ({transport}): reader idle {idle:.2f} s", transport=tr(transport),
                   idle=idle))
    return (tr("blocking: reader idle {idle:.2f} s", idle=idle) if plain else
            tr("blocking ({transport}): reader idle {idle:.2f} s", transport=tr(transport),
               idle=idle))


def _check_unit(unit: str) -> None:
    if unit not in _UNITS:
        raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")

__all__ = ["perceived_wait", "step_points", "visible_text_over_time"]


def step_points(points: list[tuple[float, int]], x_end: float) -> tuple[list[float], list[int]]:
    """``(xs, ys)`` of a step curve of words visible, from 0 to ``x_end``."""
    xs, ys, shown = [0.0], [0], 0
    for t, w in sorted(points):
        shown = max(shown, w)
        xs.append(t)
        ys.append(shown)
    xs.append(max(x_end, xs[-1]))
    ys.append(shown)
    return xs, ys


@chart
def visible_text_over_time(
    streaming: Recording,
    blocking: Recording,
    *,
    words_per_s: float = 4.0,
    log_x: bool = False,
    unit: str = "word",
    ax: Axes | None = None,
) -> Figure:
    """Words on screen over time, streaming against blocking, with a reader.

    Both answers are drawn as step curves of the words visible so far (each
    CJK character counts as a word). A dashed grey line is a reader going at
    ``words_per_s`` from the moment the first word appears: where it runs
    under the streaming curve the reader never waits. Nielsen's 0.1 s, 1 s
    and 10 s response-time limits are the dotted vertical lines. The legend
    gives each reader's idle time (:func:`sse_lab.metrics.reader_idle_time`).

    Args:
        streaming: The streamed recording.
        blocking: The blocking recording (one arrival with the whole text).
        words_per_s: Reading speed for the reader line and the idle times.
        log_x: Use a logarithmic time axis (spreads the 0.1/1/10 s limits).
        unit: ``"word"`` (default) or ``"char"``: count characters, for a
            Chinese reader, with ``words_per_s`` in characters per second
            (``sse_lab.metrics.READING_SPEEDS["zh-CN"].per_s``).
        ax: Axes to draw into; a new figure is created if omitted.

    Returns:
        The figure, with ``fig.idle_times = {"streaming": s, "blocking": s}``
        (seconds the reader sat waiting) attached.
    """
    _check_unit(unit)
    series = [("streaming", streaming, STREAMING_COLOR), ("blocking", blocking, BLOCKING_COLOR)]
    ax = new_axes(ax, (9.0, 5.0))
    fg = text_color(ax)
    info: list[dict[str, Any]] = []
    for key, rec, color in series:
        points = visible_words(rec, unit)
        idle = reader_idle_time(points, words_per_s)
        total = max((w for _, w in points), default=0)
        info.append(
            {
                "key": key,
                "rec": rec,
                "color": color,
                "points": points,
                "idle": idle,
                "total": total,
                "first": next((t for t, w in points if w > 0), None),
                # The reader's last word: idle time plus reading time, by definition.
                "finish": idle + total / words_per_s,
            }
        )

    x_hi = max([s["finish"] for s in info] + [t for s in info for t, _ in s["points"]])
    x_hi = max(x_hi, 0.5) * 1.04
    x_lo = 0.0
    if log_x:
        x_lo = min([0.05] + [0.5 * s["first"] for s in info if s["first"]])

    idle_times: dict[str, float] = {}
    for s in info:
        key, rec, color, first, total = s["key"], s["rec"], s["color"], s["first"], s["total"]
        idle_times[key] = s["idle"]
        xs, ys = step_points(s["points"], x_hi)
        if log_x:
            xs[0] = x_lo
        label = _idle_label(key, rec.transport, s["idle"])
        ax.step(
            xs,
            ys,
            where="post",
            color=color,
            linewidth=2.2,
            label=label,
            gid=key,
        )
    for s in info:
        key, first, total = s["key"], s["first"], s["total"]
        if first is not None and total:
            # The reader line, sampled so it stays straight on a log axis too.
            steps = 200
            ts = [first + (total / words_per_s) * k / steps for k in range(steps + 1)]
            ax.plot(
                ts,
                [words_per_s * (t - first) for t in ts],
                color=MUTED,
                linestyle="--",
                linewidth=1.2,
                label=_reader_label(words_per_s, unit) if key == "streaming" else None,
                gid=f"reader-{key}",
            )

    if log_x:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}"))
    # Nielsen's limits that fall inside (or just beyond) the time range.
    limits = [(x, text) for x, text in NIELSEN_LIMITS if x_lo <= x <= x_hi * 1.25]
    if limits:
        x_hi = max(x_hi, max(x for x, _ in limits) * 1.06)
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for x, text in limits:
        ax.axvline(x, color=MUTED, linestyle=":", linewidth=1.3, gid="nielsen")
        ax.text(
            x,
            0.985,
            f"{tr(text)} ",
            transform=trans,
            rotation=90,
            ha="left",
            va="top",
            fontsize=8.5,
            color=MUTED if fg == FG else fg,
            gid="nielsen-label",
            bbox={"facecolor": ax.get_facecolor(), "edgecolor": "none", "pad": 1.0, "alpha": 0.8},
        )
    ax.set_xlim(x_lo, x_hi)
    top = max([s["total"] for s in info] + [1])
    ax.set_ylim(0, top * 1.08)
    ax.set_xlabel(tr("time since request (s), log scale") if log_x
                  else tr("time since request (s)"))
    ax.set_ylabel(tr("characters visible") if unit == "char"
                  else tr("words visible (1 CJK character = 1 word)"))
    ax.set_title(tr("What the reader sees: streaming vs blocking"))
    add_legend(ax, loc="best")
    fig = ax.figure
    fig.idle_times = idle_times  # type: ignore[attr-defined]
    return fig


@chart
def perceived_wait(
    recs: dict[str, Recording],
    *,
    words_per_s: float = 4.0,
    ncols: int = 2,
    unit: str = "word",
) -> Figure:
    """Words on screen against a reader, one panel per variant of an answer.

    Each panel draws the words visible over time (a step curve) and where a
    reader going at ``words_per_s`` is in the text (dashed grey): it runs at a
    slope of ``words_per_s`` while there is text to read and goes flat while
    the reader waits; the waits are shaded. The panel's title gives the time
    to first token, when the last token came and the reader's total idle
    time (:func:`sse_lab.metrics.reader_idle_time`).

    Args:
        recs: ``{variant name: recording}``; all panels share their axes.
        words_per_s: Reading speed.
        ncols: Panels per row.
        unit: ``"word"`` (default) or ``"char"``: a Chinese reader counts
            characters, and ``words_per_s`` is then characters per second.

    Returns:
        The figure, with ``fig.idle_times = {name: seconds}`` attached.
    """
    _check_unit(unit)
    names = list(recs)
    if not names:
        raise ValueError("perceived_wait needs at least one recording")
    ncols = max(1, min(ncols, len(names)))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = new_figure(nrows, ncols, (5.2 * ncols, 1.2 + 3.0 * nrows),
                                sharex=True, sharey=True)
    idle_times: dict[str, float] = {}
    x_hi, y_hi = 0.5, 1
    series = []
    for name in names:
        points = visible_words(recs[name], unit)
        verts, idle = reader_progress(points, words_per_s)
        series.append((name, points, verts, idle))
        x_hi = max([x_hi, verts[-1][0]] + [t for t, _ in points])
        y_hi = max([y_hi] + [w for _, w in points])
    x_hi *= 1.03
    # Vermillion is kept for the shaded waits.
    colors = [c for c in PALETTE if c != BLOCKING_COLOR]
    for k, (a, (name, points, verts, idle)) in enumerate(zip(axes, series, strict=False)):
        color = colors[k % len(colors)]
        idle_s = reader_idle_time(points, words_per_s)
        idle_times[name] = idle_s
        xs, ys = step_points(points, x_hi)
        on_screen = tr("characters on screen") if unit == "char" else tr("words on screen")
        a.step(xs, ys, where="post", color=color, linewidth=2.2, label=on_screen, gid="visible")
        a.plot([v[0] for v in verts], [v[1] for v in verts], color=MUTED, linestyle="--",
               linewidth=1.4, label=_reader_label(words_per_s, unit), gid="reader")
        for i, (s, e) in enumerate(idle):
            a.axvspan(s, e, color=BLOCKING_COLOR, alpha=0.13, linewidth=0, gid="idle",
                      label=tr("reader waiting") if i == 0 else None)
        first = next((t for t, w in points if w > 0), None)
        last = points[-1][0] if points else None
        if first is not None and last is not None:
            head = tr(name) + "\n" + (
                tr("first character {first:.1f} s · last {last:.1f} s", first=first, last=last)
                if unit == "char"
                else tr("first word {first:.1f} s · last {last:.1f} s", first=first, last=last))
        else:
            head = tr(name)
        a.set_title(head + tr(" · idle {idle:.1f} s", idle=idle_s), fontsize=10.5, loc="left")
        if k == 0:
            add_legend(a, loc="lower right")
    for a in axes[len(series):]:
        a.set_visible(False)
    axes[0].set_xlim(0, x_hi)
    axes[0].set_ylim(0, y_hi * 1.08)
    for a in axes[(nrows - 1) * ncols:]:
        a.set_xlabel(tr("time since request (s)"))
    for a in axes[::ncols]:
        a.set_ylabel(tr("characters") if unit == "char" else tr("words"))
    fig.suptitle(tr("Same total time, different waits: what a reader lives through"),
                 color=FG, fontsize=12)
    fig.idle_times = idle_times  # type: ignore[attr-defined]
    return fig
