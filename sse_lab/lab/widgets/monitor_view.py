"""A live chart of a server monitor: :class:`MonitorView`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from io import BytesIO
from typing import Any

import ipywidgets as widgets

from sse_lab.i18n import tr
from sse_lab.lab import plots
from sse_lab.lab.widgets.look import (
    FG,
    SANS,
    STATUS_COLORS,
    status_label,
    status_pill,
)
from sse_lab.lab.widgets.throttle import RateLimiter

__all__ = ["MonitorView"]


class MonitorView(widgets.VBox):
    """A live chart of a :class:`~sse_lab.lab.monitor.Monitor`, redrawn at most ``hz`` times/s.

    An ``Image`` widget holds :func:`sse_lab.lab.plots.monitor_chart` of the
    samples so far, plus a line with the latest numbers. The chart is drawn
    by the view's own thread, never by the monitor's: drawing a PNG takes
    0.1-1 s on a busy machine, and a sampling thread that draws takes its
    next sample that much late (the chart then held stale values and could
    miss a whole burst of clients). The monitor's thread only signals; the
    view draws the newest samples at most ``hz`` times per second (so it
    stays live while a cell awaits *or* blocks), and once more, at once,
    when the monitor stops. Each sample is a dot on the chart, and marked
    samples (:meth:`~sse_lab.lab.monitor.Monitor.mark`) a labelled line.

    Args:
        monitor: The :class:`~sse_lab.lab.monitor.Monitor` to show.
        hz: Redraws per second at most (capped at 5: each one is a PNG).
        title: The chart's title (default: "Server monitor" in the current language).
        clock: The clock of the rate cap (default :func:`time.perf_counter`).

    Attributes:
        renders: How many times the chart was drawn.
        render_times: ``clock()`` at each redraw (rate checks).
        limiter: The :class:`~sse_lab.lab.widgets.throttle.RateLimiter` of live redraws.
    """

    MAX_HZ = 5.0

    def __init__(
        self,
        monitor: Any,
        *,
        hz: float = 3.0,
        title: str | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.monitor = monitor
        self.hz = max(0.1, min(float(hz), self.MAX_HZ))
        self.title = tr("Server monitor") if title is None else title
        self.image = widgets.Image(
            format="png", layout=widgets.Layout(width="100%", max_width="820px")
        )
        self.line = widgets.HTML()
        self.renders = 0
        self.render_times: list[float] = []
        self.limiter = RateLimiter(self.hz, clock=clock)
        self._lock = threading.Lock()  # one drawing at a time (thread or refresh())
        self._cond = threading.Condition()
        self._requested = 0  # signals from the monitor so far
        self._drawn = 0  # signals covered by a finished drawing
        self._closed = False
        super().__init__([self.line, self.image], layout=widgets.Layout(width="100%"))
        self.refresh()
        self._thread = threading.Thread(
            target=self._draw_loop, name="sse_lab-monitor-view", daemon=True
        )
        self._thread.start()
        monitor.add_listener(self._on_sample)

    def _on_sample(self, _monitor: Any) -> None:
        # The monitor's thread: only a signal, so its next sample is on time.
        with self._cond:
            self._requested += 1
            self._cond.notify_all()

    def _draw_loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or self._requested > self._drawn)
                if self._closed:
                    return
            # Samples that arrive while we wait are drawn in the same frame.
            while self.monitor.running:
                delay = self.limiter.delay()
                if delay <= 0:
                    break
                with self._cond:
                    if self._cond.wait_for(lambda: self._closed, timeout=delay):
                        return
            with self._cond:
                target = self._requested
            try:
                self._draw()
            except Exception:  # a display problem must never stop the view
                pass
            with self._cond:
                self._drawn = max(self._drawn, target)
                self._cond.notify_all()

    def refresh(self) -> None:
        """Redraw now, from the calling thread."""
        self._draw()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every sample signalled so far is drawn; False on timeout."""
        with self._cond:
            target = self._requested
            return self._cond.wait_for(lambda: self._closed or self._drawn >= target, timeout)

    def _draw(self) -> None:
        with self._lock:
            samples = list(self.monitor.samples)
            # fast: fixed margins, cheaper than the constrained layout, and
            # the axes do not shift between frames as the tick labels change.
            fig = plots.monitor_chart(samples, title=self.title, fast=True)
            buf = BytesIO()
            fig.savefig(buf, format="png", dpi=72)
            self.image.value = buf.getvalue()
            self.render_times.append(self.limiter.grant())
            self.renders += 1
            self.line.value = self._render_line(samples[-1] if samples else None)

    def _render_line(self, s: dict[str, Any] | None) -> str:
        state = "sampling" if self.monitor.running else "stopped"
        color = STATUS_COLORS["streaming" if state == "sampling" else "idle"]
        pill = status_pill(status_label(state), color)
        if s is None:
            numbers = tr("no samples yet")
        else:
            numbers = " &middot; ".join((
                f"t = <b>{s['t']:.1f}&nbsp;s</b>",
                tr("open streams {n}", n=f"<b>{s['open_total']}</b>"),
                tr("subscribers {n}", n=f"<b>{s['subscribers']}</b>"),
                tr("generation tasks {n}", n=f"<b>{s['generation_tasks']}</b>"),
                f"RSS <b>{s['rss_mb']:.1f}&nbsp;MB</b>",
            ))
        return (
            f'<div style="font-family:{SANS};font-size:13px;color:{FG};'
            f'font-variant-numeric:tabular-nums;display:flex;gap:10px;align-items:center;">'
            f"{pill}<span>{numbers}</span></div>"
        )

    def close(self) -> None:
        """Stop listening to the monitor and end the drawing thread."""
        self.monitor.remove_listener(self._on_sample)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(5)
        super().close()
