"""Recordings: what a client saw of one stream, with the time of each arrival.

A :class:`Recording` is the hand-off between the client (which measures) and
the metrics, plots and widgets (which only read). All times are seconds on the
monotonic clock, relative to the moment the request was started.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from sse_lab.protocol import DONE, Event

__all__ = ["Arrival", "Recording"]


@dataclass(frozen=True)
class Arrival:
    """One event and when it arrived (seconds since the request started)."""

    t: float
    event: Event


@dataclass
class Recording:
    """Everything one client observed of one stream (across reconnections).

    Attributes:
        url: The URL requested.
        transport: ``"sse"``, ``"blocking"``, ``"websocket"``, ``"poll"``...
        status: The HTTP status of the (last) response, 0 if none arrived.
        headers: Response headers of the (last) response.
        connect_time: When the connection was established (headers received
            for HTTP transports), seconds since the request started.
        first_byte_time: When the first body byte arrived.
        end_time: When the stream ended (or the client stopped reading).
        arrivals: Every dispatched event with its arrival time, ``[DONE]``
            included.
        bytes_received: Body bytes received, framing included.
        requests: HTTP requests made (reconnections and polls add up).
        reconnects: How many times the client reconnected.
        error: A description of the error that ended the stream, if any.
    """

    url: str
    transport: str = "sse"
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    connect_time: float | None = None
    first_byte_time: float | None = None
    end_time: float | None = None
    arrivals: list[Arrival] = field(default_factory=list)
    bytes_received: int = 0
    header_bytes: int = 0
    requests: int = 0
    reconnects: int = 0
    error: str | None = None

    # -- derived views -------------------------------------------------------
    @property
    def token_arrivals(self) -> list[Arrival]:
        """Arrivals of ``message`` events carrying a token (``[DONE]`` excluded)."""
        return [
            a for a in self.arrivals if a.event.event == "message" and a.event.data != DONE
        ]

    @property
    def tokens(self) -> list[str]:
        """The token texts, in arrival order."""
        return [a.event.data for a in self.token_arrivals]

    @property
    def token_times(self) -> list[float]:
        """The arrival time of each token, in seconds since the request."""
        return [a.t for a in self.token_arrivals]

    @property
    def text(self) -> str:
        """The tokens joined: the answer as the reader finally sees it."""
        return "".join(self.tokens)

    @property
    def done(self) -> bool:
        """Whether the stream ended with the ``[DONE]`` sentinel."""
        return any(a.event.data == DONE for a in self.arrivals)

    def visible_text(self) -> list[tuple[float, str]]:
        """``(t, text visible so far)`` after each token: what a reader sees."""
        out: list[tuple[float, str]] = []
        text = ""
        for a in self.token_arrivals:
            text += a.event.data
            out.append((a.t, text))
        return out

    def __repr__(self) -> str:
        return (
            f"Recording({self.transport} {self.url!r}: {len(self.tokens)} tokens, "
            f"done={self.done}, end={self.end_time})"
        )


@dataclass(repr=False)
class WireRecording(Recording):
    """A :class:`Recording` whose byte counts cover the whole exchange.

    Unlike the SSE client's recordings (where ``bytes_received`` is the body
    only and ``header_bytes`` comes on top), here ``bytes_received`` is every
    byte the client received for this answer above TCP: the HTTP response
    heads of every request, bodies with their chunked framing, and for a
    WebSocket the upgrade response plus every frame (headers included, the
    closing handshake too). ``header_bytes`` is the part of it that was HTTP
    response heads. :func:`bytes_per_token` knows the difference.

    Attributes:
        bytes_sent: Bytes the client sent (request heads, WebSocket frames),
            ``None`` when not measured.
        extra: Further numbers of this transport (handshake sizes, frames...).
    """

    bytes_sent: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def total_bytes_received(rec: Recording) -> int:
    """Every byte received for ``rec``, HTTP heads included, whatever its type."""
    if isinstance(rec, WireRecording):
        return rec.bytes_received
    return rec.bytes_received + rec.header_bytes


def bytes_per_token(rec: Recording) -> float:
    """Bytes received per token (heads, framing and bodies included).

    Works for the SSE client's recordings too (their header bytes are added).
    ``nan`` when the recording holds no token.
    """
    n = len(rec.tokens)
    return total_bytes_received(rec) / n if n else math.nan


def as_wire_recording(rec: Recording) -> WireRecording:
    if isinstance(rec, WireRecording):
        return rec
    values = {f.name: getattr(rec, f.name) for f in fields(rec)}
    wire = WireRecording(**values)
    wire.bytes_received = rec.bytes_received + rec.header_bytes
    return wire
