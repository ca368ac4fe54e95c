"""Notebook widgets that make a stream visible: typewriter, race, wire inspector.

* :class:`TypewriterView` -- one stream arriving token by token, with its
  status, time to first token (TTFT), tokens per second and elapsed time.
* :class:`RaceView` -- the same answer twice, side by side: blocking (a spinner,
  then everything at once) against streaming (a typewriter).
* :class:`WireInspector` -- type the fields of one event, see the exact bytes
  :func:`~sse_lab.protocol.encode_event` produces and what
  :class:`~sse_lab.protocol.EventParser` makes of them, whole or split in two.
* :class:`MarkdownStreamView` -- a typewriter that renders markdown while it
  streams (one HTML element, open constructs closed for display).
* :class:`ChatView` -- a prompt box with Send and Stop on the lab server.
* :class:`MonitorView` -- a live chart of a :class:`~sse_lab.lab.monitor.Monitor`.

All are ``ipywidgets`` boxes: a cell ending in the widget displays it,
and their state is plain Python, so tests drive them without a front end.

Token text is never trusted as HTML: everything a server sent goes through
:func:`html.escape` before it reaches an ``HTML`` widget (which sets
``innerHTML`` in the browser, so ``<img onerror=...>`` would otherwise run).

Front-end traffic is coalesced: a fast stream would otherwise send one comm
message per token, and a few thousand messages per second make the browser
(and the kernel's output channel) the bottleneck of the very demo that is
meant to show streaming is fast. :class:`TypewriterView` keeps the text in a
Python buffer and pushes it to the widget at most
:data:`MAX_UPDATES_PER_SECOND` times per second, plus one final push.
"""

from __future__ import annotations

import asyncio
import html
import re
import threading
import time
from typing import Any
from urllib.parse import urlencode

import ipywidgets as widgets

from sse_lab.client import SSEClient, fetch_blocking
from sse_lab.protocol import DONE, Event, EventParser, encode_event
from sse_lab.recording import Arrival, Recording
from sse_lab.smoothing import SmoothReveal

__all__ = ["MAX_UPDATES_PER_SECOND", "RaceView", "TypewriterView", "WireInspector"]

#: Upper bound on coalesced front-end updates per second of a TypewriterView.
MAX_UPDATES_PER_SECOND = 30

#: How often the elapsed-time displays tick while nothing else changes (Hz).
TICK_HZ = 10

# -- shared look ---------------------------------------------------------------
# JupyterLab theme variables with light fallbacks, so the widgets follow a dark
# theme in JupyterLab and still look right in classic Notebook or nbconvert.
_FG = "var(--jp-content-font-color1, #1f2328)"
_MUTED = "var(--jp-content-font-color2, #656d76)"
_BG = "var(--jp-layout-color1, #ffffff)"
_BG_SOFT = "var(--jp-layout-color2, #f6f8fa)"
_BORDER = "var(--jp-border-color1, #d0d7de)"
_MONO = "var(--jp-code-font-family, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace)"
_SANS = "var(--jp-ui-font-family, system-ui, -apple-system, 'Segoe UI', sans-serif)"

# <style> inside an HTML widget applies to the whole page, so every class is
# prefixed. Keyframes cannot be written inline; this block carries them.
_STYLE = """<style>
@keyframes sse-lab-spin { to { transform: rotate(360deg); } }
@keyframes sse-lab-blink { 50% { opacity: 0; } }
.sse-lab-spinner { display:inline-block; width:14px; height:14px; vertical-align:-2px;
  border:2px solid #d0d7de; border-top-color:#0969da; border-radius:50%;
  animation: sse-lab-spin 0.8s linear infinite; margin-right:8px; }
.sse-lab-cursor { animation: sse-lab-blink 1s step-end infinite; color:#0969da; }
.sse-lab-ctl { color:#cf222e; background:rgba(207,34,46,0.08); border-radius:3px;
  padding:0 2px; font-weight:600; }
.sse-lab-byte { color:#8250df; background:rgba(130,80,223,0.10); border-radius:3px;
  padding:0 2px; }
.sse-lab-table { border-collapse:collapse; font-size:12px; margin:4px 0; }
.sse-lab-table th, .sse-lab-table td { border:1px solid #d0d7de; padding:2px 8px;
  text-align:left; vertical-align:top; }
.sse-lab-table th { background:rgba(127,127,127,0.08); font-weight:600; }
</style>"""

_STATUS_COLORS = {
    "idle": "#6e7781",
    "connecting": "#9a6700",
    "streaming": "#0969da",
    "done": "#1a7f37",
    "error": "#cf222e",
    "stopped": "#8250df",
}


def _pill(text: str, color: str) -> str:
    return (
        f'<span style="display:inline-block;padding:1px 10px;border-radius:10px;'
        f"font-size:11px;font-weight:600;letter-spacing:0.03em;color:#fff;"
        f'background:{color};">{html.escape(text)}</span>'
    )


def _text_box(text: str, *, cursor: bool = False, placeholder: str = "") -> str:
    """The answer area: escaped text, wrapping, scrolled to the newest line.

    ``flex-direction: column-reverse`` keeps a scrolled box pinned to its
    bottom, so a long answer stays readable while it grows; the inner
    ``margin-bottom: auto`` keeps a short answer at the top.
    """
    if text:
        inner = html.escape(text)
    else:
        inner = f'<span style="color:{_MUTED};font-style:italic;">{html.escape(placeholder)}</span>'
    if cursor:
        inner += '<span class="sse-lab-cursor">&#9613;</span>'
    return (
        f'<div style="display:flex;flex-direction:column-reverse;overflow-y:auto;'
        f"min-height:7em;max-height:18em;box-sizing:border-box;padding:10px 12px;"
        f"border:1px solid {_BORDER};border-radius:6px;background:{_BG};color:{_FG};"
        f'font-family:{_SANS};font-size:14px;line-height:1.55;">'
        f'<div style="white-space:pre-wrap;overflow-wrap:anywhere;margin-bottom:auto;">'
        f"{inner}</div></div>"
    )


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "&hellip;"
    return f"{seconds * 1000:.0f}&nbsp;ms"


def _first_token_time(rec: Recording | None) -> float | None:
    if rec is None:
        return None
    times = rec.token_times
    return times[0] if times else None


# -- TypewriterView --------------------------------------------------------------
class TypewriterView(widgets.VBox):
    """One stream, shown token by token as it arrives.

    Displays a header (title and a status pill: ``idle``, ``connecting``,
    ``streaming``, ``done`` or ``error``), the text so far, and a live line
    with TTFT, token count, tokens per second and elapsed time.

    Drive it with :meth:`play` (``await view.play(url)`` in a notebook cell),
    or from other code with :meth:`start`, :meth:`feed` for each
    :class:`~sse_lab.recording.Arrival` and :meth:`finish`. ``feed`` may be
    called from another thread; the live flush of held-back text then waits
    for the next ``feed`` or for ``finish``.

    Updates are coalesced: the text lives in a Python buffer and is pushed to
    the front end at most :data:`MAX_UPDATES_PER_SECOND` times per second,
    whatever the token rate, with a final push on :meth:`finish` so the
    displayed text is always complete in the end.

    Args:
        title: The header text.
        smooth: Reveal tokens at an even pace during :meth:`play` (``True``,
            or a dict of :class:`~sse_lab.smoothing.Smoother` options such
            as ``{"max_lag": 0.4}``); see :attr:`arrival_times` and
            :attr:`display_times`.
        stop_button: Add a Stop button (it calls :meth:`stop`).

    Attributes:
        title: The header text.
        status: ``"idle"``, ``"connecting"``, ``"streaming"``, ``"done"``,
            ``"error"`` or ``"stopped"`` (after :meth:`stop`).
        error: The error that ended the stream, if any.
        ttft: Time to first token in seconds (the first token's ``Arrival.t``).
        recording: The :class:`Recording` of the last :meth:`play` (or the one
            given to :meth:`finish`).
        frontend_updates: How many coalesced pushes reached the widget traits.
        push_times: ``time.perf_counter()`` of each push, for rate checks.
        header, body, footer: The three ``HTML`` widgets the view is made of.
    """

    def __init__(
        self,
        title: str = "",
        *,
        smooth: bool | dict[str, Any] | None = None,
        stop_button: bool = False,
        **kwargs: Any,
    ) -> None:
        self.title = title
        self.header = widgets.HTML()
        self.body = widgets.HTML()
        self.footer = widgets.HTML()
        #: Smoothing options for :meth:`play` (``None``: show tokens as they arrive).
        self.smooth: dict[str, Any] | None = (
            dict(smooth) if isinstance(smooth, dict) else ({} if smooth else None)
        )
        self.stop_button: widgets.Button | None = None
        children: list[widgets.Widget] = [self.header, self.body, self.footer]
        if stop_button:
            self.stop_button = widgets.Button(
                description="Stop",
                icon="stop",
                tooltip="Stop generating: close the stream, keep the text so far",
                disabled=True,
                layout=widgets.Layout(width="auto"),
            )
            self.stop_button.on_click(lambda _b: self.stop())
            children.append(self.stop_button)
        layout = kwargs.pop("layout", None) or widgets.Layout(width="100%")
        super().__init__(children=children, layout=layout, **kwargs)
        self._reveal: SmoothReveal | None = None
        self._play_task: asyncio.Task[Any] | None = None
        self._play_loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested = False
        self.frontend_updates = 0
        self.push_times: list[float] = []
        self.recording: Recording | None = None
        self._lock = threading.RLock()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._reset()
        self.status = "idle"
        self._push(time.perf_counter())

    # -- state ---------------------------------------------------------------
    def _reset(self) -> None:
        self.status = "connecting"
        self.error: str | None = None
        self.ttft: float | None = None
        self._tokens: list[str] = []
        self._joined = ""
        self._joined_n = 0
        self._first_t: float | None = None
        self._last_t: float | None = None
        self._elapsed_final: float | None = None
        self._t0 = time.perf_counter()
        self._last_push = float("-inf")
        self._reveal = None
        self._cancel_flush()

    @property
    def text(self) -> str:
        """The full text received so far: the tokens joined (``[DONE]`` excluded)."""
        with self._lock:
            if self._joined_n != len(self._tokens):
                self._joined = "".join(self._tokens)
                self._joined_n = len(self._tokens)
            return self._joined

    @property
    def tokens(self) -> list[str]:
        """The tokens received so far, in order."""
        with self._lock:
            return list(self._tokens)

    @property
    def elapsed(self) -> float:
        """Seconds since :meth:`start` (frozen at the stream's end once finished)."""
        if self._elapsed_final is not None:
            return self._elapsed_final
        return time.perf_counter() - self._t0

    @property
    def tokens_per_second(self) -> float | None:
        """Decode rate: tokens after the first, over the time since the first."""
        n = len(self._tokens)
        if n < 2 or self._first_t is None or self._last_t is None:
            return None
        span = self._last_t - self._first_t
        return (n - 1) / span if span > 0 else None

    # -- driving ---------------------------------------------------------------
    def start(self) -> None:
        """Clear the view and show ``connecting`` (the request is being made)."""
        with self._lock:
            self._reset()
            self.recording = None
            self._push(time.perf_counter())

    def feed(self, arrival: Arrival) -> None:
        """Take one arrival; the display catches up within 1/30 s.

        Only ``message`` events count as tokens; ``[DONE]`` and other event
        types are not shown. Calls :meth:`start` first if it was not called.
        """
        with self._lock:
            if self.status not in ("connecting", "streaming"):
                self.start()
            ev = arrival.event
            if ev.event != "message" or ev.data == DONE:
                return
            if self._first_t is None:
                self._first_t = arrival.t
                self.ttft = arrival.t
                self.status = "streaming"
            self._last_t = arrival.t
            self._tokens.append(ev.data)
            if self._reveal is not None:
                self._reveal.push(ev.data)
            self._maybe_push()

    def finish(self, recording: Recording | None = None, error: str | None = None) -> None:
        """End the stream: final push with the complete text and the final status.

        Args:
            recording: The stream's :class:`Recording`. Its ``end_time`` fixes
                the elapsed time; if no token was fed, its tokens are shown
                (so a finished recording can be displayed directly). A
                recording of an SSE stream that never got ``[DONE]`` counts as
                an error: the answer may be cut short.
            error: Why the stream failed, if it did (status becomes ``error``).
        """
        with self._lock:
            self._cancel_flush()
            if recording is not None:
                self.recording = recording
                if not self._tokens and recording.tokens:
                    self._tokens = list(recording.tokens)
                    times = recording.token_times
                    self._first_t = self.ttft = times[0]
                    self._last_t = times[-1]
                if recording.end_time is not None:
                    self._elapsed_final = recording.end_time
                if error is None:
                    error = recording.error
                if error is None and recording.transport == "sse" and not recording.done:
                    error = "the stream ended before [DONE]: the answer may be incomplete"
            if self._elapsed_final is None:
                self._elapsed_final = time.perf_counter() - self._t0
            self.error = error
            self.status = "error" if error else "done"
            self._push(time.perf_counter())

    async def play(self, url: str, **client_options: Any) -> Recording:
        """Stream ``url`` into the view and return the :class:`Recording`.

        Awaitable from a notebook cell (``await view.play(url)``): it runs on
        the kernel's own event loop. The elapsed time ticks at
        :data:`TICK_HZ` while waiting. ``client_options`` go to
        :class:`~sse_lab.client.SSEClient` (``reconnect=True``, ``timeout=``...).
        Errors are shown in the view and re-raised.

        With ``smooth`` set, tokens are revealed by a
        :class:`~sse_lab.smoothing.SmoothReveal` (an even pace however bursty
        the arrival); ``play`` returns once the last one is shown. :meth:`stop`
        ends the stream early: the text so far stays, the status becomes
        ``stopped`` and ``play`` returns the partial recording.
        """
        client = SSEClient(url, **client_options)
        self.start()
        self._stop_requested = False
        self._play_task = asyncio.current_task()
        self._play_loop = asyncio.get_running_loop()
        reveal_task: asyncio.Task[None] | None = None
        if self.smooth is not None:
            self._reveal = SmoothReveal(self._on_reveal, **self.smooth)
            reveal_task = asyncio.ensure_future(self._reveal.run())
        if self.stop_button is not None:
            self.stop_button.disabled = False
        ticker = asyncio.ensure_future(self._tick())
        try:
            async for arrival in client:
                self.feed(arrival)
            if self._reveal is not None and reveal_task is not None:
                self._reveal.close()
                await reveal_task
        except BaseException as exc:
            ticker.cancel()
            await client.close()
            if reveal_task is not None:
                reveal_task.cancel()
            if self._reveal is not None:
                self._reveal.flush()
            if isinstance(exc, asyncio.CancelledError) and self._stop_requested:
                self._finish_stopped(client.recording)
                return client.recording
            reason = "cancelled" if isinstance(exc, asyncio.CancelledError) else None
            self.finish(client.recording, error=reason or f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self._play_task = None
            if self.stop_button is not None:
                self.stop_button.disabled = True
        ticker.cancel()
        self.finish(client.recording)
        return client.recording

    def stop(self) -> bool:
        """Stop the stream :meth:`play` is reading (from a button, a cell, a thread).

        Closing the connection is what tells the server to stop generating:
        its handler sees the client leave and cancels the generation task.
        Returns whether a stream was running.
        """
        task, loop = self._play_task, self._play_loop
        if task is None or loop is None or task.done():
            return False
        self._stop_requested = True
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            task.cancel()
        else:
            loop.call_soon_threadsafe(task.cancel)
        return True

    def _finish_stopped(self, recording: Recording) -> None:
        with self._lock:
            self.finish(recording)
            self.error = None
            self.status = "stopped"
            self._push(time.perf_counter())

    def _on_reveal(self, _token: str) -> None:
        self._maybe_push()

    @property
    def shown_text(self) -> str:
        """The text on screen: with ``smooth``, what has been revealed so far."""
        reveal = self._reveal
        if reveal is None or self.status not in ("connecting", "streaming"):
            return self.text
        with self._lock:
            return "".join(self._tokens[: len(reveal.display_times)])

    @property
    def arrival_times(self) -> list[float]:
        """With ``smooth``: when each token arrived (s, the reveal's clock)."""
        return self._reveal.arrival_times if self._reveal is not None else []

    @property
    def display_times(self) -> list[float]:
        """With ``smooth``: when each token was shown (s, the reveal's clock)."""
        return list(self._reveal.display_times) if self._reveal is not None else []

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(1 / TICK_HZ)
            self._maybe_push()

    # -- coalesced pushes -----------------------------------------------------------
    def _push_interval(self) -> float:
        """Least time between two coalesced pushes (seconds)."""
        return 1 / MAX_UPDATES_PER_SECOND

    def _maybe_push(self) -> None:
        now = time.perf_counter()
        wait = self._last_push + self._push_interval() - now
        if wait <= 0:
            self._push(now)
        else:
            self._schedule_flush(wait)

    def _schedule_flush(self, delay: float) -> None:
        """Flush held-back text later, on the running loop (none: next feed/finish)."""
        if self._flush_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._flush_handle = loop.call_later(delay, self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        with self._lock:
            self._flush_handle = None
            if self.status in ("connecting", "streaming"):
                self._maybe_push()

    def _cancel_flush(self) -> None:
        handle = getattr(self, "_flush_handle", None)
        if handle is not None:
            handle.cancel()
            self._flush_handle = None

    def _push(self, now: float) -> None:
        """Send the current state to the widget traits (only what changed)."""
        with self._lock:
            changed = False
            for widget, value in (
                (self.header, self._render_header()),
                (self.body, self._render_body()),
                (self.footer, self._render_footer()),
            ):
                if widget.value != value:
                    widget.value = value
                    changed = True
            if changed:
                self.frontend_updates += 1
                self.push_times.append(now)
                self._last_push = now

    # -- rendering -------------------------------------------------------------
    def _render_header(self) -> str:
        title = (
            f'<span style="font-weight:600;font-size:14px;color:{_FG};">'
            f"{html.escape(self.title)}</span>"
            if self.title
            else "<span></span>"
        )
        pill = _pill(self.status, _STATUS_COLORS.get(self.status, "#6e7781"))
        return (
            f'{_STYLE}<div style="display:flex;justify-content:space-between;'
            f'align-items:center;font-family:{_SANS};margin-bottom:4px;">{title}{pill}</div>'
        )

    def _render_body(self) -> str:
        placeholder = {
            "idle": "not started",
            "connecting": "waiting for the first token",
        }.get(self.status, "")
        return _text_box(
            self.shown_text, cursor=self.status == "streaming", placeholder=placeholder
        )

    def _render_footer(self) -> str:
        rate = self.tokens_per_second
        parts = [
            f"TTFT <b>{_ms(self.ttft)}</b>",
            f"<b>{len(self._tokens)}</b> tokens",
            f"<b>{rate:.1f}</b> tokens/s" if rate is not None else "&hellip; tokens/s",
            f"<b>{self.elapsed:.1f}&nbsp;s</b> elapsed" if self.status != "idle" else "",
        ]
        line = " &middot; ".join(p for p in parts if p)
        err = ""
        if self.error:
            err = (
                f'<div style="color:#cf222e;margin-top:2px;">&#9888; '
                f"{html.escape(self.error)}</div>"
            )
        return (
            f'<div style="font-family:{_SANS};font-size:12px;color:{_MUTED};'
            f'margin-top:4px;font-variant-numeric:tabular-nums;">{line}{err}</div>'
        )


# -- RaceView ------------------------------------------------------------------
def _endpoint(base: str, path: str, prompt: str, seed: int, speed: float) -> str:
    query = urlencode({"prompt": prompt, "seed": seed, "speed": speed})
    return f"{base.rstrip('/')}{path}?{query}"


class RaceView(widgets.VBox):
    """Blocking against streaming, on the very same answer, side by side.

    Left, ``GET /complete``: a spinner and a running timer (ticking at
    :data:`TICK_HZ`), then the whole text at once. Right, ``GET /chat``: a
    :class:`TypewriterView`. Same prompt and seed, so both columns end with
    the same text; only *when* you can start reading differs.

    Args:
        server_url: The lab server's base URL (``start_server().url``; a
            :class:`~sse_lab.server.LabServer` itself is accepted too).
        prompt: The question to ask.
        seed: Picks the answer and its timing (same seed, same answer).
        speed: Divides every model delay (``8`` runs eight times faster).

    Attributes:
        blocking, streaming: The two :class:`Recording` objects of the last
            :meth:`run` (``None`` before).
        typewriter: The streaming column's :class:`TypewriterView`.
        blocking_updates: How many times the blocking column was redrawn.
    """

    def __init__(self, server_url: str, prompt: str, seed: int = 0, speed: float = 1.0) -> None:
        base = str(getattr(server_url, "url", server_url))
        self.server_url = base
        self.prompt = prompt
        self.seed = seed
        self.speed = speed
        self.blocking_url = _endpoint(base, "/complete", prompt, seed, speed)
        self.streaming_url = _endpoint(base, "/chat", prompt, seed, speed)
        self.blocking: Recording | None = None
        self.streaming: Recording | None = None
        self.blocking_updates = 0
        self._blocking_error: str | None = None
        self._blocking_t0: float | None = None

        self.heading = widgets.HTML(self._render_title())
        self.blocking_head = widgets.HTML(  # static, so it carries the shared <style>
            _STYLE
            + self._column_head("Blocking", "GET /complete: the whole answer, once it is done")
        )
        self.blocking_body = widgets.HTML()
        self.blocking_foot = widgets.HTML()
        self.streaming_head = widgets.HTML(
            self._column_head("Streaming", "GET /chat: one SSE event per token")
        )
        self.typewriter = TypewriterView()
        column = {
            "border": "1px solid #d0d7de",
            "padding": "10px 12px",
            "min_width": "0",
            "overflow": "hidden",
        }
        left = widgets.VBox(
            [self.blocking_head, self.blocking_body, self.blocking_foot],
            layout=widgets.Layout(**column),
        )
        right = widgets.VBox(
            [self.streaming_head, self.typewriter], layout=widgets.Layout(**column)
        )
        self.columns = widgets.GridBox(
            [left, right],
            layout=widgets.Layout(
                grid_template_columns="minmax(0, 1fr) minmax(0, 1fr)",
                grid_gap="12px",
                width="100%",
            ),
        )
        self.summary = widgets.HTML()
        super().__init__(
            [self.heading, self.columns, self.summary], layout=widgets.Layout(width="100%")
        )
        self._draw_blocking("idle")
        self.summary.value = self._render_summary()

    async def run(self) -> dict[str, Recording]:
        """Start both requests at once and show them racing.

        Returns:
            ``{"blocking": Recording, "streaming": Recording}`` (also kept as
            :attr:`blocking` and :attr:`streaming`).

        Raises:
            Whatever either request raised, after showing it in its column.
        """
        self.blocking = self.streaming = None
        self._blocking_error = None
        self._blocking_t0 = time.perf_counter()
        self.summary.value = self._render_summary()
        self._draw_blocking("waiting")
        ticker = asyncio.ensure_future(self._tick_blocking())
        try:
            blocking, streaming = await asyncio.gather(
                self._fetch_blocking(),
                self.typewriter.play(self.streaming_url),
                return_exceptions=True,
            )
        finally:
            ticker.cancel()
        if isinstance(streaming, BaseException):
            self.streaming = self.typewriter.recording
        else:
            self.streaming = streaming
        self.summary.value = self._render_summary()
        for outcome in (blocking, streaming):
            if isinstance(outcome, BaseException):
                raise outcome
        assert self.blocking is not None and self.streaming is not None
        return {"blocking": self.blocking, "streaming": self.streaming}

    async def _fetch_blocking(self) -> Recording:
        try:
            rec = await fetch_blocking(self.blocking_url)
        except BaseException as exc:
            self._blocking_error = f"{type(exc).__name__}: {exc}"
            self._draw_blocking("error")
            raise
        self.blocking = rec
        self._draw_blocking("done")
        return rec

    async def _tick_blocking(self) -> None:
        while True:
            await asyncio.sleep(1 / TICK_HZ)
            if self.blocking is None and self._blocking_error is None:
                self._draw_blocking("waiting")

    # -- rendering -------------------------------------------------------------
    def _draw_blocking(self, state: str) -> None:
        rec = self.blocking
        if state == "waiting":
            waited = time.perf_counter() - (self._blocking_t0 or time.perf_counter())
            body = (
                f'<div style="display:flex;align-items:center;justify-content:center;'
                f"min-height:7em;box-sizing:border-box;border:1px dashed {_BORDER};"
                f"border-radius:6px;background:{_BG_SOFT};color:{_MUTED};font-family:{_SANS};"
                f'font-size:14px;font-variant-numeric:tabular-nums;">'
                f'<span class="sse-lab-spinner"></span>waiting for the whole answer&hellip; '
                f'<b style="margin-left:6px;color:{_FG};">{waited:.1f}&nbsp;s</b></div>'
            )
            pill, foot = _pill("waiting", _STATUS_COLORS["connecting"]), "TTFT &hellip;"
        elif state == "done" and rec is not None:
            body = _text_box(rec.text)
            ttft = _first_token_time(rec)
            pill = _pill("done", _STATUS_COLORS["done"])
            foot = (
                f"TTFT <b>{_ms(ttft)}</b> &middot; total <b>{_ms(rec.end_time)}</b> "
                f"&middot; 1 response"
            )
        elif state == "error":
            body = _text_box("", placeholder="no answer")
            pill = _pill("error", _STATUS_COLORS["error"])
            reason = html.escape(self._blocking_error or "")
            foot = f'<span style="color:#cf222e;">&#9888; {reason}</span>'
        else:
            body = _text_box("", placeholder="not started")
            pill, foot = _pill("idle", _STATUS_COLORS["idle"]), "TTFT &hellip;"
        new_body = (
            '<div style="display:flex;justify-content:flex-end;margin-bottom:4px;">'
            f"{pill}</div>{body}"
        )
        new_foot = (
            f'<div style="font-family:{_SANS};font-size:12px;color:{_MUTED};margin-top:4px;'
            f'font-variant-numeric:tabular-nums;">{foot}</div>'
        )
        if new_body != self.blocking_body.value or new_foot != self.blocking_foot.value:
            self.blocking_body.value = new_body
            self.blocking_foot.value = new_foot
            self.blocking_updates += 1

    @staticmethod
    def _column_head(name: str, subtitle: str) -> str:
        return (
            f'<div style="font-family:{_SANS};border-bottom:1px solid {_BORDER};'
            f'padding-bottom:4px;margin-bottom:6px;">'
            f'<div style="font-size:15px;font-weight:700;color:{_FG};">{html.escape(name)}</div>'
            f'<div style="font-size:12px;color:{_MUTED};">{html.escape(subtitle)}</div></div>'
        )

    def _render_title(self) -> str:
        return (
            f'<div style="font-family:{_SANS};margin-bottom:6px;">'
            f'<div style="font-size:16px;font-weight:700;color:{_FG};">'
            f"Race: the same answer, blocking vs streaming</div>"
            f'<div style="font-size:12px;color:{_MUTED};">prompt '
            f"<code>{html.escape(self.prompt)}</code> &middot; seed {self.seed} &middot; "
            f"speed {self.speed:g}&times;</div></div>"
        )

    def _render_summary(self) -> str:
        style = (
            f"font-family:{_SANS};font-size:13px;color:{_FG};margin-top:8px;padding:8px 12px;"
            f"border-radius:6px;background:{_BG_SOFT};border:1px solid {_BORDER};"
            "font-variant-numeric:tabular-nums;"
        )
        b, s = self.blocking, self.streaming
        if b is None and s is None:
            text = "Run <code>await race.run()</code> to start both requests at the same moment."
            if self._blocking_t0 is not None:
                text = "Racing&hellip;"
            return f'<div style="{style}">{text}</div>'
        b_ttft, s_ttft = _first_token_time(b), _first_token_time(s)
        parts = []
        if b is not None:
            parts.append(
                f"<b>Blocking</b>: first words after <b>{_ms(b_ttft)}</b>, "
                f"complete after {_ms(b.end_time)}"
            )
        if s is not None:
            parts.append(
                f"<b>Streaming</b>: first words after <b>{_ms(s_ttft)}</b>, "
                f"complete after {_ms(s.end_time)}"
            )
        verdict = ""
        if b_ttft and s_ttft:
            same = b is not None and s is not None and b.text == s.text
            verdict = (
                f'<div style="margin-top:4px;">Streaming showed the first words '
                f"<b>{b_ttft / s_ttft:.0f}&times; sooner</b>, for "
                f"{'the same' if same else 'a different'} final text and about the same "
                f"total time.</div>"
            )
        return f'<div style="{style}">{" &nbsp;|&nbsp; ".join(parts)}{verdict}</div>'


# -- WireInspector -------------------------------------------------------------
_ESCAPE_IN = re.compile(r"\\(\\|n|r|0)")
_UNESCAPE = {"\\": "\\", "n": "\n", "r": "\r", "0": "\x00"}


def _decode_escapes(box: str) -> str:
    r"""What a text box means: ``\n``, ``\r``, ``\0`` and ``\\`` are escapes."""
    return _ESCAPE_IN.sub(lambda m: _UNESCAPE[m.group(1)], box)


def _encode_escapes(value: str, *, keep_newlines: bool = False) -> str:
    """The inverse of :func:`_decode_escapes`, for filling the boxes from code."""
    out = value.replace("\\", "\\\\").replace("\r", "\\r").replace("\x00", "\\0")
    return out if keep_newlines else out.replace("\n", "\\n")


def _show_bytes(raw: bytes) -> str:
    """Bytes as escaped HTML: ``\\n``/``\\r`` markers before real line breaks.

    Bytes that are not (yet) valid UTF-8 -- half a character at a chunk
    boundary -- appear as purple hex badges.
    """
    text = raw.decode("utf-8", "surrogateescape")
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch == "\n":
            out.append('<span class="sse-lab-ctl">\\n</span>\n')
        elif ch == "\r":
            # CR alone ends a line in SSE; before LF the LF breaks the line.
            out.append('<span class="sse-lab-ctl">\\r</span>')
            if text[i + 1 : i + 2] != "\n":
                out.append("\n")
        elif ch == "\x00":
            out.append('<span class="sse-lab-ctl">\\0</span>')
        elif "\udc80" <= ch <= "\udcff":
            out.append(f'<span class="sse-lab-byte">{ord(ch) - 0xDC00:02x}</span>')
        else:
            out.append(html.escape(ch))
    return "".join(out)


def _code_block(inner: str, *, empty: str = "(no bytes)") -> str:
    if not inner:
        inner = f'<span style="color:{_MUTED};font-style:italic;">{empty}</span>'
    return (
        f'<div style="white-space:pre-wrap;overflow-wrap:anywhere;font-family:{_MONO};'
        f"font-size:13px;line-height:1.5;padding:8px 10px;border:1px solid {_BORDER};"
        f'border-radius:6px;background:{_BG_SOFT};color:{_FG};min-height:1.5em;">{inner}</div>'
    )


def _show_value(value: str) -> str:
    """A field value with its control characters made visible (no line breaks)."""
    return (
        html.escape(value)
        .replace("\n", '<span class="sse-lab-ctl">\\n</span>')
        .replace("\r", '<span class="sse-lab-ctl">\\r</span>')
        .replace("\x00", '<span class="sse-lab-ctl">\\0</span>')
    )


def _events_table(events: list[Event], parser: EventParser) -> str:
    if events:
        rows = "".join(
            f"<tr><td>{n}</td><td><code>{_show_value(e.event)}</code></td>"
            f"<td><code>{_show_value(e.data)}</code></td>"
            f"<td><code>{_show_value(e.id)}</code></td>"
            f"<td>{'' if e.retry is None else e.retry}</td></tr>"
            for n, e in enumerate(events, 1)
        )
        table = (
            '<table class="sse-lab-table"><tr><th>#</th><th>event</th><th>data</th>'
            f"<th>id (lastEventId)</th><th>retry</th></tr>{rows}</table>"
        )
    else:
        table = (
            f'<div style="color:{_MUTED};font-style:italic;margin:4px 0;">no event dispatched '
            "(a block without data: only its id/retry take effect)</div>"
        )
    retry = "None" if parser.retry is None else f"{parser.retry} ms"
    return (
        f'{table}<div style="font-size:12px;color:{_MUTED};">parser.last_event_id = '
        f"<code>{html.escape(repr(parser.last_event_id))}</code> &middot; parser.retry = "
        f"<code>{html.escape(retry)}</code></div>"
    )


def _section(title: str, body: str) -> str:
    return (
        f'<div style="font-family:{_SANS};font-size:13px;color:{_FG};margin:8px 0 2px 0;">'
        f'<div style="font-weight:700;margin-bottom:3px;">{title}</div>{body}</div>'
    )


def _plain_error(message: str) -> str:
    """Turn an encoder ``ValueError`` into a sentence a learner can act on."""
    for field in ("event", "id"):
        if message.startswith(f"{field} must not contain a line break"):
            return (
                f"The {field} field must stay on one line. A line break would end the "
                f"'{field}:' line early and the rest would be read as a new field: anyone "
                f"who controls the {field} could forge data. Remove the line break."
            )
    if message.startswith("id must not contain NUL"):
        return (
            "The id must not contain a NUL character (\\0): a browser ignores such an id "
            "completely, so the encoder refuses it."
        )
    if message.startswith("retry"):
        return "retry must be a whole, non-negative number of milliseconds, such as 3000."
    return message


class WireInspector(widgets.VBox):
    r"""See the bytes of one SSE event, and how the parser reads them back.

    Type the fields (``data``, ``event``, ``id``, ``retry``, ``comment``); the
    inspector shows the bytes :func:`~sse_lab.protocol.encode_event`
    produces, with every ``\n`` and ``\r`` made visible, and the events an
    :class:`~sse_lab.protocol.EventParser` dispatches from them. A slider
    splits the bytes into two chunks at any offset, as TCP might, and shows
    that feeding them one after the other gives the same result.

    In the boxes, ``\n``, ``\r``, ``\0`` and ``\\`` are escapes (line feed,
    carriage return, NUL, backslash), so the forbidden inputs can be typed;
    the data box also takes real line breaks. An empty box leaves its field
    out.

    Use without a front end: :meth:`set`, then read :attr:`encoded`,
    :attr:`events_whole`, :attr:`events_split`, :attr:`same_as_whole` and
    :attr:`error`; move the split with :attr:`split`.
    """

    def __init__(self) -> None:
        wide = {"description_width": "70px"}
        self.data_box = widgets.Textarea(
            value="hello\nworld",
            description="data",
            placeholder="the payload; line breaks allowed",
            style=wide,
            layout=widgets.Layout(width="100%", height="4.5em"),
        )
        self.event_box = widgets.Text(description="event", placeholder="message", style=wide)
        self.id_box = widgets.Text(value="1", description="id", placeholder="(none)", style=wide)
        self.retry_box = widgets.Text(description="retry", placeholder="ms, e.g. 3000", style=wide)
        self.comment_box = widgets.Text(description="comment", placeholder="(none)", style=wide)
        for box in (self.event_box, self.id_box, self.retry_box, self.comment_box):
            box.layout = widgets.Layout(width="auto")
        hint = widgets.HTML(
            f'<div style="font-family:{_SANS};font-size:12px;color:{_MUTED};">'
            "Type <code>\\n</code>, <code>\\r</code> or <code>\\0</code> for a line feed, "
            "carriage return or NUL (<code>\\\\</code> for a backslash). "
            "An empty box leaves its field out.</div>"
        )
        self.slider = widgets.IntSlider(
            value=0,
            min=0,
            max=0,
            description="split at",
            continuous_update=True,
            style=wide,
            layout=widgets.Layout(width="100%"),
        )
        self.output = widgets.HTML()
        self.split_output = widgets.HTML()
        fields = widgets.GridBox(
            [self.event_box, self.id_box, self.retry_box, self.comment_box],
            layout=widgets.Layout(
                grid_template_columns="repeat(2, minmax(0, 1fr))", grid_gap="4px 12px"
            ),
        )
        title = widgets.HTML(
            f'{_STYLE}<div style="font-family:{_SANS};font-size:16px;font-weight:700;'
            f'color:{_FG};">Wire inspector: one SSE event, byte by byte</div>'
        )
        super().__init__(
            [title, self.data_box, fields, hint, self.output, self.slider, self.split_output],
            layout=widgets.Layout(width="100%"),
        )
        self.encoded: bytes = b""
        self.error: str | None = None
        self.events_whole: list[Event] = []
        self.events_split: list[Event] = []
        self.parser_whole = EventParser()
        self.parser_split = EventParser()
        self._events_after_first: list[Event] = []
        self._quiet = False
        for box in (self.data_box, self.event_box, self.id_box, self.retry_box, self.comment_box):
            box.observe(self._on_fields, names="value")
        self.slider.observe(self._on_split, names="value")
        self._recompute(recenter=True)

    # -- API for code and tests ------------------------------------------------
    def set(
        self,
        data: str | None = None,
        *,
        event: str | None = None,
        id: str | None = None,  # noqa: A002 - the SSE field name
        retry: int | str | None = None,
        comment: str | None = None,
        split: int | None = None,
    ) -> None:
        """Replace all fields at once (``None`` or ``""`` leaves a field out).

        ``retry`` may be an int or the text typed in the box. ``split`` moves
        the slider (clamped to ``0..len(encoded)``); by default it goes to the
        middle.
        """
        self._quiet = True
        try:
            self.data_box.value = _encode_escapes(data or "", keep_newlines=True)
            self.event_box.value = _encode_escapes(event or "")
            self.id_box.value = _encode_escapes(id or "")
            self.retry_box.value = "" if retry is None else str(retry)
            self.comment_box.value = _encode_escapes(comment or "")
        finally:
            self._quiet = False
        self._recompute(split=split, recenter=True)

    @property
    def split(self) -> int:
        """The byte offset where the encoded bytes are cut in two."""
        return int(self.slider.value)

    @split.setter
    def split(self, offset: int) -> None:
        self.slider.value = max(0, min(int(offset), len(self.encoded)))
        self._split_and_render()  # also when the value did not change

    @property
    def chunks(self) -> tuple[bytes, bytes]:
        """The two chunks the split makes."""
        k = self.split
        return self.encoded[:k], self.encoded[k:]

    @property
    def same_as_whole(self) -> bool:
        """Whether the split feed gave the same events and parser state as the whole."""
        return (
            self.events_split == self.events_whole
            and self.parser_split.last_event_id == self.parser_whole.last_event_id
            and self.parser_split.retry == self.parser_whole.retry
        )

    def fields(self) -> dict[str, Any]:
        """The field values the boxes currently mean (escapes decoded).

        Raises:
            ValueError: ``retry`` is not a whole non-negative number.
        """

        def opt(box: widgets.Text | widgets.Textarea) -> str | None:
            return _decode_escapes(box.value) if box.value else None

        retry_text = self.retry_box.value.strip()
        retry: int | None = None
        if retry_text:
            if not (retry_text.isascii() and retry_text.isdigit()):
                raise ValueError(
                    f"retry must be a whole, non-negative number of milliseconds, such as "
                    f"3000; {retry_text!r} is not."
                )
            retry = int(retry_text)
        return {
            "data": opt(self.data_box),
            "event": opt(self.event_box),
            "id": opt(self.id_box),
            "retry": retry,
            "comment": opt(self.comment_box),
        }

    # -- recomputation ---------------------------------------------------------
    def _on_fields(self, _change: dict[str, Any]) -> None:
        if not self._quiet:
            self._recompute()

    def _on_split(self, _change: dict[str, Any]) -> None:
        if not self._quiet:
            self._split_and_render()

    def _recompute(self, split: int | None = None, recenter: bool = False) -> None:
        try:
            fields = self.fields()
            data = fields.pop("data")
            self.encoded = encode_event(data, **fields)
            self.error = None
        except ValueError as exc:
            self.encoded = b""
            self.error = _plain_error(str(exc))
        self.parser_whole = EventParser()
        self.events_whole = self.parser_whole.feed(self.encoded) + self.parser_whole.close()
        n = len(self.encoded)
        if split is None:
            # Typing keeps the cut where it was (clamped); a fresh event is cut
            # in the middle.
            split = n // 2 if recenter else self.slider.value
        self._quiet = True
        try:
            self.slider.max = n
            self.slider.value = max(0, min(split, n))
        finally:
            self._quiet = False
        self._render_whole()
        self._split_and_render()

    def _split_and_render(self) -> None:
        first, second = self.chunks
        self.parser_split = EventParser()
        self._events_after_first = self.parser_split.feed(first)
        self.events_split = (
            self._events_after_first + self.parser_split.feed(second) + self.parser_split.close()
        )
        self._render_split()

    # -- rendering -------------------------------------------------------------
    def _render_whole(self) -> None:
        if self.error:
            self.output.value = (
                f'<div style="font-family:{_SANS};font-size:13px;margin:8px 0;padding:8px 12px;'
                f"border-radius:6px;border:1px solid #cf222e;background:rgba(207,34,46,0.08);"
                f'color:#cf222e;"><b>Cannot encode this event.</b> '
                f"{html.escape(self.error)}</div>"
            )
            return
        n = len(self.encoded)
        lines = self.encoded.count(b"\n")
        self.output.value = _section(
            f"Encoded bytes ({n} bytes, {lines} lines)",
            _code_block(_show_bytes(self.encoded)),
        ) + _section(
            "EventParser dispatches (fed all at once)",
            _events_table(self.events_whole, self.parser_whole),
        )

    def _render_split(self) -> None:
        if self.error:
            self.split_output.value = ""
            return
        first, second = self.chunks
        k, n = len(first), len(self.encoded)
        notes = []
        if 0 < k < n and (self.encoded[k] & 0xC0) == 0x80:
            notes.append(
                "The cut falls inside a multi-byte UTF-8 character: the parser's "
                "incremental decoder keeps the partial bytes until the rest arrives."
            )
        if 0 < k < n and self.encoded[k - 1 : k + 1] == b"\r\n":
            notes.append(
                "The cut falls between \\r and \\n: the parser ends the line at \\r and "
                "skips the \\n that follows."
            )
        if k in (0, n):
            notes.append("One chunk is empty: this is the same as feeding everything at once.")
        note_html = "".join(
            f'<div style="font-size:12px;color:{_MUTED};margin-top:2px;">&#8505; '
            f"{html.escape(s)}</div>"
            for s in notes
        )
        same = self.same_as_whole
        verdict = (
            f'<div style="margin-top:6px;padding:6px 10px;border-radius:6px;font-weight:700;'
            f'color:#fff;background:{"#1a7f37" if same else "#cf222e"};">'
            f"Same result as whole: {'yes' if same else 'no'}</div>"
        )
        after_first = len(self._events_after_first)
        after_second = len(self.events_split) - after_first
        chunks = (
            f'<div style="display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);'
            f'gap:10px;">'
            f'<div><div style="font-size:12px;color:{_MUTED};">chunk 1: bytes 0..{k} '
            f"({k} bytes) &rarr; {after_first} event(s)</div>"
            f"{_code_block(_show_bytes(first), empty='(empty)')}</div>"
            f'<div><div style="font-size:12px;color:{_MUTED};">chunk 2: bytes {k}..{n} '
            f"({n - k} bytes) &rarr; {after_second} event(s)</div>"
            f"{_code_block(_show_bytes(second), empty='(empty)')}</div></div>"
        )
        self.split_output.value = _section(
            f"Split at byte {k} of {n}: fed as two chunks", chunks + note_html
        ) + _section(
            "EventParser dispatches (fed chunk 1, then chunk 2)",
            _events_table(self.events_split, self.parser_split) + verdict,
        )


# == notebooks 06-07: markdown while streaming, a chat box, a live monitor ======

__all__ += [  # extended here: this section owns these names
    "ChatView",
    "MarkdownStreamView",
    "MonitorView",
    "close_open_markdown",
    "render_markdown",
]

_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)*?\1")
_SINGLE_STAR = re.compile(r"(?<![*\w\\])\*(?=\S)(?!\*)|(?<=\S)(?<![*\\])\*(?![*\w])")
_TRAILING_MARKS = re.compile(r"[*_`~]+$")


def close_open_markdown(text: str) -> str:
    """``text`` with what a half-streamed answer left open closed, for display.

    A model writes markdown token by token, so the text on screen is often
    cut inside a construct: ``**bold`` without its closing ``**`` (shown as
    stars until it closes, then suddenly bold), an open `` `code`` span (a
    stray backtick), a code fence whose closing line has not come yet. This
    adds the missing closers *temporarily*, so each intermediate frame looks
    like what it will become (the next render starts again from the true
    text):

    * an unclosed ``` or ~~~ fence gets its closing line;
    * outside fences, in the last paragraph, an odd number of inline code
      backticks, single ``*`` or ``**`` gets its closer;
    * a run of marker characters at the very end (``**``, a lone `` ` ``),
      an opening marker with nothing after it yet, is hidden.
    """
    fence: str | None = None
    for line in text.split("\n"):
        m = _FENCE_LINE.match(line)
        if fence is None:
            if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                fence = m.group(1)
        elif (
            m
            and m.group(1)[0] == fence[0]
            and len(m.group(1)) >= len(fence)
            and not m.group(2).strip()
        ):
            fence = None
    if fence is not None:
        return text + ("" if text.endswith("\n") else "\n") + fence
    body = _TRAILING_MARKS.sub("", text)
    start = body.rfind("\n\n")
    para = body[start + 2 :] if start >= 0 else body
    closers = ""
    if len(re.findall(r"(?<!`)`(?!`)", para)) % 2:
        closers += "`"
    plain = _CODE_SPAN.sub("", para + closers)
    plain = re.sub(r"(?m)^\s*[*+-]\s", "", plain)  # list bullets are not emphasis
    if len(_SINGLE_STAR.findall(plain)) % 2:
        closers += "*"
    if plain.count("**") % 2:
        closers += "**"
    if not closers:
        return body
    return body.rstrip(" ") + closers


def _stable_cut(text: str) -> int:
    """Where the finished blocks of ``text`` end: after its last blank line outside a fence.

    Everything before that offset can no longer change as more text arrives
    (a paragraph, a list item, a closed code block), so it is rendered once.
    """
    fence: str | None = None
    cut = pos = 0
    for line in text.split("\n")[:-1]:  # the last line is still being written
        pos += len(line) + 1
        m = _FENCE_LINE.match(line)
        if fence is None:
            if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                fence = m.group(1)
            elif not line.strip():
                cut = pos
        elif (
            m
            and m.group(1)[0] == fence[0]
            and len(m.group(1)) >= len(fence)
            and not m.group(2).strip()
        ):
            fence = None
    return cut


class _IncrementalMarkdown:
    """Render a growing text: finished blocks once, then only the open tail each time."""

    def __init__(self) -> None:
        self.prefix = ""
        self.prefix_html = ""

    def render(self, text: str) -> str:
        cut = _stable_cut(text)
        stable = text[:cut]
        if stable != self.prefix:
            if stable.startswith(self.prefix):
                self.prefix_html += render_markdown(stable[len(self.prefix) :], partial=False)
            else:
                self.prefix_html = render_markdown(stable, partial=False)
            self.prefix = stable
        return self.prefix_html + render_markdown(text[cut:], partial=True)


def _markdown_renderer() -> Any:
    try:
        import mistune
    except ImportError:  # pragma: no cover - mistune ships with nbconvert
        return None
    return mistune.create_markdown(escape=True, plugins=["strikethrough", "table"])


_MD: Any = None


def render_markdown(text: str, *, partial: bool = True) -> str:
    """Markdown to HTML, safe for an ``HTML`` widget, also for half an answer.

    Raw HTML in the text is escaped, never rendered (``<script>`` shows as
    text), and ``javascript:`` links are neutralised: the text comes from a
    model, which may repeat whatever a prompt or a web page fed it. With
    ``partial`` the open constructs of a cut answer are closed first
    (:func:`close_open_markdown`). Uses ``mistune`` (installed with
    nbconvert); without it the text is shown escaped in a ``<pre>``.
    """
    global _MD
    if _MD is None:
        _MD = _markdown_renderer() or False
    source = close_open_markdown(text) if partial else text
    if not _MD:
        return f'<pre style="white-space:pre-wrap;">{html.escape(source)}</pre>'
    return str(_MD(source))


_MD_STYLE = f"""<style>
.sse-lab-md {{ font-family:{_SANS}; font-size:14px; line-height:1.55; color:{_FG}; }}
.sse-lab-md > :first-child {{ margin-top:0; }}
.sse-lab-md > :last-child {{ margin-bottom:0; }}
.sse-lab-md h1, .sse-lab-md h2, .sse-lab-md h3 {{ margin:0.6em 0 0.3em; line-height:1.25; }}
.sse-lab-md h1 {{ font-size:1.35em; }} .sse-lab-md h2 {{ font-size:1.2em; }}
.sse-lab-md h3 {{ font-size:1.08em; }}
.sse-lab-md p, .sse-lab-md ul, .sse-lab-md ol {{ margin:0.4em 0; }}
.sse-lab-md code {{ font-family:{_MONO}; font-size:0.92em; background:{_BG_SOFT};
  border-radius:4px; padding:0 3px; }}
.sse-lab-md pre {{ background:{_BG_SOFT}; border:1px solid {_BORDER}; border-radius:6px;
  padding:8px 10px; overflow-x:auto; margin:0.5em 0; }}
.sse-lab-md pre code {{ background:none; padding:0; }}
.sse-lab-md table {{ border-collapse:collapse; margin:0.5em 0; }}
.sse-lab-md th, .sse-lab-md td {{ border:1px solid {_BORDER}; padding:2px 8px; }}
.sse-lab-md blockquote {{ margin:0.4em 0; padding-left:10px; border-left:3px solid {_BORDER};
  color:{_MUTED}; }}
</style>"""


class MarkdownStreamView(TypewriterView):
    """A :class:`TypewriterView` that renders the answer as markdown while it streams.

    The accumulated text is rendered into ONE ``HTML`` widget at each
    (coalesced, at most :data:`MAX_UPDATES_PER_SECOND` per second) update:
    the browser swaps one element's content in one go, so nothing blinks,
    and half-finished constructs are closed for display
    (:func:`render_markdown`), so ``**bold`` is bold while it streams, not
    stars that later turn bold. Raw HTML from the model is escaped.
    Finished blocks are rendered once; only the open last block is rendered
    again, and updates slow down if rendering gets expensive (at most about
    half the time is spent rendering).

    Attributes:
        renders: How many times the markdown was rendered.
        render_cost: Seconds the last render took.
    """

    def __init__(self, title: str = "", **kwargs: Any) -> None:
        self.renders = 0
        self.render_cost = 0.0
        self._incremental = _IncrementalMarkdown()
        super().__init__(title, **kwargs)

    @property
    def html(self) -> str:
        """The rendered HTML of the text so far (as the widget shows it).

        While streaming, finished blocks are rendered once and only the open
        last block again at each update; once the stream has ended the whole
        text is rendered in one go.
        """
        text = self.shown_text
        if self.status in ("connecting", "streaming"):
            if not text.startswith(self._incremental.prefix):
                self._incremental = _IncrementalMarkdown()
            return self._incremental.render(text)
        self._incremental = _IncrementalMarkdown()
        return render_markdown(text, partial=False)

    def _push_interval(self) -> float:
        # A long answer costs more to render: never spend more than about
        # half the time rendering, whatever the token rate.
        return max(1 / MAX_UPDATES_PER_SECOND, 2 * self.render_cost)

    def _render_body(self) -> str:
        text = self.shown_text
        if text:
            t0 = time.perf_counter()
            inner = f'<div class="sse-lab-md">{self.html}</div>'
            self.render_cost = time.perf_counter() - t0
            self.renders += 1
        else:
            placeholder = {"idle": "not started", "connecting": "waiting for the first token"}
            inner = (
                f'<div style="color:{_MUTED};font-style:italic;font-family:{_SANS};">'
                f"{html.escape(placeholder.get(self.status, ''))}</div>"
            )
        return (
            f'{_MD_STYLE}<div style="display:flex;flex-direction:column-reverse;overflow-y:auto;'
            f"min-height:7em;max-height:26em;box-sizing:border-box;padding:10px 12px;"
            f'border:1px solid {_BORDER};border-radius:6px;background:{_BG};">'
            f'<div style="margin-bottom:auto;overflow-wrap:anywhere;">{inner}</div></div>'
        )


class ChatView(widgets.VBox):
    """A small chat box on the lab server: a prompt, Send, Stop, the answer.

    Send asks ``/chat`` and streams the answer into a :class:`TypewriterView`
    (or a :class:`MarkdownStreamView` with ``markdown=True``); Stop closes
    the stream, which makes the server cancel the generation, and keeps the
    partial answer. Drive it from code with ``await chat.send("...")`` and
    :meth:`stop`.

    Args:
        server: A :class:`~sse_lab.server.LabServer` or its base URL.
        prompt: The initial text of the prompt box.
        seed, speed, cadence: Passed to ``/chat`` (``cadence`` ``"bursty"``
            imitates a batching server).
        smooth: Reveal at an even pace (see :class:`TypewriterView`).
        markdown: Render the answer as markdown.
    """

    def __init__(
        self,
        server: Any,
        *,
        prompt: str = "",
        seed: int = 0,
        speed: float = 1.0,
        cadence: str | None = None,
        smooth: bool | dict[str, Any] | None = None,
        markdown: bool = False,
        title: str = "Chat",
    ) -> None:
        self.server_url = str(getattr(server, "url", server)).rstrip("/")
        self.seed, self.speed, self.cadence = seed, speed, cadence
        self.prompt_box = widgets.Text(
            value=prompt, placeholder="Ask something...", layout=widgets.Layout(flex="1 1 auto")
        )
        self.send_button = widgets.Button(
            description="Send", button_style="primary", icon="paper-plane",
            layout=widgets.Layout(width="auto"),
        )
        self.stop_button = widgets.Button(
            description="Stop", icon="stop", disabled=True, layout=widgets.Layout(width="auto"),
            tooltip="Stop generating: close the stream, keep the text so far",
        )
        view_cls = MarkdownStreamView if markdown else TypewriterView
        self.view: TypewriterView = view_cls(title, smooth=smooth)
        self.send_button.on_click(lambda _b: self._send_from_button())
        self.stop_button.on_click(lambda _b: self.stop())
        self.task: asyncio.Task[Any] | None = None
        self.history: list[Recording] = []
        row = widgets.HBox(
            [self.prompt_box, self.send_button, self.stop_button],
            layout=widgets.Layout(width="100%", grid_gap="6px"),
        )
        super().__init__([row, self.view], layout=widgets.Layout(width="100%"))

    def url(self, prompt: str) -> str:
        """The ``/chat`` URL Send requests for ``prompt``."""
        query: dict[str, Any] = {"prompt": prompt, "seed": self.seed, "speed": self.speed}
        if self.cadence:
            query["cadence"] = self.cadence
        return f"{self.server_url}/chat?{urlencode(query)}"

    async def send(self, prompt: str | None = None) -> Recording:
        """Ask ``prompt`` (default: the box's text) and stream the answer."""
        if prompt is not None:
            self.prompt_box.value = prompt
        self.send_button.disabled, self.stop_button.disabled = True, False
        try:
            rec = await self.view.play(self.url(self.prompt_box.value))
        finally:
            self.send_button.disabled, self.stop_button.disabled = False, True
        self.history.append(rec)
        return rec

    def _send_from_button(self) -> None:
        async def run() -> None:
            try:
                await self.send()
            except Exception:  # shown in the view (status "error")
                pass

        self.task = asyncio.ensure_future(run())

    def stop(self) -> bool:
        """Stop the answer being streamed; True if one was."""
        return self.view.stop()

    @property
    def status(self) -> str:
        return self.view.status

    @property
    def text(self) -> str:
        return self.view.text


class MonitorView(widgets.VBox):
    """A live chart of a :class:`~sse_lab.lab.monitor.Monitor`, redrawn at most ``hz`` times/s.

    An ``Image`` widget holds :func:`sse_lab.lab.plots.monitor_chart` of the
    samples so far, redrawn from the monitor's thread while it samples (so
    it stays live while a cell awaits *or* blocks), plus a line with the
    latest numbers. A last redraw happens when the monitor stops.

    Args:
        monitor: The :class:`~sse_lab.lab.monitor.Monitor` to show.
        hz: Redraws per second at most (capped at 5: each one is a PNG).
        title: The chart's title.

    Attributes:
        renders: How many times the chart was drawn.
        render_times: ``time.perf_counter()`` of each redraw (rate checks).
    """

    MAX_HZ = 5.0

    def __init__(self, monitor: Any, *, hz: float = 3.0, title: str = "Server monitor") -> None:
        self.monitor = monitor
        self.hz = max(0.1, min(float(hz), self.MAX_HZ))
        self.title = title
        self.image = widgets.Image(
            format="png", layout=widgets.Layout(width="100%", max_width="820px")
        )
        self.line = widgets.HTML()
        self.renders = 0
        self.render_times: list[float] = []
        self._lock = threading.Lock()
        self._last = float("-inf")
        super().__init__([self.line, self.image], layout=widgets.Layout(width="100%"))
        monitor.add_listener(self._on_sample)
        self.refresh()

    def _on_sample(self, monitor: Any) -> None:
        now = time.perf_counter()
        if monitor.running and now - self._last < 1 / self.hz:
            return
        self.refresh()

    def refresh(self) -> None:
        """Redraw now."""
        from io import BytesIO

        from sse_lab.lab.plots import monitor_chart

        with self._lock:
            samples = list(self.monitor.samples)
            # fast: fixed margins, cheaper than the constrained layout, and
            # the axes do not shift between frames as the tick labels change.
            fig = monitor_chart(samples, title=self.title, fast=True)
            buf = BytesIO()
            fig.savefig(buf, format="png", dpi=72)
            self.image.value = buf.getvalue()
            self._last = time.perf_counter()
            self.render_times.append(self._last)
            self.renders += 1
            self.line.value = self._render_line(samples[-1] if samples else None)

    def _render_line(self, s: dict[str, Any] | None) -> str:
        state = "sampling" if self.monitor.running else "stopped"
        pill = _pill(state, _STATUS_COLORS["streaming" if state == "sampling" else "idle"])
        if s is None:
            numbers = "no samples yet"
        else:
            numbers = (
                f"t = <b>{s['t']:.1f}&nbsp;s</b> &middot; open streams <b>{s['open_total']}</b>"
                f" &middot; subscribers <b>{s['subscribers']}</b> &middot; generation tasks "
                f"<b>{s['generation_tasks']}</b> &middot; RSS <b>{s['rss_mb']:.1f}&nbsp;MB</b>"
            )
        return (
            f'<div style="font-family:{_SANS};font-size:13px;color:{_FG};'
            f'font-variant-numeric:tabular-nums;display:flex;gap:10px;align-items:center;">'
            f"{pill}<span>{numbers}</span></div>"
        )

    def close(self) -> None:
        self.monitor.remove_listener(self._on_sample)
        super().close()
