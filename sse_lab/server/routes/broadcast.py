"""The broadcast family: ``GET /events`` subscribes to the server's hub.

The hub itself (encode once, write to every subscriber without waiting, drop
the stalled, replay with ``Last-Event-ID``) is :mod:`sse_lab.server.hub`.
Publish from the server's loop with ``context.hub.publish(...)`` or from any
thread (a notebook cell) with ``server.broadcast(...)``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sse_lab.server.args import last_event_id
from sse_lab.server.context import ServerContext
from sse_lab.server.handler import SSEHandler

__all__ = ["SubscribeHandler", "routes"]


class SubscribeHandler(SSEHandler):
    """``GET /events``: subscribe to the hub and wait until the stream ends.

    The handler sends nothing itself: the hub writes to it. It leaves the hub
    when the client goes away, when the hub drops it, when the lifetime limit
    ends it, and when the server stops. ``Last-Event-ID`` (or
    ``?lastEventId=``) replays the newer events still in the hub's ring.
    """

    def parse_arguments(self) -> None:
        self.last_id = last_event_id(self)  # validated before the stream starts

    async def stream(self) -> None:
        hub = self.context.hub
        hub.subscribe(self, self.last_id)
        try:
            await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            hub.unsubscribe(self)

    def on_connection_close(self) -> None:
        self.context.hub.unsubscribe(self)
        super().on_connection_close()


def routes(context: ServerContext) -> list[tuple[Any, ...]]:
    """The broadcast family's routes: ``/events``."""
    return [(r"/events", SubscribeHandler, {"context": context})]
