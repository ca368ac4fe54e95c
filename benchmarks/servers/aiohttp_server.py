"""Benchmark server (4): aiohttp with aiohttp-sse, written as its README shows.

* Streams: ``async with sse_response(request) as resp: await resp.send(...)``
  (the library encodes each event with its default ``\\r\\n`` separator and
  writes it, waiting for the transport to drain when its buffer is full).
* Broadcast: a per-subscriber ``asyncio.Queue`` registered in a set while
  ``resp.is_connected()``, the pattern of aiohttp-sse's chat example; the
  publisher builds each event's data once and ``put_nowait`` s it everywhere.
* ``web.run_app`` with aiohttp's defaults (asyncio loop), access log off.

Run: ``python -m benchmarks.servers.aiohttp_server --port 8765``
"""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web
from aiohttp_sse import sse_response

from ..common import (
    DONE,
    PAYLOAD,
    AsyncioPublisher,
    broadcast_data,
    cli_port,
    parse_period,
    raise_nofile,
    stats,
)

subscribers: set[asyncio.Queue[str]] = set()


def _publish(seq: int) -> None:
    data = broadcast_data(seq)  # built once, queued for everyone
    for queue in subscribers:
        queue.put_nowait(data)


publisher = AsyncioPublisher(_publish)


def _int(request: web.Request, name: str, default: int) -> int:
    try:
        return max(0, int(request.query.get(name, default)))
    except ValueError:
        return default


async def stream(request: web.Request) -> web.StreamResponse:
    n = _int(request, "n", 1000)
    async with sse_response(request) as resp:
        for i in range(n):
            await resp.send(f"{i} {PAYLOAD}")
        await resp.send(DONE)
    return resp


async def tail(request: web.Request) -> web.StreamResponse:
    """``/tail?n=N&interval_ms=I``: JSON events with ``id: k`` and the send time."""
    n = _int(request, "n", 200)
    interval = float(request.query.get("interval_ms", 5)) / 1000
    async with sse_response(request) as resp:
        for k in range(n):
            await resp.send(json.dumps({"k": k, "t": time.monotonic_ns()}), id=str(k))
            await asyncio.sleep(interval)
        await resp.send(DONE)
    return resp


async def paced(request: web.Request) -> web.StreamResponse:
    n = _int(request, "n", 100)
    interval = float(request.query.get("interval", 0.01))
    async with sse_response(request) as resp:
        for i in range(n):
            await resp.send(f"{i} {time.monotonic_ns()}")
            await asyncio.sleep(interval)
        await resp.send(DONE)
    return resp


async def subscribe(request: web.Request) -> web.StreamResponse:
    queue: asyncio.Queue[str] = asyncio.Queue()
    async with sse_response(request) as resp:
        subscribers.add(queue)
        try:
            while resp.is_connected():
                data = await queue.get()
                await resp.send(data)
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            subscribers.discard(queue)
    return resp


async def publisher_start(request: web.Request) -> web.Response:
    publisher.start(parse_period(request.query.get("period")))
    return web.json_response({"publishing": True})


async def publisher_stop(request: web.Request) -> web.Response:
    publisher.stop()
    return web.json_response({"publishing": False})


async def stats_endpoint(request: web.Request) -> web.Response:
    return web.json_response(stats("aiohttp", len(subscribers), publisher.seq))


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/stream", stream)
    app.router.add_get("/paced", paced)
    app.router.add_get("/tail", tail)
    app.router.add_get("/subscribe", subscribe)
    app.router.add_post("/publisher", publisher_start)
    app.router.add_delete("/publisher", publisher_stop)
    app.router.add_get("/stats", stats_endpoint)
    return app


def main(argv: list[str] | None = None) -> None:
    host, port = cli_port(argv)
    raise_nofile()
    print(f"READY http://{host}:{port}", flush=True)
    web.run_app(make_app(), host=host, port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
