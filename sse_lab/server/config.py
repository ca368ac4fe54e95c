"""The knobs of a lab server, and every limit it enforces, in one place.

Nothing here does I/O: :class:`ServerConfig` is a frozen dataclass handed to
:func:`sse_lab.server.start_server`, and the module constants are the fixed
limits the server's parts share (documented here so a reader finds every bound
a request can hit without reading the handlers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sse_lab.model import SimulatedLLM
from sse_lab.server.answers import AnswersConfig

__all__ = [
    "ServerConfig",
    "SEND_HIGH_WATER",
    "IDLE_FLUSH_GAP",
    "DEFAULT_HISTORY",
    "LONGPOLL_TIMEOUT",
    "LONGPOLL_TIMEOUT_MAX",
    "SESSION_TTL",
    "MAX_SESSIONS",
    "MAX_SID_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_INT_DIGITS",
    "MAX_JSON_DEPTH",
    "SPEED_RANGE",
]

#: Bytes a stream may have waiting (unflushed, or in its connection's output
#: buffer) before ``SSEHandler.send()`` waits for the reader. Below it, events
#: sent back to back leave in one TCP write; above it the producer is paced by
#: the reader.
SEND_HIGH_WATER = 64 * 1024

#: Seconds since the last flush after which ``send()`` writes an event to the
#: socket at once instead of at the next loop turn: a paced stream (a token
#: every few ms or more) gets each event out without an extra loop iteration,
#: while a producer sending back to back (well under this gap) still has its
#: events coalesced into one TCP write.
IDLE_FLUSH_GAP = 0.001

#: Broadcast events kept for ``Last-Event-ID`` replay (also capped at
#: ``ServerConfig.subscriber_queue`` bytes: a replay must fit one backlog).
DEFAULT_HISTORY = 256

#: Seconds a long poll waits for a new token before it answers empty-handed.
LONGPOLL_TIMEOUT = 25.0
#: The longest ``timeout`` a long poll may ask for.
LONGPOLL_TIMEOUT_MAX = 60.0
#: Default idle time (s) after which a polling session expires.
SESSION_TTL = 30.0
#: Default bound on the number of live polling sessions.
MAX_SESSIONS = 256
#: Longest polling session id kept (longer ones are cut).
MAX_SID_LENGTH = 128
#: Longest ``Last-Event-ID`` (header or ``lastEventId``) accepted; longer is a 400.
MAX_ID_LENGTH = 256
#: Most digits an integer argument may have (``int()`` of 4,301 digits raises).
MAX_INT_DIGITS = 18
#: Deepest nesting of arrays/objects a JSON request body may have.
MAX_JSON_DEPTH = 64
#: The ``speed`` a request may ask for (the delays are divided by it).
SPEED_RANGE = (0.01, 1000.0)


@dataclass(frozen=True)
class ServerConfig:
    """Knobs of a :class:`~sse_lab.server.LabServer`.

    Attributes:
        heartbeat: Seconds of silence after which an open stream gets a
            ``: heartbeat`` comment, so proxies and browsers keep it open
            (WebSockets get a ping instead).
        send_timeout: Seconds a write may wait for a reader; a client that
            stops reading for longer is disconnected instead of letting its
            buffer grow.
        retry_ms: The ``retry:`` reconnection time sent with the first event
            of every stream.
        cors_origins: Origins allowed to read the streams cross-origin; empty
            means no ``Access-Control-Allow-Origin`` header at all (a ``*``
            entry echoes any origin back, never a literal ``*``).
        model: The token source behind ``/chat`` and ``/complete``.
        max_lifetime: Seconds after which a stream is ended with a hint to
            reconnect (the source article's 30-minute timeout); ``None`` for
            no limit. Bounds what a forgotten tab can hold on to.
        subscriber_queue: Bytes a broadcast subscriber may have waiting
            unsent before it is dropped as stalled.
        teaching_routes: Also mount the routes that show what breaks
            streaming (``/chat-noflush``, ``/chat-gzip``). Off by default: they
            are lesson material, not part of the server's API
            (``python -m sse_lab serve --teaching-routes`` turns them on).
        answers: Where answers live and what happens when their readers
            leave (:class:`~sse_lab.server.answers.AnswersConfig`; ``serve
            --store redis://...`` shares them between processes).

    Limits (each refusal is a 4xx or 503 whose body names the limit):

    Attributes:
        max_body: Bytes a request body may have on the JSON APIs (``/v1/...``);
            more is answered ``413`` before the body is read.
        max_body_other: Bytes a request body may have anywhere else (the
            other endpoints take no body); more is a ``413``.
        max_prompt_tokens: Tokens all messages of one ``/v1`` request may
            add up to (else ``400 context_length_exceeded``, as OpenAI does).
        max_connections: Connections open at once; one more is answered
            ``503`` with ``Retry-After`` and closed.
        max_connections_per_client: The same, per client IP address.
        header_timeout: Seconds a client has to send a request's headers
            (and an idle keep-alive connection is kept): slowloris clients
            are cut after it.
        body_timeout: Seconds a client has to send a request's body.
        max_header_size: Bytes of request line plus headers (more: the
            connection is closed).
        sse_max_events: The largest ``count`` ``/sse`` accepts.
        sse_min_interval: ``/sse``'s ``interval`` is raised to at least this
            many seconds (``interval=0`` is a firehose otherwise).
        stream_sndbuf: ``SO_SNDBUF`` of streaming sockets in bytes (the kernel
            doubles it), ``None`` for the kernel's autotuning. Capped, a
            reader that stops reading fills it after ~0.3 MB and
            ``send_timeout`` starts counting, instead of after ~4 MB. Not
            smaller: at 32 KiB a fast reader on loopback got 1/7 of the
            throughput (28 vs 200 MB/s); from 128 KiB on it gets it all.
        ws_max_message: Bytes a WebSocket message may have (a request is a
            prompt and a few numbers; as ``/chat``'s URL, 64 KiB, so planning
            its answer on the loop stays within ~20 ms).
        accept_pause: Seconds accepting pauses when the process is out of
            file descriptors (EMFILE/ENFILE), instead of spinning.
    """

    heartbeat: float = 15.0
    send_timeout: float = 10.0
    retry_ms: int = 1000
    cors_origins: tuple[str, ...] = ()
    model: SimulatedLLM = field(default_factory=SimulatedLLM)
    max_lifetime: float | None = 30 * 60.0
    subscriber_queue: int = 256 * 1024
    teaching_routes: bool = False
    answers: AnswersConfig = field(default_factory=AnswersConfig)
    max_body: int = 1024 * 1024
    max_body_other: int = 256 * 1024
    max_prompt_tokens: int = 131_072
    max_connections: int = 10_000
    max_connections_per_client: int = 10_000
    header_timeout: float = 20.0
    body_timeout: float = 30.0
    max_header_size: int = 64 * 1024
    sse_max_events: int = 1_000_000
    sse_min_interval: float = 0.001
    stream_sndbuf: int | None = 128 * 1024
    ws_max_message: int = 64 * 1024
    accept_pause: float = 0.5
