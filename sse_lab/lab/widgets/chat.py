"""A prompt box with Send and Stop on the lab server: :class:`ChatView`."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import ipywidgets as widgets

from sse_lab.i18n import tr
from sse_lab.lab.widgets.markdown_view import MarkdownStreamView
from sse_lab.lab.widgets.typewriter import TypewriterView
from sse_lab.recording import Recording

__all__ = ["ChatView"]


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
        title: The answer view's header (default: "Chat" in the current language).
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
        title: str | None = None,
    ) -> None:
        self.server_url = str(getattr(server, "url", server)).rstrip("/")
        self.seed, self.speed, self.cadence = seed, speed, cadence
        self.prompt_box = widgets.Text(
            value=prompt, placeholder=tr("Ask something..."), layout=widgets.Layout(flex="1 1 auto")
        )
        self.send_button = widgets.Button(
            description=tr("Send"), button_style="primary", icon="paper-plane",
            layout=widgets.Layout(width="auto"),
        )
        self.stop_button = widgets.Button(
            description=tr("Stop"), icon="stop", disabled=True,
            layout=widgets.Layout(width="auto"),
            tooltip=tr("Stop generating: close the stream, keep the text so far"),
        )
        view_cls = MarkdownStreamView if markdown else TypewriterView
        self.view: TypewriterView = view_cls(tr("Chat") if title is None else title, smooth=smooth)
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
