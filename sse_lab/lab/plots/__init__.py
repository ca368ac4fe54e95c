"""Charts of recorded streams, for the notebooks: ``from sse_lab.lab import plots``.

Every chart function draws with matplotlib's object-oriented API on a figure
that pyplot does not manage (so a notebook cell that returns it displays it
exactly once) and returns that figure. Pass ``ax=`` to draw into an existing
axes (for side-by-side panels); the function then returns ``ax.figure`` and
leaves that axes' own styling alone.

One module per chart family:

=====================  ===========================================================
:mod:`.timeline`       :func:`token_timeline`
:mod:`.reading`        :func:`visible_text_over_time`, :func:`perceived_wait`
:mod:`.latency`        :func:`itl_histogram`, :func:`ttft_distribution`,
                       :func:`ttft_vs_prompt_length`
:mod:`.buffering`      :func:`emit_vs_receive`, :func:`emit_vs_receive_grid` (X-ray)
:mod:`.monitor`        :func:`monitor_chart`, :func:`load_chart`
:mod:`.reconnect`      :func:`reconnect_storm`
:mod:`.smoothing`      :func:`arrival_vs_display`
:mod:`.style`          colours, the per-figure style, the CJK font fallback
=====================  ===========================================================

Importing this package is cheap and changes nothing global: matplotlib is
loaded when the first chart function (or constant) is looked up, and the
lab's style is applied per figure, while a chart is made or drawn (see
:mod:`sse_lab.lab.plots.style`). Chinese text renders with a Noto Sans CJK
font when one is installed (``apt-get install fonts-noto-cjk``).

Every word a chart draws (titles, axes, legends, notes) goes through
:func:`sse_lab.i18n.tr`, in the language current when the chart is drawn; labels a
caller passes (series names, panel titles) are shown as ``tr(label)``, so a label
marked with ``N_`` where it is written is translated and any other stays as given.
The reading charts take ``unit="char"`` for a Chinese reader, who reads by character
(:data:`sse_lab.metrics.READING_SPEEDS`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from sse_lab.lab.plots.buffering import emit_vs_receive, emit_vs_receive_grid
    from sse_lab.lab.plots.latency import itl_histogram, ttft_distribution, ttft_vs_prompt_length
    from sse_lab.lab.plots.monitor import load_chart, monitor_chart
    from sse_lab.lab.plots.reading import perceived_wait, visible_text_over_time
    from sse_lab.lab.plots.reconnect import reconnect_storm
    from sse_lab.lab.plots.smoothing import arrival_vs_display
    from sse_lab.lab.plots.style import (
        BLOCKING_COLOR,
        NIELSEN_LIMITS,
        STREAMING_COLOR,
        TRANSPORT_COLORS,
        cjk_font,
        use_cjk_font,
    )
    from sse_lab.lab.plots.timeline import token_timeline

# public name -> the module of this package that defines it
_WHERE: dict[str, str] = {
    "BLOCKING_COLOR": "style",
    "NIELSEN_LIMITS": "style",
    "STREAMING_COLOR": "style",
    "TRANSPORT_COLORS": "style",
    "cjk_font": "style",
    "use_cjk_font": "style",
    "token_timeline": "timeline",
    "visible_text_over_time": "reading",
    "perceived_wait": "reading",
    "itl_histogram": "latency",
    "ttft_distribution": "latency",
    "ttft_vs_prompt_length": "latency",
    "emit_vs_receive": "buffering",
    "emit_vs_receive_grid": "buffering",
    "monitor_chart": "monitor",
    "load_chart": "monitor",
    "reconnect_storm": "reconnect",
    "arrival_vs_display": "smoothing",
}

__all__ = [
    "BLOCKING_COLOR",
    "NIELSEN_LIMITS",
    "STREAMING_COLOR",
    "TRANSPORT_COLORS",
    "arrival_vs_display",
    "cjk_font",
    "emit_vs_receive",
    "emit_vs_receive_grid",
    "itl_histogram",
    "load_chart",
    "monitor_chart",
    "perceived_wait",
    "reconnect_storm",
    "token_timeline",
    "ttft_distribution",
    "ttft_vs_prompt_length",
    "use_cjk_font",
    "visible_text_over_time",
]


def __getattr__(name: str) -> Any:
    """Load the chart family that defines ``name`` on first use (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
