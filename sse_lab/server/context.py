"""The shared state of one lab server: :class:`ServerContext`.

One context exists per :class:`~sse_lab.server.LabServer`. It reaches every
handler by one channel, Tornado's ``initialize(self, context)`` (the route
families pass ``{"context": context}``), and is touched only from the
server's loop. It holds the counters ``/stats`` reports, the registry of open
streams, the live tasks, the broadcast :class:`~sse_lab.server.hub.Hub` and
the polling :class:`~sse_lab.server.sessions.SessionStore`, and runs the
periodic :meth:`~ServerContext.sweep` (heartbeats, stalled readers, lifetime
limit) over the open streams through their documented hooks.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from typing import Any

try:  # ipykernel depends on psutil, so it is there in the lab
    import psutil
except ImportError:  # pragma: no cover - a bare install reads /proc instead
    psutil = None

from sse_lab.protocol import encode_event
from sse_lab.server.answers import build_answers
from sse_lab.server.config import ServerConfig
from sse_lab.server.guard import ConnectionGuard
from sse_lab.server.hooks import StreamHooks
from sse_lab.server.hub import Hub
from sse_lab.server.sessions import SessionStore

__all__ = ["ServerContext", "process_rss"]


_last_rss = 0


def process_rss() -> int:
    """Resident set size of this process in bytes (the last one read, if it cannot be read now).

    Reading it opens a file under ``/proc``: when the process is out of file
    descriptors (``/stats`` is most useful then) the last value stands in.
    """
    global _last_rss
    try:
        if psutil is not None:
            _last_rss = int(psutil.Process().memory_info().rss)
        else:  # pragma: no cover - without psutil
            with open("/proc/self/statm") as f:
                _last_rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        pass
    return _last_rss


class ServerContext:
    """Shared state of one server, touched only from the server's loop.

    Args:
        config: The server's knobs.

    Attributes:
        config: The :class:`~sse_lab.server.ServerConfig`.
        open: The SSE streams open right now (the sweep visits each).
        open_by_path: Open connections per request path (SSE streams,
            WebSockets and waiting long polls).
        served: Connections accepted since the start.
        events_sent: Events written by handlers (the hub counts its own; see
            :meth:`snapshot`).
        tasks: Live generation tasks; shutdown cancels them.
        dropped_stalled: Streams cut because a write waited longer than
            ``send_timeout``.
        heartbeats_sent: ``: heartbeat`` comments sent to idle streams.
        lifetime_closed: Streams ended by ``max_lifetime``.
        hub: The broadcast hub behind ``GET /events``.
        sessions: The polling sessions behind ``/poll`` and ``/longpoll``.
        guard: Connection counts and refusals (503, 413, out of descriptors).
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.open: set[StreamHooks] = set()
        self.open_by_path: Counter[str] = Counter()
        self.served = 0
        self.events_sent = 0
        self.tasks: set[asyncio.Task[Any]] = set()
        self.dropped_stalled = 0
        self.heartbeats_sent = 0
        self.lifetime_closed = 0
        self.started = time.monotonic()
        self.hub = Hub(config)
        self.sessions = SessionStore(self.tasks)
        #: Answers as logs (``/chat`` reads them); raises StoreError naming the
        #: URL here, in the caller of start_server, if Redis does not answer.
        self.answers = build_answers(config.answers, config.model, self.tasks)
        self.guard = ConnectionGuard(config)

    def snapshot(self) -> dict[str, Any]:
        """The counters of ``GET /stats``, as a JSON-ready dict."""
        hub = self.hub
        return {
            "open_connections": dict(+self.open_by_path),
            "open_total": len(self.open),
            "connections_served": self.served,
            "events_sent": self.events_sent + hub.events_sent,
            "generation_tasks": sum(1 for t in self.tasks if not t.done()),
            "heartbeats_sent": self.heartbeats_sent,
            "dropped_stalled": self.dropped_stalled,
            "lifetime_closed": self.lifetime_closed,
            "subscribers": len(hub),
            "broadcasts": hub.published,
            "subscribers_dropped": hub.dropped,
            "broadcast_replayed": hub.replayed,
            "rss_bytes": process_rss(),
            "uptime_s": round(time.monotonic() - self.started, 3),
            "answers": self.answers.stats(),
            "limits": self.guard.snapshot(),
        }

    def sweep(self) -> None:
        """Send heartbeats to idle streams, drop readers that stalled, end old streams.

        One call visits every open stream once; the server runs it on one
        periodic timer for all connections, however many.
        """
        now = time.monotonic()
        cfg = self.config
        lifetime = cfg.max_lifetime
        for handler in list(self.open):
            pending = handler.flush_started
            if pending is not None and now - pending > cfg.send_timeout:
                self.dropped_stalled += 1
                handler.abort("send timeout: the client stopped reading")
            elif lifetime is not None and now - handler.opened_at >= lifetime:
                self.lifetime_closed += 1
                # Tell the client when to come back, then end the response;
                # EventSource reconnects by itself (with Last-Event-ID).
                handler.write_nowait(
                    encode_event(retry=cfg.retry_ms, comment="lifetime limit: reconnect")
                )
                handler.end()
            elif pending is None and now - handler.last_write >= cfg.heartbeat:
                self.heartbeats_sent += 1
                handler.write_nowait(encode_event(comment="heartbeat"))
