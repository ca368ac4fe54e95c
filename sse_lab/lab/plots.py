"""Charts of recorded streams, for the notebooks.

Every function draws with matplotlib's object-oriented API on a
:class:`~matplotlib.figure.Figure` that pyplot does not manage (so a notebook
cell that returns it displays it exactly once) and returns that figure. Pass
``ax=`` to draw into an existing axes (for side-by-side panels); the function
then returns ``ax.figure`` and leaves that axes' own styling alone.

Figures created here have an explicit white background and dark text, so they
read the same in JupyterLab's light and dark themes (and under a global
``plt.style.use("dark_background")``). Streaming is always blue and blocking
always vermillion (Okabe-Ito colours, safe for colour-blind readers).

Chinese text renders with a Noto Sans CJK font when one is installed
(``apt-get install fonts-noto-cjk``); importing this module adds it as a
fallback font, silently, and does nothing when none is present.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from numbers import Real
from typing import Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory

from sse_lab.metrics import percentile, reader_idle_time, summarize, visible_words
from sse_lab.model import Plan
from sse_lab.recording import Recording

__all__ = [
    "BLOCKING_COLOR",
    "STREAMING_COLOR",
    "TRANSPORT_COLORS",
    "NIELSEN_LIMITS",
    "emit_vs_receive",
    "itl_histogram",
    "token_timeline",
    "use_cjk_font",
    "visible_text_over_time",
]

# -- style ---------------------------------------------------------------------

#: Streaming (SSE) series colour: Okabe-Ito blue.
STREAMING_COLOR = "#0072B2"
#: Blocking (non-streaming) series colour: Okabe-Ito vermillion.
BLOCKING_COLOR = "#D55E00"
#: One fixed colour per transport, so every chart agrees.
TRANSPORT_COLORS: dict[str, str] = {
    "sse": STREAMING_COLOR,
    "streaming": STREAMING_COLOR,
    "blocking": BLOCKING_COLOR,
    "websocket": "#009E73",
    "poll": "#CC79A7",
    "longpoll": "#E69F00",
}
_PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

#: Jakob Nielsen's three response-time limits (Usability Engineering, 1993).
NIELSEN_LIMITS: tuple[tuple[float, str], ...] = (
    (0.1, "0.1 s: feels instant"),
    (1.0, "1 s: flow of thought kept"),
    (10.0, "10 s: attention lost"),
)

_FG = "#222222"  # text
_MUTED = "#666666"  # reference lines and their labels
_GRID = "#e3e3e3"
_RC: dict[str, Any] = {
    "figure.facecolor": "white",
    "figure.edgecolor": "white",
    "axes.facecolor": "white",
    "axes.edgecolor": "#555555",
    "axes.labelcolor": _FG,
    "axes.titlecolor": _FG,
    "axes.titlesize": 12,
    "axes.labelsize": 10,
    "axes.grid": False,
    "text.color": _FG,
    "xtick.color": _FG,
    "ytick.color": _FG,
    "grid.color": _GRID,
    "legend.facecolor": "white",
    "legend.edgecolor": "#cccccc",
    "legend.framealpha": 0.92,
    "legend.fontsize": 9,
    "lines.color": _FG,
    "patch.edgecolor": _FG,
}

_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK KR")


def use_cjk_font() -> str | None:
    """Add an installed Noto Sans CJK font as a fallback of ``font.family``.

    Latin text keeps the default sans-serif font; characters it lacks (Chinese,
    Japanese) fall back to the CJK font instead of rendering as boxes. Called
    once on import; silent and harmless when no CJK font is installed.

    Returns:
        The font family added (or already present), or ``None`` if none found.
    """
    try:
        from matplotlib import font_manager

        names = {f.name for f in font_manager.fontManager.ttflist}
        found = next((n for n in _CJK_FONTS if n in names), None)
        if found is None:
            # Installed after matplotlib cached its font list: register it.
            logger = logging.getLogger("matplotlib.font_manager")
            level = logger.level
            logger.setLevel(logging.ERROR)
            try:
                for path in font_manager.findSystemFonts():
                    if "notosanscjk" in path.lower().replace("-", "").replace("_", ""):
                        font_manager.fontManager.addfont(path)
            finally:
                logger.setLevel(level)
            names = {f.name for f in font_manager.fontManager.ttflist}
            found = next((n for n in _CJK_FONTS if n in names), None)
        if found is None:
            return None
        family = mpl.rcParams["font.family"]
        family = [family] if isinstance(family, str) else list(family)
        if not any(f in family for f in _CJK_FONTS):
            mpl.rcParams["font.family"] = family + [found]
        return found
    except Exception:  # a font problem must never break an import
        return None


use_cjk_font()


def _show_figures_in_ipython() -> None:
    """Let a cell that returns one of our figures display it as a PNG.

    Our figures are not managed by pyplot, so the inline backend's formatter
    may not be registered yet (it is set up when pyplot is first imported);
    register it for :class:`Figure` when running inside IPython.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "display_formatter"):
        try:
            select_figure_formats(shell, {"png"})
        except Exception:  # display is a convenience, never a reason to fail
            pass


_show_figures_in_ipython()


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or the axes of a new white, dark-text figure."""
    if ax is not None:
        return ax
    # A Figure outside pyplot: a notebook cell returning it shows it once
    # (a pyplot figure would also be shown by the inline backend's auto-flush).
    with mpl.rc_context(_RC):
        ax = Figure(figsize=figsize, layout="constrained").add_subplot()
    # Ticks and grid lines are created lazily at draw time, outside this rc
    # context (e.g. under a global dark style): pin their colours now.
    ax.tick_params(which="both", colors=_FG)
    ax.grid(True, color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    return ax


def _fg(ax: Axes) -> str:
    """The axes' text colour (dark on our figures, light on a dark style)."""
    return ax.xaxis.label.get_color()


def _legend(ax: Axes, **kwargs: Any) -> None:
    fg = _fg(ax)
    ax.legend(
        facecolor=ax.get_facecolor(),
        edgecolor="#cccccc" if fg == _FG else "#777777",
        labelcolor=fg,
        framealpha=0.92,
        fontsize=9,
        **kwargs,
    )


def _colors(labels: Sequence[str], transports: Sequence[str]) -> list[str]:
    """One colour per series: by transport when that tells them apart."""
    keys = [t if t else lbl for t, lbl in zip(transports, labels, strict=True)]
    # The first series of a known transport gets that transport's colour (so
    # blocking stays vermillion); the others get colours nobody here uses.
    reserved = {TRANSPORT_COLORS[k] for k in keys if k in TRANSPORT_COLORS}
    spare = [c for c in _PALETTE if c not in reserved]
    out: list[str] = []
    for k in keys:
        color = TRANSPORT_COLORS.get(k)
        if color is None or color in out:
            color = spare.pop(0) if spare else _PALETTE[len(out) % len(_PALETTE)]
        out.append(color)
    return out


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _is_numbers(x: object) -> bool:
    return (
        isinstance(x, Sequence)
        and not isinstance(x, str)
        and all(isinstance(v, Real) and not isinstance(v, bool) for v in x)
    )


# -- token timeline ------------------------------------------------------------


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
    if len(names) != len(recs):
        raise ValueError(f"{len(recs)} recordings but {len(names)} labels")
    colors = _colors(names, [r.transport for r in recs])
    n = len(recs)
    ax = _axes(ax, (9.0, 1.3 + 0.85 * n))
    fg = _fg(ax)

    ends = [summarize(r).total or 0.0 for r in recs]
    ends += [t for r in recs for t in r.token_times]
    xmax = max(max(ends, default=0.0), 1e-3) * 1.04
    ticklabels = []
    for i, (rec, name, color) in enumerate(zip(recs, names, colors, strict=False)):
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
        ticklabels.append(f"{name}\n{len(times)} token{'s' if len(times) != 1 else ''}")
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
            f"TTFT {_ms(ttft)}",
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
    ax.set_xlabel("time since request (s)")
    ax.set_title("Token arrivals: one tick per token")
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


# -- words visible over time ---------------------------------------------------


def _steps(points: list[tuple[float, int]], x_end: float) -> tuple[list[float], list[int]]:
    xs, ys, shown = [0.0], [0], 0
    for t, w in sorted(points):
        shown = max(shown, w)
        xs.append(t)
        ys.append(shown)
    xs.append(max(x_end, xs[-1]))
    ys.append(shown)
    return xs, ys


def visible_text_over_time(
    streaming: Recording,
    blocking: Recording,
    *,
    words_per_s: float = 4.0,
    log_x: bool = False,
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
        ax: Axes to draw into; a new figure is created if omitted.

    Returns:
        The figure, with ``fig.idle_times = {"streaming": s, "blocking": s}``
        (seconds the reader sat waiting) attached.
    """
    series = [("streaming", streaming, STREAMING_COLOR), ("blocking", blocking, BLOCKING_COLOR)]
    ax = _axes(ax, (9.0, 5.0))
    fg = _fg(ax)
    info: list[dict[str, Any]] = []
    for key, rec, color in series:
        points = visible_words(rec)
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
        xs, ys = _steps(s["points"], x_hi)
        if log_x:
            xs[0] = x_lo
        name = key if rec.transport in (key, "") else f"{key} ({rec.transport})"
        ax.step(
            xs,
            ys,
            where="post",
            color=color,
            linewidth=2.2,
            label=f"{name}: reader idle {s['idle']:.2f} s",
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
                color=_MUTED,
                linestyle="--",
                linewidth=1.2,
                label=f"reader at {words_per_s:g} words/s" if key == "streaming" else None,
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
        ax.axvline(x, color=_MUTED, linestyle=":", linewidth=1.3, gid="nielsen")
        ax.text(
            x,
            0.985,
            f"{text} ",
            transform=trans,
            rotation=90,
            ha="left",
            va="top",
            fontsize=8.5,
            color=_MUTED if fg == _FG else fg,
            gid="nielsen-label",
            bbox={"facecolor": ax.get_facecolor(), "edgecolor": "none", "pad": 1.0, "alpha": 0.8},
        )
    ax.set_xlim(x_lo, x_hi)
    top = max([s["total"] for s in info] + [1])
    ax.set_ylim(0, top * 1.08)
    ax.set_xlabel("time since request (s)" + (", log scale" if log_x else ""))
    ax.set_ylabel("words visible (1 CJK character = 1 word)")
    ax.set_title("What the reader sees: streaming vs blocking")
    _legend(ax, loc="best")
    fig = ax.figure
    fig.idle_times = idle_times  # type: ignore[attr-defined]
    return fig


# -- inter-token latency -------------------------------------------------------


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
    if isinstance(recs_or_itls, Recording) or _is_numbers(recs_or_itls):
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
        elif _is_numbers(item):
            data.append([float(x) * 1000 for x in item])
            transports.append("")
        else:
            raise TypeError(f"expected a Recording or a sequence of seconds, got {item!r}")
    if labels is None:
        names = [
            t or ("ITL" if len(items) == 1 else f"series {i + 1}") for i, t in enumerate(transports)
        ]
    else:
        names = [str(x) for x in labels]
    if len(names) != len(data):
        raise ValueError(f"{len(data)} datasets but {len(names)} labels")
    colors = _colors(names, transports)

    ax = _axes(ax, (8.0, 4.5))
    fg = _fg(ax)
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
            label=f"{name} ({len(d)} gaps)",
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
                label=f"{name} p{q} = {v:.0f} ms",
                gid=f"p{q}",
            )
    if not values:
        ax.text(
            0.5,
            0.5,
            "no inter-token gaps (fewer than 2 tokens)",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color=fg,
        )
    ax.set_xlim(-0.01 * hi, hi * 1.04)  # a p50 of 0 ms stays visible
    if values:
        ax.set_ylim(0, ax.get_ylim()[1] * 1.3)  # room for the legend
    ax.set_xlabel("inter-token latency (ms)")
    ax.set_ylabel("gaps (count)")
    ax.set_title("Inter-token latency")
    if values:
        _legend(ax, loc="upper right")
    return ax.figure


# -- buffering x-ray -------------------------------------------------------------


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
    ax = _axes(ax, (6.8, 6.0))
    fg = _fg(ax)
    drawn = [ln for ln in ax.get_lines() if ln.get_gid() == "emit-receive"]
    name = label or "tokens"
    color = TRANSPORT_COLORS.get(name, _PALETTE[len(drawn) % len(_PALETTE)])
    if any(ln.get_color() == color for ln in drawn):
        color = _PALETTE[(len(drawn) + 1) % len(_PALETTE)]
    lags = [r - e for e, r in zip(emit, recv, strict=False)]
    if lags:
        name += f" (lag p50 {_ms(percentile(lags, 50))}, max {_ms(max(lags))})"
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
            color=_MUTED,
            linestyle="--",
            linewidth=1.1,
            label="received = emitted (no delay)",
            gid="diagonal",
            zorder=1,
        )
        ax.text(
            0.03,
            0.97,
            "horizontal run = tokens held back,\nthen delivered together",
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=8.5,
            color=_MUTED if fg == _FG else fg,
        )
    ax.set_xlim(0, hi)
    ax.set_ylim(0, hi)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("server emit time (s since request)")
    ax.set_ylabel("client receive time (s since request)")
    ax.set_title("Buffering X-ray: emitted vs received")
    _legend(ax, loc="lower right")
    return ax.figure


# == production charts: monitoring, load, reconnect storms, smoothing ===========
# (notebooks 06 and 07)

__all__ += [  # extended here: this section owns these names
    "arrival_vs_display",
    "load_chart",
    "monitor_chart",
    "reconnect_storm",
]


def _new_figure(
    nrows: int,
    ncols: int,
    figsize: tuple[float, float],
    *,
    layout: str | None = "constrained",
    **kwargs: Any,
) -> tuple[Figure, list[Axes]]:
    """A white figure (outside pyplot) with a grid of styled axes, flattened."""
    with mpl.rc_context(_RC):
        fig = Figure(figsize=figsize, layout=layout)
        grid = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    axes = [a for row in grid for a in row]
    for a in axes:
        a.tick_params(which="both", colors=_FG)
        a.grid(True, color=_GRID, linewidth=0.8)
        a.set_axisbelow(True)
    return fig, axes


_MONITOR_SERIES: dict[str, tuple[str, str]] = {
    "open_total": ("open streams", STREAMING_COLOR),
    "subscribers": ("/events subscribers", "#009E73"),
    "generation_tasks": ("generation tasks", "#E69F00"),
}
# Thick solid first, thinner dashed on top: equal series stay visible.
_MONITOR_STYLE: dict[str, dict[str, Any]] = {
    "open_total": {"linewidth": 3.2},
    "subscribers": {"linewidth": 2.0},
    "generation_tasks": {"linewidth": 1.6, "linestyle": (0, (4, 2))},
}


def monitor_chart(
    samples: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str] = ("open_total", "subscribers", "generation_tasks"),
    title: str = "Server monitor",
    fast: bool = False,
) -> Figure:
    """Open connections (and friends) and memory over time, from monitor samples.

    The Python counterpart of the source article's ``connectionCount`` and
    ``process.memoryUsage()`` logs, as a chart: the top panel draws each
    counter in ``keys`` as a step line, the bottom panel the process's
    resident memory (RSS) in MB. Peaks are labelled.

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
    fig, (top, bottom) = _new_figure(
        2, 1, (8.5, 5.2), layout=None if fast else "constrained",
        sharex=True, height_ratios=[3, 2],
    )
    if fast:
        fig.subplots_adjust(left=0.08, right=0.98, top=0.87, bottom=0.09, hspace=0.1)
    ts = [float(s.get("t", 0.0)) for s in samples]
    for key in keys:
        name, color = _MONITOR_SERIES.get(key, (key, _PALETTE[len(top.get_lines()) % 7]))
        ys = [float(s.get(key, 0) or 0) for s in samples]
        if not ys:
            continue
        peak = max(ys)
        style = _MONITOR_STYLE.get(key, {"linewidth": 2.0})
        top.step(ts, ys, where="post", color=color, label=f"{name} (peak {peak:.0f})",
                 gid=key, **style)
    rss = [float(s.get("rss_bytes", 0) or 0) / 2**20 for s in samples]
    if rss:
        bottom.plot(ts, rss, color="#CC79A7", linewidth=2.0, gid="rss",
                    label=f"RSS {rss[0]:.1f} → {rss[-1]:.1f} MB (peak {max(rss):.1f})")
        lo, hi = min(rss), max(rss)
        pad = max(2.0, 0.15 * (hi - lo))
        bottom.set_ylim(max(0.0, lo - pad), hi + pad)
        _legend(bottom, loc="lower right")
    if not samples:
        top.text(0.5, 0.5, "no samples yet", transform=top.transAxes, ha="center",
                 va="center", color=_MUTED)
    top.set_ylim(bottom=0)
    top.set_ylim(0, max(1.0, top.get_ylim()[1] * 1.15))
    top.set_ylabel("count")
    top.set_title(title, pad=24 if top.get_lines() else None)
    if top.get_lines():
        # Above the plot, in one row: it never hides a peak.
        top.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=len(top.get_lines()),
                   frameon=False, fontsize=9, labelcolor=_fg(top), borderaxespad=0.2)
    bottom.set_ylabel("memory (MB)")
    bottom.set_xlabel("time since the monitor started (s)")
    if ts:
        bottom.set_xlim(0, max(ts[-1], 0.1))
    return fig


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
    from matplotlib.lines import Line2D

    fig, (ax, hist) = _new_figure(1, 2, (11.0, 4.8), width_ratios=[3, 2])
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
        Line2D([], [], color="#bbbbbb", linewidth=3, label="waiting for the first token"),
        Line2D([], [], color=STREAMING_COLOR, linewidth=3, label="streaming tokens"),
    ]
    if any(not r.ok for r in results):
        handles.append(Line2D([], [], color=BLOCKING_COLOR, linewidth=3, label="failed"))
    ax.set_ylim(-1, max(len(order), 1))
    ax.set_xlabel("time since the load test started (s)")
    ax.set_ylabel("client (by start time)")
    ax.set_title(f"{result.clients} concurrent clients: {result.ok} complete")
    xmax = max([r.end or 0 for r in results] + [s.get("t", 0) for s in result.samples] + [0.1])
    ax.set_xlim(0, xmax * 1.03)
    if result.samples:
        twin = ax.twinx()
        twin.step([s["t"] for s in result.samples], [s.get("open_total", 0) for s in
                  result.samples], where="post", color="#E69F00", linewidth=2.0,
                  label=f"server: open streams (peak {result.peak_open})", gid="open")
        twin.set_ylim(0, max(result.peak_open, 1) * 1.15)
        twin.set_ylabel("open streams on the server", color="#E69F00")
        twin.tick_params(colors=_FG)
        handles += twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=3,
              fontsize=8.5, frameon=False, labelcolor=_FG)
    ttfts = [t * 1000 for t in result.ttfts]
    if ttfts:
        hi = max(ttfts) * 1.05 or 1.0
        bins = min(40, max(10, int(math.sqrt(len(ttfts)) * 2)))
        hist.hist(ttfts, bins=bins, range=(0, hi), color=STREAMING_COLOR, alpha=0.8,
                  edgecolor="white", linewidth=0.5, label=f"{len(ttfts)} clients")
        for q, style in ((50, "--"), (90, "-."), (99, ":")):
            v = percentile(ttfts, q)
            hist.axvline(v, color=_FG, linestyle=style, linewidth=1.5,
                         label=f"p{q} = {v:.0f} ms", gid=f"p{q}")
        if planned_ttft is not None:
            hist.axvline(planned_ttft * 1000, color=_MUTED, linewidth=3, alpha=0.6,
                         label=f"model alone: {planned_ttft * 1000:.0f} ms", gid="planned")
        hist.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2, fontsize=8.5,
                    frameon=False, labelcolor=_FG)
    else:
        hist.text(0.5, 0.5, "no client got a token", transform=hist.transAxes,
                  ha="center", va="center", color=_FG)
    hist.set_xlabel("time to first token (ms)")
    hist.set_ylabel("clients")
    hist.set_title("Time to first token under load")
    return fig


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
    fig, axes = _new_figure(len(names), 1, (9.0, 1.2 + 1.9 * len(names)), sharex=True)
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
            what = f"peak {peak} of {clients} clients in one {bin_s * 1000:.0f} ms bin"
        else:
            back = [c for c, e in zip(counts, edges, strict=False) if e >= down_for - 1e-9]
            what = (f"once it is back, up to {int(max(back, default=0))} of {clients} clients "
                    f"per {bin_s * 1000:.0f} ms")
            a.axvspan(0, down_for, color="#000000", alpha=0.05, linewidth=0, gid="down")
            a.axvline(down_for, color=_MUTED, linestyle="--", linewidth=1.2, gid="back-up")
        a.set_title(f"{name}: {what}", fontsize=10.5, loc="left")
        a.set_ylabel("attempts")
    top = max(peaks + [1]) * 1.15
    for a in axes:
        a.set_ylim(0, top)
    if down_for is not None:
        axes[0].annotate("server back", xy=(down_for, top * 0.97), xytext=(4, 0),
                         textcoords="offset points", va="top", fontsize=8.5, color=_MUTED)
        axes[0].annotate("server down", xy=(down_for / 2, top * 0.97), ha="center", va="top",
                         fontsize=8.5, color=_MUTED)
    axes[-1].set_xlim(0, xmax)
    axes[-1].set_xlabel("time since the server went away (s)")
    fig.suptitle("Reconnection attempts per time bin", color=_FG, fontsize=12)
    return fig


def arrival_vs_display(
    arrival_times: Sequence[float],
    display_times: Sequence[float],
    *,
    title: str = "Smoothing: tokens as they arrive vs as they are shown",
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
    fig, (top, bottom) = _new_figure(2, 1, (9.0, 6.0), height_ratios=[3, 2])
    n = len(arr)
    xs = list(range(1, n + 1))
    if n:
        end = max(arr[-1], disp[-1]) * 1.03
        top.step([0.0, *arr, end], [0, *xs, n], where="post", color=BLOCKING_COLOR,
                 linewidth=1.8, label="arrived (bursty)", gid="arrival")
        top.step([0.0, *disp, end], [0, *xs, n], where="post", color=STREAMING_COLOR,
                 linewidth=2.2, label="shown (smoothed)", gid="display")
        lags = [d - a for a, d in zip(arr, disp, strict=True)]
        top.set_xlim(0, end)
        top.set_ylim(0, n * 1.05)
        top.text(0.99, 0.03, f"extra delay: mean {sum(lags) / n * 1000:.0f} ms, "
                 f"max {max(lags) * 1000:.0f} ms", transform=top.transAxes, ha="right",
                 va="bottom", fontsize=9, color=_FG)
        _legend(top, loc="upper left")

        def gaps(ts: list[float]) -> list[float]:
            return [(b - a) * 1000 for a, b in zip(ts, ts[1:], strict=False)]

        ga, gd = gaps(arr), gaps(disp)
        sa = _pstdev(ga[1:]) if len(ga) > 2 else 0.0
        sd = _pstdev(gd[1:]) if len(gd) > 2 else 0.0
        bottom.plot(xs[1:], ga, "o", color=BLOCKING_COLOR, markersize=3.5, alpha=0.8,
                    label=f"arrival gaps (spread {sa:.0f} ms)", gid="arrival-gaps")
        bottom.plot(xs[1:], gd, "-o", color=STREAMING_COLOR, markersize=3.0, linewidth=1.0,
                    label=f"display gaps (spread {sd:.0f} ms)", gid="display-gaps")
        bottom.set_ylim(0, max(ga + gd + [1.0]) * 1.3)
        _legend(bottom, loc="upper right", ncols=2)
    top.set_xlabel("time (s)")
    top.set_ylabel("tokens")
    top.set_title(title)
    bottom.set_xlabel("token #")
    bottom.set_ylabel("gap before it (ms)")
    return fig


def _pstdev(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


# == latency charts: TTFT, TTFT vs prompt, perceived wait, X-ray grid ==========
# (notebook 05)

__all__ += [  # extended here: this section owns these names
    "emit_vs_receive_grid",
    "perceived_wait",
    "ttft_distribution",
    "ttft_vs_prompt_length",
]


def ttft_distribution(
    ttfts: Sequence[float] | Sequence[Recording],
    *,
    planned: Sequence[float] | None = None,
    label: str = "measured",
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
    ax = _axes(ax, (8.0, 4.3))
    fg = _fg(ax)
    both = ms + plan_ms
    if both:
        lo, hi = min(both), max(both)
        pad = max((hi - lo) * 0.08, 0.5)
        lo, hi = max(0.0, lo - pad), hi + pad
        nbins = min(30, max(8, 2 * math.ceil(math.sqrt(len(ms) or 1))))
        edges = [lo + (hi - lo) * k / nbins for k in range(nbins + 1)]
        if plan_ms:
            ax.hist(plan_ms, bins=edges, histtype="step", color="#999999", linewidth=2.0,
                    label=f"model's plan (prefill only), {len(plan_ms)} runs",
                    gid="planned", zorder=3)
        if ms:
            ax.hist(ms, bins=edges, color=STREAMING_COLOR, alpha=0.8,
                    edgecolor=ax.get_facecolor(), linewidth=0.5,
                    label=f"{label}, {len(ms)} runs", gid="measured")
            for q, style in ((50, "--"), (90, "-."), (99, ":")):
                v = percentile(ms, q)
                ax.axvline(v, color=fg, linestyle=style, linewidth=1.5,
                           label=f"p{q} = {v:.1f} ms", gid=f"p{q}")
        ax.set_xlim(lo, hi)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.35)  # room for the legend
        _legend(ax, loc="upper right")
    else:
        ax.text(0.5, 0.5, "no first token in any run", transform=ax.transAxes,
                ha="center", va="center", color=fg)
    ax.set_xlabel("time to first token (ms)")
    ax.set_ylabel("runs")
    ax.set_title("Time to first token over many runs")
    return ax.figure


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
    ax = _axes(ax, (8.0, 4.5))
    xs = [float(x) for x, _ in points]
    ys = [float(y) * 1000 for _, y in points]
    ax.plot(xs, ys, "o", color=STREAMING_COLOR, markersize=6, alpha=0.85,
            label=f"measured ({len(xs)} requests)", gid="measured")
    x_hi = max(xs + [1.0]) * 1.05
    if fit is not None:
        a, b = float(fit.intercept) * 1000, float(fit.slope) * 1000
        r2 = getattr(fit, "r2", None)
        extra = f", r² = {r2:.3f}" if r2 is not None else ""
        ax.plot([0, x_hi], [a, a + b * x_hi], color=BLOCKING_COLOR, linewidth=1.8,
                label=f"fit: {a:.1f} ms + {b * 1000:.1f} µs × tokens{extra}", gid="fit")
    ax.set_xlim(0, x_hi)
    ax.set_ylim(0, max(ys + [1.0]) * 1.15)
    ax.set_xlabel("prompt length (tokens)")
    ax.set_ylabel("time to first token (ms)")
    ax.set_title("A longer prompt, a later first token (prefill)")
    _legend(ax, loc="upper left")
    return ax.figure


def perceived_wait(
    recs: dict[str, Recording],
    *,
    words_per_s: float = 4.0,
    ncols: int = 2,
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

    Returns:
        The figure, with ``fig.idle_times = {name: seconds}`` attached.
    """
    from sse_lab.lab.experiments import reader_progress

    names = list(recs)
    if not names:
        raise ValueError("perceived_wait needs at least one recording")
    ncols = max(1, min(ncols, len(names)))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = _new_figure(nrows, ncols, (5.2 * ncols, 1.2 + 3.0 * nrows),
                                sharex=True, sharey=True)
    idle_times: dict[str, float] = {}
    x_hi, y_hi = 0.5, 1
    series = []
    for name in names:
        points = visible_words(recs[name])
        verts, idle = reader_progress(points, words_per_s)
        series.append((name, points, verts, idle))
        x_hi = max([x_hi, verts[-1][0]] + [t for t, _ in points])
        y_hi = max([y_hi] + [w for _, w in points])
    x_hi *= 1.03
    # Vermillion is kept for the shaded waits.
    colors = [c for c in _PALETTE if c != BLOCKING_COLOR]
    for k, (a, (name, points, verts, idle)) in enumerate(zip(axes, series, strict=False)):
        color = colors[k % len(colors)]
        idle_s = reader_idle_time(points, words_per_s)
        idle_times[name] = idle_s
        xs, ys = _steps(points, x_hi)
        a.step(xs, ys, where="post", color=color, linewidth=2.2, label="words on screen",
               gid="visible")
        a.plot([v[0] for v in verts], [v[1] for v in verts], color=_MUTED, linestyle="--",
               linewidth=1.4, label=f"reader at {words_per_s:g} words/s", gid="reader")
        for i, (s, e) in enumerate(idle):
            a.axvspan(s, e, color=BLOCKING_COLOR, alpha=0.13, linewidth=0, gid="idle",
                      label="reader waiting" if i == 0 else None)
        first = next((t for t, w in points if w > 0), None)
        last = points[-1][0] if points else None
        head = f"{name}\nfirst word {first:.1f} s · last {last:.1f} s" if first is not None \
            and last is not None else name
        a.set_title(f"{head} · idle {idle_s:.1f} s", fontsize=10.5, loc="left")
        if k == 0:
            _legend(a, loc="lower right")
    for a in axes[len(series):]:
        a.set_visible(False)
    axes[0].set_xlim(0, x_hi)
    axes[0].set_ylim(0, y_hi * 1.08)
    for a in axes[(nrows - 1) * ncols:]:
        a.set_xlabel("time since request (s)")
    for a in axes[::ncols]:
        a.set_ylabel("words")
    fig.suptitle("Same total time, different waits: what a reader lives through",
                 color=_FG, fontsize=12)
    fig.idle_times = idle_times  # type: ignore[attr-defined]
    return fig


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
    from sse_lab.lab.experiments import distinct_instants

    names = list(recordings)
    if not names:
        raise ValueError("emit_vs_receive_grid needs at least one recording")
    ncols = max(1, min(ncols, len(names)))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = _new_figure(nrows, ncols, (4.1 * ncols, 0.6 + 3.9 * nrows),
                                sharex=True, sharey=True)
    emit = list(emit_times)
    hi = max([*emit, 1e-3] + [t for r in recordings.values() for t in r.token_times]) * 1.04
    colors = [c for c in _PALETTE if c != "#000000"]
    for k, (a, name) in enumerate(zip(axes, names, strict=False)):
        rec = recordings[name]
        recv = rec.token_times
        n = min(len(emit), len(recv))
        color = colors[k % len(colors)]
        a.plot([0, hi], [0, hi], color=_MUTED, linestyle="--", linewidth=1.0, gid="diagonal")
        a.plot(emit[:n], recv[:n], "-o", color=color, markersize=3.0, linewidth=0.9,
               gid="emit-receive")
        lags = [r - e for e, r in zip(emit[:n], recv[:n], strict=True)]
        instants = distinct_instants(rec)
        title = (titles or {}).get(name, name)
        a.set_title(f"{title}\n{len(recv)} tokens at {instants} instant"
                    f"{'s' if instants != 1 else ''}", fontsize=10, loc="left")
        if lags:
            a.text(0.97, 0.04, f"lag p50 {_ms(percentile(lags, 50))}\nmax {_ms(max(lags))}",
                   transform=a.transAxes, ha="right", va="bottom", fontsize=8.5, color=_FG)
        a.set_aspect("equal", adjustable="box")
    for a in axes[len(names):]:
        a.set_visible(False)
    axes[0].set_xlim(0, hi)
    axes[0].set_ylim(0, hi)
    for a in axes[(nrows - 1) * ncols:]:
        a.set_xlabel("server emit (s)")
    for a in axes[::ncols]:
        a.set_ylabel("client receive (s)")
    fig.suptitle("Buffering X-ray: on the diagonal = streamed; flat, then a jump = held back",
                 color=_FG, fontsize=12)
    return fig
