"""Broadcast across processes: one Redis Stream, one relay per instance.

A publisher (any process) appends an event to the stream ``{prefix}broadcast``
(:func:`publish`). Every lab instance runs one relay task (:func:`start_relay`)
that tails the stream with ``XREAD BLOCK`` and hands each event to its own
hub, which encodes it once and writes it to its local subscribers. So one
publish reaches every subscriber of every instance, with one Redis read per
instance, not one per subscriber. The stream id is the event's SSE ``id``,
identical on every instance, so a subscriber that reconnects to another
instance with ``Last-Event-ID`` is replayed from that instance's ring.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = ["HubLike", "publish", "relay", "start_relay", "STREAM"]

#: The stream key (after the store's prefix).
STREAM = "broadcast"


class HubLike(Protocol):
    """What the relay feeds: :class:`sse_lab.server.hub.Hub`."""

    def publish(self, data: str, *, event: str | None = None, id: str | None = None) -> int:
        """Write one event to every local subscriber."""
        ...


async def publish(client: aioredis.Redis, data: str, *, event: str | None = None,
                  prefix: str = "sse_lab:", maxlen: int = 1024) -> str:
    """Append one broadcast event; return its id (the SSE id every instance uses)."""
    fields = {"d": data} if event is None else {"d": data, "e": event}
    sid = await client.xadd(prefix + STREAM, fields, maxlen=maxlen, approximate=True)
    return sid.decode() if isinstance(sid, bytes) else str(sid)


async def relay(url: str, hub: HubLike, *, prefix: str = "sse_lab:",
                block: float = 1.0) -> None:
    """Feed ``hub`` with every event published after the relay starts (until cancelled).

    A lost Redis is retried with a capped backoff; the events published while
    it was gone are read on reconnect if the stream still holds them.
    """
    client = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2.0,
                                     socket_timeout=block + 10.0)
    last = "$"
    backoff = 0.1
    try:
        while True:
            try:
                got = await client.xread({prefix + STREAM: last}, count=256,
                                         block=max(1, int(block * 1000)))
                backoff = 0.1
            except RedisError:
                await asyncio.sleep(backoff)
                backoff = min(5.0, backoff * 2)
                continue
            for _key, items in got or ():
                for sid, fields in items:
                    last = sid
                    hub.publish(fields.get("d", ""), event=fields.get("e"), id=sid)
    finally:
        await client.aclose()


def start_relay(url: str, hub: HubLike, tasks: set[asyncio.Task[Any]] | None = None,
                *, prefix: str = "sse_lab:") -> asyncio.Task[None]:
    """Run :func:`relay` as a task on the running loop (registered in ``tasks``)."""
    task = asyncio.ensure_future(relay(url, hub, prefix=prefix))
    if tasks is not None:
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    return task
