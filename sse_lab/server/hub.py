"""One event to every subscriber: the source article's ``clients`` set, done right.

The article keeps a ``Set`` of open responses and loops over it in
``broadcast()``, writing to each. That much is right; what it leaves out is
what happens when one reader stops reading. Its writes keep succeeding (they
only append to a buffer), so one stalled tab makes the server's memory grow
without bound. The :class:`Hub` here keeps the same shape and adds the rest:

* the event is encoded **once** (and framed as an HTTP/1.1 chunk once); the
  very same ``bytes`` object goes to every subscriber, so large events are
  shared by reference in every socket buffer, not copied per reader;
* writes never wait for a reader: each is a non-blocking append to the
  connection's output buffer plus one ``send()`` attempt, with no coroutine,
  task or queue per subscriber per event, so one core serves thousands of
  subscribers at several events per second;
* each subscriber's *backlog* (bytes written but not yet accepted by the
  kernel) is measured before every write; a subscriber whose backlog would
  exceed ``ServerConfig.subscriber_queue`` is dropped and counted;
* a subscriber that leaves is removed at once (``on_connection_close``) and in
  every other exit path (server shutdown, lifetime limit, drop);
* recent events are kept in a small ring buffer so a subscriber that
  reconnects with ``Last-Event-ID`` gets what it missed (best effort: only
  what is still in the ring).

The hub talks to subscribers only through their documented hooks
(:class:`~sse_lab.server.hooks.StreamHooks`) and to Tornado's connection
internals only through :mod:`sse_lab.server.tornado_internals`. The endpoint
(``GET /events``) is :mod:`sse_lab.server.routes.broadcast`. Publish from the
server's loop with ``context.hub.publish(...)`` or from any thread (a notebook
cell) with ``server.broadcast(...)``.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from tornado.iostream import IOStream, StreamClosedError

from sse_lab.protocol import encode_event
from sse_lab.server.config import DEFAULT_HISTORY, ServerConfig
from sse_lab.server.hooks import StreamHooks
from sse_lab.server.tornado_internals import (
    chunks_output,
    connection_stream,
    pending_bytes,
    send_now,
)

__all__ = ["Hub", "DEFAULT_HISTORY"]

# Module globals: called per subscriber per event.
_pending = pending_bytes
_send_now = send_now


def _chunk(payload: bytes) -> bytes:
    """Frame ``payload`` as one HTTP/1.1 chunk (``Transfer-Encoding: chunked``)."""
    return b"%x\r\n%b\r\n" % (len(payload), payload)


class _Subscriber:
    """What the hub keeps per subscriber: created once, never per event."""

    __slots__ = ("handler", "stream", "direct")

    def __init__(self, handler: StreamHooks) -> None:
        self.handler = handler
        self.stream: IOStream | None = connection_stream(handler)  # type: ignore[arg-type]
        # The fast path writes pre-framed chunks straight to the connection's
        # IOStream, which is only right when Tornado chunks this response
        # (an HTTP/1.1 response without Content-Length). Otherwise (HTTP/1.0)
        # use the handler's own non-blocking write path.
        self.direct = self.stream is not None and chunks_output(handler)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Past:
    """One published event kept for replay."""

    id: str
    data: str
    event: str | None
    payload: bytes


class Hub:
    """The set of ``/events`` subscribers and the one way to write to all of them.

    Lives on the server's loop (``context.hub``); call its methods only there
    (``LabServer.broadcast`` and ``LabServer.call`` get you there from any
    thread).

    Attributes:
        published: Events published so far (each counts once, however many
            subscribers it reached).
        dropped: Subscribers dropped because their backlog exceeded
            ``ServerConfig.subscriber_queue``.
        replayed: Events re-sent to reconnecting subscribers.
        events_sent: Event deliveries (one per subscriber reached, replays
            included); the server's ``events_sent`` adds them.
        peak_backlog: The largest backlog (bytes) seen on any subscriber just
            before a write; stays at or below the limit plus one event.
        history_size: How many recent events are kept for replay (0: none).
    """

    def __init__(self, config: ServerConfig, *, history: int = DEFAULT_HISTORY) -> None:
        self.config = config
        self.events_sent = 0
        self._subs: dict[StreamHooks, _Subscriber] = {}
        self.published = 0
        self.dropped = 0
        self.replayed = 0
        self.peak_backlog = 0
        self.history_size = history
        self._history: deque[_Past] = deque()
        self._history_bytes = 0

    def __len__(self) -> int:
        return len(self._subs)

    def __contains__(self, handler: object) -> bool:
        return handler in self._subs

    @property
    def subscribers(self) -> list[StreamHooks]:
        """The subscribed handlers (a copy)."""
        return list(self._subs)

    # -- membership --------------------------------------------------------------
    def subscribe(self, handler: StreamHooks, last_event_id: str | None = None) -> int:
        """Add ``handler``; first replay what came after ``last_event_id``.

        The replay is written and the handler registered in one synchronous
        step, so no event published meanwhile can fall between the two.

        Returns:
            The number of events replayed.
        """
        sub = _Subscriber(handler)
        replay = self._since(last_event_id) if last_event_id is not None else []
        if replay:
            first = replay[0]
            retry = self._take_retry(handler)
            head = (
                encode_event(first.data, event=first.event, id=first.id, retry=retry)
                if retry is not None
                else first.payload
            )
            self._write(sub, head + b"".join(p.payload for p in replay[1:]))
            self.replayed += len(replay)
            self.events_sent += len(replay)
        self._subs[handler] = sub
        return len(replay)

    def unsubscribe(self, handler: StreamHooks) -> bool:
        """Remove ``handler``; True if it was subscribed (safe to call twice)."""
        return self._subs.pop(handler, None) is not None

    def _since(self, last_event_id: str) -> list[_Past]:
        history = self._history
        for i in range(len(history) - 1, -1, -1):
            if history[i].id == last_event_id:
                return list(history)[i + 1 :]
        return []  # unknown or too old: nothing we can honestly replay

    # -- publishing --------------------------------------------------------------
    def publish(
        self,
        data: str,
        *,
        event: str | None = None,
        id: str | None = None,  # noqa: A002 - the SSE field name
    ) -> int:
        """Send one event to every subscriber without waiting for any of them.

        Args:
            data: The payload (line breaks become several ``data:`` lines).
            event: The event type, if not ``"message"``.
            id: The event ID; by default the hub numbers events ``"0"``,
                ``"1"``, ... so that ``Last-Event-ID`` replay works. Give IDs
                always or never: mixing them can repeat an ID.

        Returns:
            How many subscribers the event was written to (dropped and
            departed subscribers are not counted).

        Raises:
            TypeError: ``data`` is not a string.
            ValueError: ``event`` or ``id`` contains a line break.
        """
        if not isinstance(data, str):
            raise TypeError(f"data must be a str, not {type(data).__name__} (json.dumps it?)")
        if id is None:
            id = str(self.published)  # noqa: A001
        payload = encode_event(data, event=event, id=id)
        self.published += 1
        self._remember(_Past(id, data, event, payload))
        framed = _chunk(payload)
        with_retry: tuple[bytes, bytes] | None = None
        limit = self.config.subscriber_queue
        size = len(payload)
        now = time.monotonic()
        reached = 0
        peak = self.peak_backlog
        framed_size = len(framed)
        # Iterate over the values: ``items()`` would build one tuple per
        # subscriber per event, garbage that the cyclic GC has to track.
        for sub in list(self._subs.values()):
            handler = sub.handler
            stream = sub.stream
            if handler.gone or (stream is not None and stream.closed()):
                del self._subs[handler]
                continue
            pending = _pending(stream)
            if pending > peak:
                peak = pending
            if pending and pending + size > limit:
                # Still holding earlier events and this one would pass the
                # limit: the reader has stopped; cut it loose.
                self._drop(handler)
                continue
            if handler.retry_pending is not None:
                # The first event of a stream carries ``retry:`` (see SSEHandler).
                if with_retry is None:
                    retry = self.config.retry_ms
                    p = encode_event(data, event=event, id=id, retry=retry)
                    with_retry = (p, _chunk(p))
                handler.retry_pending = None
                if not self._write(sub, with_retry[0], with_retry[1]):
                    continue
            elif sub.direct and stream is not None:
                if pending:
                    # Bytes already queued: append behind them, in order.
                    try:
                        stream.write(framed)
                    except StreamClosedError:
                        del self._subs[handler]
                        continue
                else:
                    # Nothing queued: hand the bytes to the kernel now.
                    # IOStream.write() would allocate a Future, a closure, a
                    # tuple and a loop callback per subscriber per event; at
                    # thousands of subscribers that garbage, alive until the
                    # loop runs again, is promoted by the cyclic GC and sets off
                    # full collections (~100 ms each at 5,000 subscribers).
                    try:
                        sent = _send_now(stream, framed)
                    except OSError:
                        self._subs.pop(handler, None)
                        handler.abort("broadcast write failed")
                        continue
                    if sent < framed_size:
                        try:
                            # A view, not a slice: the unsent part stays the one
                            # shared buffer, never a copy per subscriber.
                            stream.write(memoryview(framed)[sent:])
                        except StreamClosedError:
                            del self._subs[handler]
                            continue
                handler.last_write = now
            else:
                handler.write_nowait(payload)
            reached += 1
        self.peak_backlog = peak
        self.events_sent += reached
        return reached

    def _write(self, sub: _Subscriber, payload: bytes, framed: bytes | None = None) -> bool:
        """Write one payload to one subscriber now; False if it has gone."""
        handler = sub.handler
        if not sub.direct or sub.stream is None:
            handler.write_nowait(payload)
            return not handler.gone
        try:
            sub.stream.write(framed if framed is not None else _chunk(payload))
        except StreamClosedError:
            self._subs.pop(handler, None)
            return False
        handler.last_write = time.monotonic()
        return True

    def _drop(self, handler: StreamHooks) -> None:
        self._subs.pop(handler, None)
        self.dropped += 1
        handler.abort("broadcast backlog over ServerConfig.subscriber_queue")

    def _take_retry(self, handler: StreamHooks) -> int | None:
        retry = handler.retry_pending
        handler.retry_pending = None
        return retry

    def _remember(self, past: _Past) -> None:
        if self.history_size <= 0:
            return
        history = self._history
        history.append(past)
        self._history_bytes += len(past.payload)
        cap = self.config.subscriber_queue
        while history and (len(history) > self.history_size or self._history_bytes > cap):
            self._history_bytes -= len(history.popleft().payload)
