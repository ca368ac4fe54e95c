"""The deliberately naive SSE code that notebooks put beside the real thing.

Nothing here is meant to be used: it is the kind of code that gets copied
from a blog post, looks right on the first test, and breaks on real traffic.
Notebook 02 runs it next to :class:`sse_lab.protocol.EventParser` and
:func:`sse_lab.protocol.encode_event` so the difference is visible.

:class:`NaiveParser` makes two classic mistakes:

1. **It decodes every chunk on its own** with ``chunk.decode("utf-8",
   errors="replace")``. TCP may cut the stream anywhere, also inside a
   multi-byte character: ``我`` is the three bytes ``e6 88 91``, and a cut
   after ``e6`` leaves two invalid fragments, each decoded to U+FFFD (``�``).
   The text is silently corrupted (with ``errors="strict"``, the default, the
   same cut would raise ``UnicodeDecodeError`` and kill the stream instead).
   The fix is an incremental decoder that keeps the partial bytes.
2. **It splits lines with** :meth:`str.splitlines`, which knows many more line
   breaks than SSE does. SSE ends lines at CRLF, LF or CR only, but
   ``splitlines`` also breaks at U+2028, U+2029, NEL (U+0085), VT, FF and
   ``\\x1c``-``\\x1e``, so a token containing one of them loses its tail. And
   since each chunk is split separately, a CRLF cut between ``\\r`` and
   ``\\n`` counts as *two* line endings: a phantom blank line that
   dispatches the event too early (the rest of it becomes a second event).

Its field handling is otherwise the usual: ``data``/``event``/``id``/``retry``,
one optional space after the colon, comments ignored, ``id`` persisting as the
last event ID, a block without a blank line discarded at :meth:`close`. Small
slips come with it, as they do in such code: no BOM stripping, ``retry`` read
with ``int()`` (which also takes ``-1``, ``+5`` and ``1_000``), an ``id`` with
NUL accepted and applied before its block is dispatched.

:func:`naive_encode` is the source article's
``res.write(`data: ${message}\\n\\n`)`` in Python: it works until a message
contains a line break. A ``\\n\\n`` inside the message ends the event early
and whatever follows is read as new fields, so the message's author can forge
events (``data: [DONE]``, another ``event:`` type, a new ``id:``...).
"""

from __future__ import annotations

from sse_lab.protocol import Event

__all__ = ["NaiveParser", "naive_encode"]


def naive_encode(msg: str) -> bytes:
    """``f"data: {msg}\\n\\n"``: the source article's encoder, injection included."""
    return f"data: {msg}\n\n".encode()


class NaiveParser:
    """A typical copy-paste SSE parser: right for simple input, wrong at the edges.

    Same interface as :class:`~sse_lab.protocol.EventParser`: ``feed(bytes)``
    returns the completed :class:`~sse_lab.protocol.Event` objects, ``close()``
    ends the stream. See the module docstring for what it gets wrong.
    """

    def __init__(self) -> None:
        self.last_event_id = ""
        self.retry: int | None = None
        self._buffer = ""  # an incomplete last line, carried to the next chunk
        self._data: list[str] = []
        self._event = ""
        self._block_retry: int | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        # Mistake 1: each chunk is decoded on its own; a character cut in two
        # becomes U+FFFD replacement characters.
        text = self._buffer + chunk.decode("utf-8", errors="replace")
        # Mistake 2: splitlines() breaks at far more than CR, LF and CRLF, and
        # a CRLF split over two chunks counts as two line endings.
        lines = text.splitlines()
        if text.endswith(("\n", "\r")):
            self._buffer = ""
        else:
            self._buffer = lines.pop() if lines else ""
        events: list[Event] = []
        for line in lines:
            if not line:
                self._dispatch(events)
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                self._field(name, value)
        return events

    def close(self) -> list[Event]:
        """End the stream; an unfinished block is discarded (as the spec says)."""
        self._buffer = ""
        self._data = []
        self._event = ""
        self._block_retry = None
        return []

    def _field(self, name: str, value: str) -> None:
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self.last_event_id = value
        elif name == "retry":
            try:
                self.retry = self._block_retry = int(value)
            except ValueError:
                pass

    def _dispatch(self, events: list[Event]) -> None:
        if self._data:
            events.append(
                Event(
                    self._event or "message",
                    "\n".join(self._data),
                    self.last_event_id,
                    self._block_retry,
                )
            )
        self._data = []
        self._event = ""
        self._block_retry = None
