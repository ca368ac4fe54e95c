"""Recordings: what a client saw of one stream, with the time of each arrival.

A :class:`Recording` is the hand-off between the client (which measures) and
the metrics, plots and widgets (which only read). All times are seconds on the
monotonic clock, relative to the moment the request was started.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .protocol import DONE, Event

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
