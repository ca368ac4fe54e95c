"""Markdown for half-written answers: close what a cut stream left open, render safely.

Pure text in, text out (layer 1): no widgets, no I/O. Used by
:class:`sse_lab.lab.widgets.MarkdownStreamView` and by notebook 07.

* :func:`close_open_markdown` -- the text with its open constructs closed, for display.
* :func:`stable_cut` -- where the finished blocks of a growing text end.
* :class:`IncrementalMarkdown` -- render finished blocks once, the open tail each time.
* :func:`render_markdown` -- markdown to HTML, raw HTML escaped, also for half an answer.
"""

from __future__ import annotations

import html
import re
from typing import Any

try:  # mistune ships with nbconvert; without it the text is shown escaped
    import mistune
except ImportError:  # pragma: no cover
    mistune = None

__all__ = ["IncrementalMarkdown", "close_open_markdown", "render_markdown", "stable_cut"]

_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)*?\1")
_SINGLE_STAR = re.compile(r"(?<![*\w\\])\*(?=\S)(?!\*)|(?<=\S)(?<![*\\])\*(?![*\w])")
_TRAILING_MARKS = re.compile(r"[*_`~]+\Z")  # \Z, not $: "$" also matches before a final newline


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


def stable_cut(text: str) -> int:
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


class IncrementalMarkdown:
    """Render a growing text: finished blocks once, then only the open tail each time."""

    def __init__(self) -> None:
        self.prefix = ""
        self.prefix_html = ""

    def render(self, text: str) -> str:
        cut = stable_cut(text)
        stable = text[:cut]
        if stable != self.prefix:
            if stable.startswith(self.prefix):
                self.prefix_html += render_markdown(stable[len(self.prefix) :], partial=False)
            else:
                self.prefix_html = render_markdown(stable, partial=False)
            self.prefix = stable
        return self.prefix_html + render_markdown(text[cut:], partial=True)


def _markdown_renderer() -> Any:
    if mistune is None:  # pragma: no cover
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

