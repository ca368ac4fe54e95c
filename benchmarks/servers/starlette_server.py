"""Benchmark server (3): sse-starlette on uvicorn, written as its README shows.

* Streams: ``EventSourceResponse(generator())`` where the async generator
  yields ``{"data": ...}`` dicts (the documented style; the library encodes
  each, with its default ``\\r\\n`` separator and 15 s ping).
* Broadcast: the documented pattern: each subscriber's generator registers its
  own ``asyncio.Queue`` in a set, yields what arrives, and unregisters in
  ``finally`` (run when the library cancels the stream on disconnect). The
  publisher builds each event once and ``put_nowait`` s it into every queue.
* uvicorn with its defaults for ``loop``/``http`` ("auto": uvloop if
  installed, httptools if installed, else h11); access log off.

Run: ``python -m benchmarks.servers.starlette_server --port 8765``
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

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

subscribers: set[asyncio.Queue[dict[str, Any]]] = set()


def _publish(seq: int) -> None:
    event = {"data": broadcast_data(seq)}  # built once, queued for everyone
    for queue in subscribers:
        queue.put_nowait(event)


publisher = AsyncioPublisher(_publish)


def _int(request: Request, name: str, default: int) -> int:
    try:
        return max(0, int(request.query_params.get(name, default)))
    except ValueError:
        return default


async def stream(request: Request) -> EventSourceResponse:
    n = _int(request, "n", 1000)

    async def events() -> AsyncIterator[dict[str, str]]:
        for i in range(n):
            yield {"data": f"{i} {PAYLOAD}"}
        yield {"data": DONE}

    return EventSourceResponse(events())


async def tail(request: Request) -> EventSourceResponse:
    """``/tail?n=N&interval_ms=I``: JSON events with ``id: k`` and the send time."""
    n = _int(request, "n", 200)
    interval = float(request.query_params.get("interval_ms", 5)) / 1000

    async def events() -> AsyncIterator[dict[str, str]]:
        for k in range(n):
            yield {"data": json.dumps({"k": k, "t": time.monotonic_ns()}), "id": str(k)}
            await asyncio.sleep(interval)
        yield {"data": DONE}

    return EventSourceResponse(events())


async def paced(request: Request) -> EventSourceResponse:
    n = _int(request, "n", 100)
    interval = float(request.query_params.get("interval", 0.01))

    async def events() -> AsyncIterator[dict[str, str]]:
        for i in range(n):
            yield {"data": f"{i} {time.monotonic_ns()}"}
            await asyncio.sleep(interval)
        yield {"data": DONE}

    return EventSourceResponse(events())


async def subscribe(request: Request) -> EventSourceResponse:
    async def events() -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            subscribers.discard(queue)

    return EventSourceResponse(events())


async def publisher_control(request: Request) -> JSONResponse:
    if request.method == "POST":
        publisher.start(parse_period(request.query_params.get("period")))
    else:
        publisher.stop()
    return JSONResponse({"publishing": publisher.running})


def _http_impl() -> str:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


async def stats_endpoint(request: Request) -> JSONResponse:
    return JSONResponse(stats("starlette", len(subscribers), publisher.seq, http=_http_impl()))


app = Starlette(routes=[
    Route("/stream", stream),
    Route("/paced", paced),
    Route("/tail", tail),
    Route("/subscribe", subscribe),
    Route("/publisher", publisher_control, methods=["POST", "DELETE"]),
    Route("/stats", stats_endpoint),
])


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    host, port = cli_port(argv)
    raise_nofile()
    print(f"READY http://{host}:{port}", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
