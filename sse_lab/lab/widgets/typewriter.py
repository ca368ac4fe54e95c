"""One stream arriving token by token: :class:`TypewriterView`."""

from __future__ import annotations

import asyncio
import html
import threading
import time
from typing import Any

import ipywidgets as widgets

from sse_lab.client import SSEClient
from sse_lab.i18n import tr, trn
from sse_lab.lab.widgets.look import (
    FG,
    MAX_UPDATES_PER_SECOND,
    MUTED,
    SANS,
    STATUS_COLORS,
    STYLE,
    TICK_HZ,
    ms_html,
    status_label,
    status_pill,
    text_box,
)
from sse_lab.protocol import DONE
from sse_lab.recording import Arrival, Recording
from sse_lab.smoothing import SmoothReveal

__all__ = ["TypewriterView"]


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
            or a dict of :class:`~sse_lab.smoothing.SmoothReveal` options such
            as ``{"max_lag": 0.4}``, or ``{"by": "auto"}`` to reveal Chinese one
            character at a time and other text word by word); see
            :attr:`arrival_times` and :attr:`display_times`.
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
                description=tr("Stop"),
                icon="stop",
                tooltip=tr("Stop generating: close the stream, keep the text so far"),
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
                    error = tr("the stream ended before [DONE]: the answer may be incomplete")
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
            reason = tr("cancelled") if isinstance(exc, asyncio.CancelledError) else None
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
            return "".join(reveal.tokens[: len(reveal.display_times)])

    @property
    def arrival_times(self) -> list[float]:
        """With ``smooth``: when each token (unit, with ``by``) arrived (s)."""
        return self._reveal.arrival_times if self._reveal is not None else []

    @property
    def display_times(self) -> list[float]:
        """With ``smooth``: when each token (unit, with ``by``) was shown (s)."""
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
            f'<span style="font-weight:600;font-size:14px;color:{FG};">'
            f"{html.escape(self.title)}</span>"
            if self.title
            else "<span></span>"
        )
        pill = status_pill(status_label(self.status), STATUS_COLORS.get(self.status, "#6e7781"))
        return (
            f'{STYLE}<div style="display:flex;justify-content:space-between;'
            f'align-items:center;font-family:{SANS};margin-bottom:4px;">{title}{pill}</div>'
        )

    def _render_body(self) -> str:
        placeholder = {
            "idle": tr("not started"),
            "connecting": tr("waiting for the first token"),
        }.get(self.status, "")
        return text_box(
            self.shown_text, cursor=self.status == "streaming", placeholder=placeholder
        )

    def _render_footer(self) -> str:
        rate = self.tokens_per_second
        n = len(self._tokens)
        parts = [
            tr("TTFT {ttft}", ttft=f"<b>{ms_html(self.ttft)}</b>"),
            trn("{n} token", "{n} tokens", n, n=f"<b>{n}</b>"),
            tr("{rate} tokens/s", rate=f"<b>{rate:.1f}</b>" if rate is not None else "&hellip;"),
            tr("{elapsed} elapsed", elapsed=f"<b>{self.elapsed:.1f}&nbsp;s</b>")
            if self.status != "idle" else "",
        ]
        line = " &middot; ".join(p for p in parts if p)
        err = ""
        if self.error:
            err = (
                f'<div style="color:#cf222e;margin-top:2px;">&#9888; '
                f"{html.escape(self.error)}</div>"
            )
        return (
            f'<div style="font-family:{SANS};font-size:12px;color:{MUTED};'
            f'margin-top:4px;font-variant-numeric:tabular-nums;">{line}{err}</div>'
        )
