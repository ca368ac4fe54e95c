"""Markdown rendered while it streams: :class:`MarkdownStreamView`."""

from __future__ import annotations

import html
import time
from typing import Any

from sse_lab.i18n import tr
from sse_lab.lab.widgets.look import (
    BG,
    BG_SOFT,
    BORDER,
    FG,
    MAX_UPDATES_PER_SECOND,
    MONO,
    MUTED,
    SANS,
)
from sse_lab.lab.widgets.typewriter import TypewriterView
from sse_lab.markdown import IncrementalMarkdown, render_markdown

__all__ = ["MarkdownStreamView"]


MD_STYLE = f"""<style>
.sse-lab-md {{ font-family:{SANS}; font-size:14px; line-height:1.55; color:{FG}; }}
.sse-lab-md > :first-child {{ margin-top:0; }}
.sse-lab-md > :last-child {{ margin-bottom:0; }}
.sse-lab-md h1, .sse-lab-md h2, .sse-lab-md h3 {{ margin:0.6em 0 0.3em; line-height:1.25; }}
.sse-lab-md h1 {{ font-size:1.35em; }} .sse-lab-md h2 {{ font-size:1.2em; }}
.sse-lab-md h3 {{ font-size:1.08em; }}
.sse-lab-md p, .sse-lab-md ul, .sse-lab-md ol {{ margin:0.4em 0; }}
.sse-lab-md code {{ font-family:{MONO}; font-size:0.92em; background:{BG_SOFT};
  border-radius:4px; padding:0 3px; }}
.sse-lab-md pre {{ background:{BG_SOFT}; border:1px solid {BORDER}; border-radius:6px;
  padding:8px 10px; overflow-x:auto; margin:0.5em 0; }}
.sse-lab-md pre code {{ background:none; padding:0; }}
.sse-lab-md table {{ border-collapse:collapse; margin:0.5em 0; }}
.sse-lab-md th, .sse-lab-md td {{ border:1px solid {BORDER}; padding:2px 8px; }}
.sse-lab-md blockquote {{ margin:0.4em 0; padding-left:10px; border-left:3px solid {BORDER};
  color:{MUTED}; }}
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
        self._incremental = IncrementalMarkdown()
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
                self._incremental = IncrementalMarkdown()
            return self._incremental.render(text)
        self._incremental = IncrementalMarkdown()
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
            placeholder = {
                "idle": tr("not started"),
                "connecting": tr("waiting for the first token"),
            }
            inner = (
                f'<div style="color:{MUTED};font-style:italic;font-family:{SANS};">'
                f"{html.escape(placeholder.get(self.status, ''))}</div>"
            )
        return (
            f'{MD_STYLE}<div style="display:flex;flex-direction:column-reverse;overflow-y:auto;'
            f"min-height:7em;max-height:26em;box-sizing:border-box;padding:10px 12px;"
            f'border:1px solid {BORDER};border-radius:6px;background:{BG};">'
            f'<div style="margin-bottom:auto;overflow-wrap:anywhere;">{inner}</div></div>'
        )
