"""Benchmark server (1): sse_lab itself, as a learner would extend it.

* ``start_server(port)`` runs sse_lab's Tornado app on its own asyncio loop in a
  daemon thread (its ``ServerConfig`` defaults: 15 s heartbeat, 10 s send timeout).
* ``/stream`` and ``/paced`` are :class:`sse_lab.server.SSEHandler` subclasses
  calling ``self.send(...)`` (encode, write, await flush), added with
  ``server.add_handler``.
* ``/subscribe`` is sse_lab's own hub endpoint (``GET /events``, the
  ``SubscribeHandler`` class), routed at the common path.
* The publisher is a ``tornado.ioloop.PeriodicCallback`` on the server's loop
  calling ``server.broadcast(...)``.
* ``/stats`` overrides the lab's own ``/stats`` (handlers added later win) with
  the common fields, plus the lab's counters under ``"lab"``.

The main thread only waits for SIGTERM/SIGINT.

Run: ``python -m benchmarks.servers.sse_lab_server --port 8765``
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time

import tornado.ioloop
import tornado.web

from sse_lab.server import LabServer, ServerConfig, SSEHandler, start_server
from sse_lab.server.routes.broadcast import SubscribeHandler

from ..common import DONE, PAYLOAD, broadcast_data, cli_port, parse_period, raise_nofile, stats


def _int_arg(handler: tornado.web.RequestHandler, name: str, default: int) -> int:
    try:
        return max(0, int(handler.get_argument(name, str(default))))
    except ValueError:
        raise tornado.web.HTTPError(400, f"{name} must be an integer") from None


class StreamHandler(SSEHandler):
    """``/stream?n=N``: N events back to back, then ``[DONE]``."""

    def parse_arguments(self) -> None:
        self.n = _int_arg(self, "n", 1000)

    async def stream(self) -> None:
        send = self.send
        for i in range(self.n):
            await send(f"{i} {PAYLOAD}")
        await send(DONE)


class PacedHandler(SSEHandler):
    """``/paced?n=N&interval=S``: N events S s apart, each with its send time."""

    def parse_arguments(self) -> None:
        self.n = _int_arg(self, "n", 100)
        try:
            self.interval = max(0.0, float(self.get_argument("interval", "0.01")))
        except ValueError:
            raise tornado.web.HTTPError(400, "interval must be a number") from None

    async def stream(self) -> None:
        for i in range(self.n):
            await self.send(f"{i} {time.monotonic_ns()}")
            await asyncio.sleep(self.interval)
        await self.send(DONE)


class TailHandler(SSEHandler):
    """``/tail?n=N&interval_ms=I``: the per-token tail contract, as a learner writes it."""

    def parse_arguments(self) -> None:
        self.n = _int_arg(self, "n", 200)
        try:
            self.interval = max(0.0, float(self.get_argument("interval_ms", "5")) / 1000)
        except ValueError:
            raise tornado.web.HTTPError(400, "interval_ms must be a number") from None

    async def stream(self) -> None:
        for k in range(self.n):
            await self.send(json.dumps({"k": k, "t": time.monotonic_ns()}), id=str(k))
            await asyncio.sleep(self.interval)
        await self.send(DONE)


class Control:
    """The publisher and the stats, shared by the two control handlers."""

    def __init__(self, server: LabServer) -> None:
        self.server = server
        self.seq = 0
        self.timer: tornado.ioloop.PeriodicCallback | None = None

    def tick(self) -> None:
        self.server.broadcast(broadcast_data(self.seq))  # on the server's loop: runs inline
        self.seq += 1

    def start(self, period: float) -> None:  # called on the server's loop
        self.stop()
        self.timer = tornado.ioloop.PeriodicCallback(self.tick, period * 1000)
        self.timer.start()

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.stop()
            self.timer = None


class PublisherHandler(tornado.web.RequestHandler):
    control: Control  # set on the subclass made by add_routes

    def post(self) -> None:
        self.control.start(parse_period(self.get_argument("period", None)))
        self.finish({"publishing": True})

    def delete(self) -> None:
        self.control.stop()
        self.finish({"publishing": False})


class StatsHandler(tornado.web.RequestHandler):
    control: Control  # set on the subclass made by add_routes

    def get(self) -> None:
        server = self.control.server
        lab = server.stats()
        body = stats(
            "sse_lab",
            lab["subscribers"],
            self.control.seq,
            lab={k: lab[k] for k in ("open_total", "broadcasts", "subscribers_dropped",
                                     "events_sent", "dropped_stalled")},
        )
        self.set_header("Content-Type", "application/json")
        self.finish(body)


def add_routes(server: LabServer) -> Control:
    """Add the benchmark endpoints to a running lab server."""
    control = Control(server)
    server.add_handler(r"/stream", StreamHandler)
    server.add_handler(r"/paced", PacedHandler)
    server.add_handler(r"/tail", TailHandler)
    server.add_handler(r"/subscribe", SubscribeHandler)  # the hub's /events handler
    # add_handler passes kwargs only to SSEHandlers: bind `control` on subclasses.
    server.add_handler(r"/publisher", type("Publisher", (PublisherHandler,), {"control": control}))
    server.add_handler(r"/stats", type("Stats", (StatsHandler,), {"control": control}))
    return control


def main(argv: list[str] | None = None) -> None:
    host, port = cli_port(argv)
    raise_nofile()
    server = start_server(port, host, config=ServerConfig())
    add_routes(server)
    print(f"READY {server.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass
    server.stop()


if __name__ == "__main__":
    main()
