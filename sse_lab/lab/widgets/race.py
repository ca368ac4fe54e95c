"""Blocking against streaming, side by side: :class:`RaceView`."""

from __future__ import annotations

import asyncio
import html
import time
from urllib.parse import urlencode

import ipywidgets as widgets

from sse_lab.client import fetch_blocking
from sse_lab.i18n import tr
from sse_lab.lab.widgets.look import (
    BG_SOFT,
    BORDER,
    FG,
    MUTED,
    SANS,
    STATUS_COLORS,
    STYLE,
    TICK_HZ,
    first_token_time,
    ms_html,
    status_label,
    status_pill,
    text_box,
)
from sse_lab.lab.widgets.typewriter import TypewriterView
from sse_lab.recording import Recording

__all__ = ["RaceView"]


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
            STYLE
            + self._column_head(
                tr("Blocking"), tr("GET /complete: the whole answer, once it is done")
            )
        )
        self.blocking_body = widgets.HTML()
        self.blocking_foot = widgets.HTML()
        self.streaming_head = widgets.HTML(
            self._column_head(tr("Streaming"), tr("GET /chat: one SSE event per token"))
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
                f"min-height:7em;box-sizing:border-box;border:1px dashed {BORDER};"
                f"border-radius:6px;background:{BG_SOFT};color:{MUTED};font-family:{SANS};"
                f'font-size:14px;font-variant-numeric:tabular-nums;">'
                f'<span class="sse-lab-spinner"></span>{tr("waiting for the whole answer")}'
                f'&hellip; <b style="margin-left:6px;color:{FG};">{waited:.1f}&nbsp;s</b></div>'
            )
            pill = status_pill(status_label("waiting"), STATUS_COLORS["connecting"])
            foot = tr("TTFT {ttft}", ttft="&hellip;")
        elif state == "done" and rec is not None:
            body = text_box(rec.text)
            ttft = first_token_time(rec)
            pill = status_pill(status_label("done"), STATUS_COLORS["done"])
            foot = " &middot; ".join((
                tr("TTFT {ttft}", ttft=f"<b>{ms_html(ttft)}</b>"),
                tr("total {total}", total=f"<b>{ms_html(rec.end_time)}</b>"),
                tr("1 response"),
            ))
        elif state == "error":
            body = text_box("", placeholder=tr("no answer"))
            pill = status_pill(status_label("error"), STATUS_COLORS["error"])
            reason = html.escape(self._blocking_error or "")
            foot = f'<span style="color:#cf222e;">&#9888; {reason}</span>'
        else:
            body = text_box("", placeholder=tr("not started"))
            pill = status_pill(status_label("idle"), STATUS_COLORS["idle"])
            foot = tr("TTFT {ttft}", ttft="&hellip;")
        new_body = (
            '<div style="display:flex;justify-content:flex-end;margin-bottom:4px;">'
            f"{pill}</div>{body}"
        )
        new_foot = (
            f'<div style="font-family:{SANS};font-size:12px;color:{MUTED};margin-top:4px;'
            f'font-variant-numeric:tabular-nums;">{foot}</div>'
        )
        if new_body != self.blocking_body.value or new_foot != self.blocking_foot.value:
            self.blocking_body.value = new_body
            self.blocking_foot.value = new_foot
            self.blocking_updates += 1

    @staticmethod
    def _column_head(name: str, subtitle: str) -> str:
        return (
            f'<div style="font-family:{SANS};border-bottom:1px solid {BORDER};'
            f'padding-bottom:4px;margin-bottom:6px;">'
            f'<div style="font-size:15px;font-weight:700;color:{FG};">{html.escape(name)}</div>'
            f'<div style="font-size:12px;color:{MUTED};">{html.escape(subtitle)}</div></div>'
        )

    def _render_title(self) -> str:
        title = tr("Race: the same answer, blocking vs streaming")
        inputs = tr(
            "prompt {prompt} &middot; seed {seed} &middot; speed {speed}&times;",
            prompt=f"<code>{html.escape(self.prompt)}</code>", seed=self.seed,
            speed=f"{self.speed:g}",
        )
        return (
            f'<div style="font-family:{SANS};margin-bottom:6px;">'
            f'<div style="font-size:16px;font-weight:700;color:{FG};">{title}</div>'
            f'<div style="font-size:12px;color:{MUTED};">{inputs}</div></div>'
        )

    def _render_summary(self) -> str:
        style = (
            f"font-family:{SANS};font-size:13px;color:{FG};margin-top:8px;padding:8px 12px;"
            f"border-radius:6px;background:{BG_SOFT};border:1px solid {BORDER};"
            "font-variant-numeric:tabular-nums;"
        )
        b, s = self.blocking, self.streaming
        if b is None and s is None:
            text = tr("Run {code} to start both requests at the same moment.",
                      code="<code>await race.run()</code>")
            if self._blocking_t0 is not None:
                text = tr("Racing...")
            return f'<div style="{style}">{text}</div>'
        b_ttft, s_ttft = first_token_time(b), first_token_time(s)
        parts = []
        for name, rec, ttft in ((tr("Blocking"), b, b_ttft), (tr("Streaming"), s, s_ttft)):
            if rec is not None:
                parts.append(tr(
                    "{name}: first words after {ttft}, complete after {total}",
                    name=f"<b>{name}</b>", ttft=f"<b>{ms_html(ttft)}</b>",
                    total=ms_html(rec.end_time),
                ))
        verdict = ""
        if b_ttft and s_ttft:
            same = b is not None and s is not None and b.text == s.text
            sooner = f"<b>{b_ttft / s_ttft:.0f}&times;</b>"
            if same:
                sentence = tr("Streaming showed the first words {x} sooner, for the same final "
                              "text and about the same total time.", x=sooner)
            else:
                sentence = tr("Streaming showed the first words {x} sooner, for a different "
                              "final text and about the same total time.", x=sooner)
            verdict = f'<div style="margin-top:4px;">{sentence}</div>'
        return f'<div style="{style}">{" &nbsp;|&nbsp; ".join(parts)}{verdict}</div>'
