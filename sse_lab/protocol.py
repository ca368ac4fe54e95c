"""The SSE wire format: a pure encoder and an incremental decoder.

This module is sans-I/O: bytes in, events out. It opens no sockets, reads no
clock and imports nothing else from :mod:`sse_lab`, so the server, the client,
the widgets and the notebooks all share one implementation of the format.

The decoder follows the WHATWG HTML Living Standard, section 9.2.5 "Parsing an
event stream" and 9.2.6 "Interpreting an event stream", for any chunking of
the input: whole, in pieces, or one byte at a time (a chunk may end inside a
UTF-8 sequence or between ``\\r`` and ``\\n``).

The encoder makes forgery impossible: a line break inside ``data`` becomes
several ``data:`` lines, and a line break inside ``event`` or ``id`` (or a NUL
inside ``id``) is refused, so no input can produce more than one event.
"""

from __future__ import annotations

import codecs
import re
from typing import NamedTuple

__all__ = ["Event", "EventParser", "encode_event", "parse", "DONE"]

#: The sentinel the source article (and OpenAI's API) sends as the last event.
DONE = "[DONE]"

# SSE knows exactly three line terminators. str.splitlines() also splits on
# \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029, which are ordinary characters here.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class Event(NamedTuple):
    """One dispatched event, as a browser's ``MessageEvent`` would see it.

    Immutable and hashable. Events compare equal only to events (not to plain
    tuples) with the same four fields. It is a named tuple because the parser
    makes one per event and a tuple is the cheapest immutable object CPython
    builds (a quarter of a slotted dataclass's cost).

    Attributes:
        event: The event type; ``"message"`` when the block set none.
        data: The ``data:`` lines of the block joined with ``"\\n"``.
        id: The last event ID at dispatch time (the browser's ``lastEventId``);
            it persists across events until a later ``id:`` field changes it.
        retry: The reconnection time in milliseconds if this block set one,
            else ``None``.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None

    def __eq__(self, other: object) -> bool:
        return type(other) is Event and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = tuple.__hash__


class EventParser:
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
        "_long",
        "_pieces",
    )

    #: A chunk of at least this many characters averaging more than
    #: ``_LONG_LINE`` characters per line switches the parser to its long-line
    #: path for the following chunks (and back when lines get short again).
    _LONG_CHUNK = 2048
    _LONG_LINE = 256

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
        self._long = False  # long-line path: lines cut from bytes, decoded once each
        self._pieces: list[bytes] = []  # the incomplete line's bytes, on the long-line path

    def feed(self, chunk: bytes) -> list[Event]:
        """Decode ``chunk`` and return the events it completes, in order."""
        if self._long:
            return self._feed_long(chunk)
        return self._feed_text(self._decoder.decode(chunk))

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
        if "\r" in text:
            # A CR ends its line at once; an LF that may follow arrives later.
            self._skip_lf = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if self._tail:
            # Join the incomplete line only to the first line, not to all of
            # the chunk (a large event spans chunks: copy it once).
            lines[0] = self._tail + lines[0]
        self._tail = lines.pop()
        if len(text) >= self._LONG_CHUNK and len(lines) * self._LONG_LINE < len(text):
            # Few, long lines (large JSON events): str.split scans them char
            # by char and the value is copied twice; the long-line path finds
            # line ends with memchr and copies each value once.
            # From here on whole lines are cut out of the raw bytes and
            # decoded once each: the incomplete line and the bytes the
            # decoder still holds (half a character) carry over as bytes.
            self._long = True
            pending = self._decoder.getstate()[0]
            self._decoder.reset()
            if self._tail:
                self._pieces.append(self._tail.encode("utf-8"))
                self._tail = ""
            if pending:
                self._pieces.append(pending)
        if not lines:
            return []
        # The loop below is the hot path: state lives in locals, fields are
        # matched inline, and events are built with tuple.__new__ (skipping
        # the named tuple's Python-level __new__).
        events: list[Event] = []
        append = events.append
        # ``first`` holds the block's first data line; ``more`` the rest, only
        # when there are more (most blocks carry one line: no list per event).
        saved = self._data
        first = saved[0] if saved else None
        more = saved[1:] if len(saved) > 1 else None
        event_type = self._event_type
        id_buffer = self._id_buffer
        block_retry = self._block_retry
        last_id = self.last_event_id
        new = tuple.__new__
        for line in lines:
            if not line:
                last_id = id_buffer
                if first is not None:
                    append(new(Event, (
                        event_type or "message",
                        first if more is None else "\n".join([first, *more]),
                        id_buffer,
                        block_retry,
                    )))
                    first = more = None
                event_type = ""
                block_retry = None
                continue
            if line[:6] == "data: ":  # the common cases first: one slice, one copy
                if first is None:
                    first = line[6:]
                elif more is None:
                    more = [line[6:]]
                else:
                    more.append(line[6:])
                continue
            if line[:4] == "id: ":
                value = line[4:]
                if "\x00" not in value:
                    id_buffer = value
                continue
            name, colon, value = line.partition(":")
            if colon:
                if not name:
                    continue  # a comment
                if value[:1] == " ":
                    value = value[1:]
            if name == "data":
                if first is None:
                    first = value
                elif more is None:
                    more = [value]
                else:
                    more.append(value)
            elif name == "id":
                if "\x00" not in value:
                    id_buffer = value
            elif name == "event":
                event_type = value
            elif name == "retry":
                # Only ASCII digits count: int() would also take "-1", " 5",
                # "1_000" and non-ASCII digits such as "١٢".
                if value and value.isascii() and value.isdigit():
                    self.retry = block_retry = int(value)
            # Any other field name is ignored.
        data = [] if first is None else [first] if more is None else [first, *more]
        self._data = data
        self._event_type = event_type
        self._id_buffer = id_buffer
        self._block_retry = block_retry
        self.last_event_id = last_id
        return events

    def _feed_long(self, chunk: bytes) -> list[Event]:
        """The long-line path: lines cut from the raw bytes, each decoded once.

        CR and LF are ASCII and never occur inside a multi-byte UTF-8
        sequence, so line ends can be found (and CRs normalised) in the bytes;
        decoding each complete line on its own gives the same text as the
        incremental decoder, invalid sequences included.
        """
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._skip_lf = chunk[-1:] == b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        pieces = self._pieces
        find = chunk.find
        nl = find(b"\n")
        if nl < 0:
            if chunk:
                pieces.append(chunk)  # still inside one long line: no decoding yet
            return []
        events: list[Event] = []
        pos = 0
        if pieces:
            pieces.append(chunk[:nl])
            head = pieces[0]
            if head.startswith(b"data: "):  # cut the prefix off the first piece only
                pieces[0] = head[6:]
                self._data.append(b"".join(pieces).decode("utf-8", "replace"))
            else:
                self._line(b"".join(pieces).decode("utf-8", "replace"), events)
            pieces.clear()
            pos = nl + 1
            nl = find(b"\n", pos)
        lines = 0
        while nl >= 0:
            lines += 1
            if nl == pos:
                self._dispatch(events)
            elif chunk.startswith(b"data: ", pos):
                self._data.append(chunk[pos + 6 : nl].decode("utf-8", "replace"))
            else:
                self._line(chunk[pos:nl].decode("utf-8", "replace"), events)
            pos = nl + 1
            nl = find(b"\n", pos)
        if pos < len(chunk):
            pieces.append(chunk[pos:])
        if lines * self._LONG_LINE > len(chunk):  # short lines again: back to split()
            self._long = False
            self._tail = self._decoder.decode(b"".join(pieces))
            pieces.clear()
        return events

    def _line(self, line: str, events: list[Event]) -> None:
        """Interpret one complete line (the long-line path's general case)."""
        if not line:
            self._dispatch(events)
            return
        name, colon, value = line.partition(":")
        if colon:
            if not name:
                return  # a comment
            if value[:1] == " ":
                value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "id":
            if "\x00" not in value:
                self._id_buffer = value
        elif name == "event":
            self._event_type = value
        elif name == "retry":
            if value and value.isascii() and value.isdigit():
                self.retry = self._block_retry = int(value)

    def _dispatch(self, events: list[Event]) -> None:
        self.last_event_id = self._id_buffer
        data = self._data
        if data:
            events.append(tuple.__new__(Event, (
                self._event_type or "message",
                data[0] if len(data) == 1 else "\n".join(data),
                self._id_buffer,
                self._block_retry,
            )))
            self._data = []
        self._event_type = ""
        self._block_retry = None


def parse(stream: bytes) -> list[Event]:
    """Decode a whole event stream (a convenience around :class:`EventParser`)."""
    parser = EventParser()
    return parser.feed(stream) + parser.close()


def _check_single_line(name: str, value: str, forbid_nul: bool = False) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(f"{name} must not contain a line break: {value!r}")
    if forbid_nul and "\x00" in value:
        raise ValueError(f"{name} must not contain NUL: {value!r}")


def encode_event(
    data: str | None = None,
    *,
    event: str | None = None,
    id: str | None = None,  # noqa: A002 - the SSE field is called "id"
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """Encode one event block as UTF-8 bytes, ending with its blank line.

    Args:
        data: The payload. Each line break (``\\n``, ``\\r`` or ``\\r\\n``)
            starts a new ``data:`` line, so the receiver gets the text back
            with ``\\n`` line breaks and no line can forge another field.
        event: The event type (``event:``); no line breaks allowed.
        id: The event ID (``id:``); no line breaks or NUL allowed. ``""``
            resets the receiver's last event ID.
        retry: The reconnection time in milliseconds, a non-negative int.
        comment: A comment (``: ...`` lines, ignored by receivers, useful as a
            heartbeat); split per line.

    Returns:
        The bytes of exactly one block. Without ``data`` the block dispatches
        no event, but its ``id``/``retry`` still take effect.

    Raises:
        ValueError: ``event`` or ``id`` contains a line break, ``id``
            contains NUL, or ``retry`` is not a non-negative int.
    """
    parts: list[str] = []
    if comment is not None:
        for line in _LINE_BREAK.split(comment):
            parts.append(f": {line}\n" if line else ":\n")
    if event is not None:
        _check_single_line("event", event)
        parts.append(f"event: {event}\n")
    if id is not None:
        _check_single_line("id", id, forbid_nul=True)
        parts.append(f"id: {id}\n")
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise ValueError(f"retry must be a non-negative int, got {retry!r}")
        parts.append(f"retry: {retry}\n")
    if data is not None:
        if "\n" in data or "\r" in data:
            for line in _LINE_BREAK.split(data):
                parts.append(f"data: {line}\n")
        else:
            parts.append(f"data: {data}\n")
    parts.append("\n")
    return "".join(parts).encode("utf-8")
