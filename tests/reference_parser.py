"""A deliberately plain spec parser, used only to cross-check the fast one.

It is the first, line-by-line version of ``sse_lab.protocol.EventParser``:
no fast paths, one method per spec step. The production parser has a tuned
hot loop and a separate path for long lines; tests feed both the same random
streams in the same random chunks and require identical results.
"""

from __future__ import annotations

import codecs
import re

from sse_lab.protocol import Event

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class ReferenceParser:
    """Incremental event-stream decoder (WHATWG HTML §9.2.5-9.2.6).

    Feed it the bytes of one response as they arrive; it returns the events
    each chunk completes. ``close()`` ends the stream: per the spec a final
    block without its blank line is discarded, never dispatched.

    ``last_event_id`` and ``retry`` survive ``close()``, as they survive a
    reconnection in a browser, so one parser can follow a reconnecting
    stream: send ``last_event_id`` as the ``Last-Event-ID`` header and wait
    ``retry`` milliseconds before reconnecting.

    Attributes:
        last_event_id: The event source's last event ID string, updated when a
            block is dispatched (even a block without data).
        retry: The reconnection time in milliseconds in force, set by the
            latest valid ``retry:`` field seen so far, or ``None``.
    """

    __slots__ = (
        "last_event_id",
        "retry",
        "_decoder",
        "_at_start",
        "_skip_lf",
        "_tail",
        "_data",
        "_event_type",
        "_id_buffer",
        "_block_retry",
    )

    def __init__(self) -> None:
        self.last_event_id: str = ""
        self.retry: int | None = None
        self._id_buffer = ""
        self._reset_stream()

    def _reset_stream(self) -> None:
        # Invalid UTF-8 becomes U+FFFD (the spec's "UTF-8 decode"); the
        # incremental decoder keeps a sequence split across chunks intact.
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._at_start = True  # a BOM is stripped only at the very start
        self._skip_lf = False  # the previous chunk ended with CR
        self._tail = ""  # an incomplete line
        self._data: list[str] = []
        self._event_type = ""
        self._id_buffer = self.last_event_id
        self._block_retry: int | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        """Decode ``chunk`` and return the events it completes, in order."""
        text = self._decoder.decode(chunk)
        return self._feed_text(text)

    def close(self) -> list[Event]:
        """End the stream and return the events that completes.

        The spec discards a block that lacks its terminating blank line, so
        this returns an empty list; it exists so callers can treat every
        decoder alike. Connection state (buffers, decoder, BOM) is reset;
        ``last_event_id`` and ``retry`` are kept for a reconnection.
        """
        text = self._decoder.decode(b"", True)
        events = self._feed_text(text)
        self._reset_stream()
        return events

    def _feed_text(self, text: str) -> list[Event]:
        if not text:
            return []
        if self._at_start:
            self._at_start = False
            if text[0] == "\ufeff":
                text = text[1:]
        if self._skip_lf:
            self._skip_lf = False
            if text[:1] == "\n":
                text = text[1:]
        if self._tail:
            text = self._tail + text
        if "\r" in text:
            lines = _LINE_BREAK.split(text)
            # A CR ends its line at once; an LF that may follow arrives later.
            self._skip_lf = text[-1] == "\r"
        else:
            lines = text.split("\n")
        self._tail = lines.pop()
        events: list[Event] = []
        for line in lines:
            if line:
                self._field(line)
            else:
                self._dispatch(events)
        return events

    def _field(self, line: str) -> None:
        colon = line.find(":")
        if colon == 0:
            return  # a comment
        if colon > 0:
            name = line[:colon]
            value = line[colon + 1 :]
            if value[:1] == " ":
                value = value[1:]
        else:
            name = line
            value = ""
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event_type = value
        elif name == "id":
            if "\x00" not in value:
                self._id_buffer = value
        elif name == "retry":
            # Only ASCII digits count: int() would also take "-1", " 5",
            # "1_000" and non-ASCII digits such as "١٢".
            if value and value.isascii() and value.isdigit():
                self.retry = self._block_retry = int(value)
        # Any other field name is ignored.

    def _dispatch(self, events: list[Event]) -> None:
        self.last_event_id = self._id_buffer
        if self._data:
            events.append(
                Event(
                    self._event_type or "message",
                    "\n".join(self._data),
                    self.last_event_id,
                    self._block_retry,
                )
            )
            self._data = []
        self._event_type = ""
        self._block_retry = None
