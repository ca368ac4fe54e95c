"""The lab's chart style, applied per figure and only while a chart is made or drawn.

Importing the charts changes nothing global in matplotlib: no ``rcParams``
change, no font scan, no IPython display setting. Instead:

* :func:`chart` wraps every public chart function: while it runs, the CJK
  fallback font is in ``font.family`` (text objects keep the font they were
  created with), and the first call inside IPython registers the PNG display
  of figures (ours are not managed by pyplot).
* :func:`new_axes` / :func:`new_figure` make a :class:`LabFigure`: white
  background, dark text, whatever the global style; a ``LabFigure`` also
  draws itself under that style (tick labels are created lazily, at draw
  time), so a chart reads the same in JupyterLab's light and dark themes and
  under ``plt.style.use("dark_background")``.

Every temporary change goes through :func:`lab_style`, which holds a lock:
matplotlib's ``rc_context`` saves and restores the *global* ``rcParams``, and
two threads interleaving (a live monitor chart drawn by its own thread while
a cell draws another chart) could otherwise leave the lab's style behind.

Streaming is always blue and blocking always vermillion (Okabe-Ito colours,
safe for colour-blind readers).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from numbers import Real
from typing import Any, TypeVar

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from sse_lab.i18n import N_

__all__ = [
    "BLOCKING_COLOR",
    "FG",
    "GRID",
    "LAB_RC",
    "MUTED",
    "NIELSEN_LIMITS",
    "PALETTE",
    "STREAMING_COLOR",
    "TRANSPORT_COLORS",
    "LabFigure",
    "add_legend",
    "chart",
    "cjk_font",
    "fmt_ms",
    "give_late_text_the_cjk_font",
    "is_numbers",
    "lab_style",
    "new_axes",
    "new_figure",
    "series_colors",
    "text_color",
    "use_cjk_font",
]

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
#: The Okabe-Ito colours, in the order series get them.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

#: Jakob Nielsen's three response-time limits (Usability Engineering, 1993).
NIELSEN_LIMITS: tuple[tuple[float, str], ...] = (
    (0.1, N_("0.1 s: feels instant")),
    (1.0, N_("1 s: flow of thought kept")),
    (10.0, N_("10 s: attention lost")),
)

FG = "#222222"  #: text
MUTED = "#666666"  #: reference lines and their labels
GRID = "#e3e3e3"  #: grid lines
#: The rc settings of a lab figure (applied per figure, never globally).
LAB_RC: dict[str, Any] = {
    "figure.facecolor": "white",
    "figure.edgecolor": "white",
    "axes.facecolor": "white",
    "axes.edgecolor": "#555555",
    "axes.labelcolor": FG,
    "axes.titlecolor": FG,
    "axes.titlesize": 12,
    "axes.labelsize": 10,
    "axes.grid": False,
    "text.color": FG,
    "xtick.color": FG,
    "ytick.color": FG,
    "grid.color": GRID,
    "legend.facecolor": "white",
    "legend.edgecolor": "#cccccc",
    "legend.framealpha": 0.92,
    "legend.fontsize": 9,
    "lines.color": FG,
    "patch.edgecolor": FG,
}

# Simplified Chinese first: Noto Sans CJK (Linux, fonts-noto-cjk), then the fonts a
# learner's own machine may have (Source Han / Noto Sans SC, WenQuanYi on Linux,
# Microsoft YaHei and SimHei on Windows, PingFang and Hiragino on macOS).
_CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK KR",
    "Source Han Sans SC", "Source Han Sans CN", "Noto Sans SC", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "SimHei",
    "Heiti SC",
)
# rc_context swaps the global rcParams: one lab style change at a time.
_RC_LOCK = threading.RLock()


@functools.cache
def cjk_font() -> str | None:
    """An installed CJK font family (Noto Sans CJK SC first), or ``None``; looked up once.

    The lookup happens at the first chart, never at import; it reads
    matplotlib's cached font list.

    Registers the font files with matplotlib's font manager if they were
    installed after matplotlib cached its font list. Silent when none is
    installed (``apt-get install fonts-noto-cjk`` provides one).
    """
    try:
        names = {f.name for f in font_manager.fontManager.ttflist}
        found = next((n for n in _CJK_FONTS if n in names), None)
        if found is None:
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
        return found
    except Exception:  # a font problem must never break a chart
        return None


def _families_with_cjk() -> list[str]:
    family = mpl.rcParams["font.family"]
    family = [family] if isinstance(family, str) else list(family)
    found = cjk_font()
    if found is not None and not any(f in family for f in _CJK_FONTS):
        family.append(found)
    return family


def use_cjk_font() -> str | None:
    """Opt in, globally: add the CJK font to ``rcParams["font.family"]`` for your own charts.

    The lab's charts do not need it (they add the fallback while they are
    made); call it for charts you draw yourself with Chinese text. Latin text
    keeps the default font. Idempotent; silent without a CJK font.

    Returns:
        The font family added (or already present), or ``None`` if none found.
    """
    found = cjk_font()
    if found is not None:
        mpl.rcParams["font.family"] = _families_with_cjk()
    return found


@contextlib.contextmanager
def lab_style(*, full: bool = True) -> Iterator[None]:
    """Temporarily apply the lab's rc settings (and the CJK fallback font).

    Args:
        full: The whole :data:`LAB_RC`; with ``False`` only the font fallback
            (for drawing into a caller's axes, whose look stays theirs).
    """
    with _RC_LOCK:
        rc = dict(LAB_RC) if full else {}
        rc["font.family"] = _families_with_cjk()
        with mpl.rc_context(rc):
            yield


_shown_in_ipython = False


def _show_figures_in_ipython() -> None:
    """Let a cell that returns one of our figures display it as a PNG (once).

    Our figures are not managed by pyplot, so the inline backend's formatter
    may not be registered yet (it is set up when pyplot is first imported).
    """
    global _shown_in_ipython
    if _shown_in_ipython:
        return
    _shown_in_ipython = True
    ipython = sys.modules.get("IPython")  # not loaded: not in IPython, nothing to do
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and hasattr(shell, "display_formatter"):
        try:
            pylabtools = importlib.import_module("IPython.core.pylabtools")
            pylabtools.select_figure_formats(shell, {"png"})
        except Exception:  # display is a convenience, never a reason to fail
            pass


F = TypeVar("F", bound=Callable[..., Any])


def chart(fn: F) -> F:
    """Decorate a chart function: CJK fallback while it runs, PNG display in IPython."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _show_figures_in_ipython()
        with lab_style(full=False):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def give_late_text_the_cjk_font(fig: Figure) -> None:
    """Add the CJK fallback to non-ASCII text added after the chart was made.

    A notebook's ``fig.text(..., tr("played at speed={speed}x", ...))`` is
    created outside :func:`chart`, with the global font list: without this,
    its Chinese would render as boxes. Latin text keeps its first font.
    """
    found = cjk_font()
    if found is None:
        return
    for text in fig.findobj(Text):
        content = text.get_text()
        if content and not content.isascii():
            family = list(text.get_fontfamily())
            if found not in family:
                text.set_fontfamily([*family, found])


class LabFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` that draws itself under the lab's style.

    Artists matplotlib creates lazily at draw time (tick labels) get the
    lab's colours and fonts, whatever global style is active when the
    figure is shown or saved; text a caller added later gets the CJK fallback
    (:func:`give_late_text_the_cjk_font`).
    """

    def draw(self, renderer: Any) -> None:
        with lab_style():
            give_late_text_the_cjk_font(self)
            super().draw(renderer)


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or the axes of a new white, dark-text :class:`LabFigure`."""
    if ax is not None:
        return ax
    # A Figure outside pyplot: a notebook cell returning it shows it once
    # (a pyplot figure would also be shown by the inline backend's auto-flush).
    with lab_style():
        ax = LabFigure(figsize=figsize, layout="constrained").add_subplot()
    ax.tick_params(which="both", colors=FG)
    ax.grid(True, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    return ax


def new_figure(
    nrows: int,
    ncols: int,
    figsize: tuple[float, float],
    *,
    layout: str | None = "constrained",
    **kwargs: Any,
) -> tuple[Figure, list[Axes]]:
    """A white :class:`LabFigure` with a grid of styled axes, flattened."""
    with lab_style():
        fig = LabFigure(figsize=figsize, layout=layout)
        grid = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    axes = [a for row in grid for a in row]
    for a in axes:
        a.tick_params(which="both", colors=FG)
        a.grid(True, color=GRID, linewidth=0.8)
        a.set_axisbelow(True)
    return fig, axes


def text_color(ax: Axes) -> str:
    """The axes' text colour (dark on our figures, light on a dark style)."""
    return ax.xaxis.label.get_color()


def add_legend(ax: Axes, **kwargs: Any) -> None:
    """A legend that matches the axes' background and text colour."""
    fg = text_color(ax)
    ax.legend(
        facecolor=ax.get_facecolor(),
        edgecolor="#cccccc" if fg == FG else "#777777",
        labelcolor=fg,
        framealpha=0.92,
        fontsize=9,
        **kwargs,
    )


def series_colors(labels: Sequence[str], transports: Sequence[str]) -> list[str]:
    """One colour per series: by transport when that tells them apart."""
    keys = [t if t else lbl for t, lbl in zip(transports, labels, strict=True)]
    # The first series of a known transport gets that transport's colour (so
    # blocking stays vermillion); the others get colours nobody here uses.
    reserved = {TRANSPORT_COLORS[k] for k in keys if k in TRANSPORT_COLORS}
    spare = [c for c in PALETTE if c not in reserved]
    out: list[str] = []
    for k in keys:
        color = TRANSPORT_COLORS.get(k)
        if color is None or color in out:
            color = spare.pop(0) if spare else PALETTE[len(out) % len(PALETTE)]
        out.append(color)
    return out


def fmt_ms(seconds: float) -> str:
    """``0.0123`` -> ``"12 ms"``."""
    return f"{seconds * 1000:.0f} ms"


def is_numbers(x: object) -> bool:
    """True for a sequence of plain numbers (not a string, no bools)."""
    return (
        isinstance(x, Sequence)
        and not isinstance(x, str)
        and all(isinstance(v, Real) and not isinstance(v, bool) for v in x)
    )
