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

Layout: one module per widget (``typewriter``, ``race``, ``wire``,
``markdown_view``, ``chat``, ``monitor_view``); the shared look (theme
colours, the status pill, the answer box) is in :mod:`.look`, the rate cap
in :mod:`.throttle`. The pure partial-markdown logic is in
:mod:`sse_lab.markdown`. Import the widgets from here.
"""

from __future__ import annotations

from sse_lab.lab.widgets.chat import ChatView
from sse_lab.lab.widgets.look import MAX_UPDATES_PER_SECOND, TICK_HZ
from sse_lab.lab.widgets.markdown_view import MarkdownStreamView
from sse_lab.lab.widgets.monitor_view import MonitorView
from sse_lab.lab.widgets.race import RaceView
from sse_lab.lab.widgets.typewriter import TypewriterView
from sse_lab.lab.widgets.wire import WireInspector
from sse_lab.markdown import close_open_markdown, render_markdown

__all__ = [
    "MAX_UPDATES_PER_SECOND",
    "TICK_HZ",
    "ChatView",
    "MarkdownStreamView",
    "MonitorView",
    "RaceView",
    "TypewriterView",
    "WireInspector",
    "close_open_markdown",
    "render_markdown",
]
