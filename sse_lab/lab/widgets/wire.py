"""The bytes of one event, whole or split: :class:`WireInspector`."""

from __future__ import annotations

import html
import re
from typing import Any

import ipywidgets as widgets

from sse_lab.i18n import tr
from sse_lab.lab.widgets.look import (
    BG_SOFT,
    BORDER,
    FG,
    MONO,
    MUTED,
    SANS,
    STYLE,
)
from sse_lab.protocol import Event, EventParser, encode_event

__all__ = ["WireInspector"]


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


def _code_block(inner: str, *, empty: str | None = None) -> str:
    if not inner:
        empty = tr("(no bytes)") if empty is None else empty
        inner = f'<span style="color:{MUTED};font-style:italic;">{empty}</span>'
    return (
        f'<div style="white-space:pre-wrap;overflow-wrap:anywhere;font-family:{MONO};'
        f"font-size:13px;line-height:1.5;padding:8px 10px;border:1px solid {BORDER};"
        f'border-radius:6px;background:{BG_SOFT};color:{FG};min-height:1.5em;">{inner}</div>'
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
            # The column heads are SSE field names: the same in every language.
            '<table class="sse-lab-table"><tr><th>#</th><th>event</th><th>data</th>'
            f"<th>id (lastEventId)</th><th>retry</th></tr>{rows}</table>"
        )
    else:
        none = tr("no event dispatched (a block without data: only its id/retry take effect)")
        table = f'<div style="color:{MUTED};font-style:italic;margin:4px 0;">{none}</div>'
    retry = "None" if parser.retry is None else f"{parser.retry} ms"
    return (
        f'{table}<div style="font-size:12px;color:{MUTED};">parser.last_event_id = '
        f"<code>{html.escape(repr(parser.last_event_id))}</code> &middot; parser.retry = "
        f"<code>{html.escape(retry)}</code></div>"
    )


def _section(title: str, body: str) -> str:
    return (
        f'<div style="font-family:{SANS};font-size:13px;color:{FG};margin:8px 0 2px 0;">'
        f'<div style="font-weight:700;margin-bottom:3px;">{title}</div>{body}</div>'
    )


def _plain_error(message: str) -> str:
    """Turn an encoder ``ValueError`` into a sentence a learner can act on."""
    for field in ("event", "id"):
        if message.startswith(f"{field} must not contain a line break"):
            return tr(
                "The {field} field must stay on one line. A line break would end the "
                "'{field}:' line early and the rest would be read as a new field: anyone "
                "who controls the {field} could forge data. Remove the line break.",
                field=field,
            )
    if message.startswith("id must not contain NUL"):
        return tr(
            "The id must not contain a NUL character (\\0): a browser ignores such an id "
            "completely, so the encoder refuses it."
        )
    if message.startswith("retry"):
        return tr("retry must be a whole, non-negative number of milliseconds, such as 3000.")
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
            placeholder=tr("the payload; line breaks allowed"),
            style=wide,
            layout=widgets.Layout(width="100%", height="4.5em"),
        )
        self.event_box = widgets.Text(description="event", placeholder="message", style=wide)
        self.id_box = widgets.Text(
            value="1", description="id", placeholder=tr("(none)"), style=wide
        )
        self.retry_box = widgets.Text(description="retry", placeholder=tr("ms, e.g. 3000"),
                                     style=wide)
        self.comment_box = widgets.Text(description="comment", placeholder=tr("(none)"),
                                       style=wide)
        for box in (self.event_box, self.id_box, self.retry_box, self.comment_box):
            box.layout = widgets.Layout(width="auto")
        hint = widgets.HTML(
            f'<div style="font-family:{SANS};font-size:12px;color:{MUTED};">'
            + tr("Type {lf}, {cr} or {nul} for a line feed, carriage return or NUL ({bs} for a "
                 "backslash). An empty box leaves its field out.",
                 lf="<code>\\n</code>", cr="<code>\\r</code>", nul="<code>\\0</code>",
                 bs="<code>\\\\</code>")
            + "</div>"
        )
        self.slider = widgets.IntSlider(
            value=0,
            min=0,
            max=0,
            description=tr("split at"),
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
            f'{STYLE}<div style="font-family:{SANS};font-size:16px;font-weight:700;'
            f'color:{FG};">{tr("Wire inspector: one SSE event, byte by byte")}</div>'
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
                f'<div style="font-family:{SANS};font-size:13px;margin:8px 0;padding:8px 12px;'
                f"border-radius:6px;border:1px solid #cf222e;background:rgba(207,34,46,0.08);"
                f'color:#cf222e;"><b>{tr("Cannot encode this event.")}</b> '
                f"{html.escape(self.error)}</div>"
            )
            return
        n = len(self.encoded)
        lines = self.encoded.count(b"\n")
        self.output.value = _section(
            tr("Encoded bytes ({n} bytes, {lines} lines)", n=n, lines=lines),
            _code_block(_show_bytes(self.encoded)),
        ) + _section(
            tr("EventParser dispatches (fed all at once)"),
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
            notes.append(tr(
                "The cut falls inside a multi-byte UTF-8 character: the parser's "
                "incremental decoder keeps the partial bytes until the rest arrives."
            ))
        if 0 < k < n and self.encoded[k - 1 : k + 1] == b"\r\n":
            notes.append(tr(
                "The cut falls between \\r and \\n: the parser ends the line at \\r and "
                "skips the \\n that follows."
            ))
        if k in (0, n):
            notes.append(tr("One chunk is empty: this is the same as feeding everything at once."))
        note_html = "".join(
            f'<div style="font-size:12px;color:{MUTED};margin-top:2px;">&#8505; '
            f"{html.escape(s)}</div>"
            for s in notes
        )
        same = self.same_as_whole
        verdict = (
            f'<div style="margin-top:6px;padding:6px 10px;border-radius:6px;font-weight:700;'
            f'color:#fff;background:{"#1a7f37" if same else "#cf222e"};">'
            f"{tr('Same result as whole: yes') if same else tr('Same result as whole: no')}</div>"
        )
        after_first = len(self._events_after_first)
        after_second = len(self.events_split) - after_first
        label1 = tr("chunk 1: bytes {a}..{b} ({size} bytes) &rarr; {events} event(s)",
                    a=0, b=k, size=k, events=after_first)
        label2 = tr("chunk 2: bytes {a}..{b} ({size} bytes) &rarr; {events} event(s)",
                    a=k, b=n, size=n - k, events=after_second)
        empty = tr("(empty)")
        chunks = (
            f'<div style="display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);'
            f'gap:10px;">'
            f'<div><div style="font-size:12px;color:{MUTED};">{label1}</div>'
            f"{_code_block(_show_bytes(first), empty=empty)}</div>"
            f'<div><div style="font-size:12px;color:{MUTED};">{label2}</div>'
            f"{_code_block(_show_bytes(second), empty=empty)}</div></div>"
        )
        self.split_output.value = _section(
            tr("Split at byte {k} of {n}: fed as two chunks", k=k, n=n), chunks + note_html
        ) + _section(
            tr("EventParser dispatches (fed chunk 1, then chunk 2)"),
            _events_table(self.events_split, self.parser_split) + verdict,
        )
