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

from .metrics import percentile, reader_idle_time, summarize, visible_words
from .model import Plan
from .recording import Recording

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
    "long-poll": "#E69F00",
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
