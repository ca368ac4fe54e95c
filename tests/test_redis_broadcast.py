"""Broadcast across two processes through one Redis stream (real Redis, real instances)."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request

import redis.asyncio as aioredis
from conftest import wait_until

from sse_lab.client import record_sync
from sse_lab.lab.services import start_instances, start_redis
from sse_lab.server.stores.broadcast import publish


def test_one_publish_reaches_subscribers_on_every_instance() -> None:
    redis = start_redis()
    a, b = start_instances(2, redis.url)
    try:
        recs: dict[str, object] = {}
        threads = [threading.Thread(target=lambda i=i: recs.update(
            {i.url: record_sync(i.url + "/events", max_events=3)})) for i in (a, b)]
        for t in threads:
            t.start()
        wait_until(lambda: all(_subscribers(i.url) == 1 for i in (a, b)), timeout=10)

        async def send() -> list[str]:
            client = aioredis.Redis.from_url(redis.url, decode_responses=True)
            ids = [await publish(client, f"news {n}") for n in range(3)]
            await client.aclose()
            return ids

        ids = asyncio.run(send())
        for t in threads:
            t.join(10)
        for url, rec in recs.items():
            assert [x.event.data for x in rec.arrivals] == ["news 0", "news 1", "news 2"], url
            assert [x.event.id for x in rec.arrivals] == ids, "the same ids on every instance"
    finally:
        a.stop()
        b.stop()
        redis.stop()


def _subscribers(url: str) -> int:
    with urllib.request.urlopen(url + "/stats", timeout=5) as resp:
        return json.loads(resp.read())["subscribers"]
