"""Benchmark server (2): plain Tornado, the way its docs and most tutorials write SSE.

* Streams: a ``RequestHandler`` that ``self.write(...)`` s each event and then
  ``await self.flush()`` (so a slow reader slows the producer).
* Broadcast: the usual pattern: a set of subscribed handlers, each with its
  own ``asyncio.Queue`` drained by its own ``get()`` coroutine
  (``await queue.get(); write; await flush()``); the publisher (a
  ``PeriodicCallback``) encodes each event once and ``put_nowait`` s it into
  every queue.
* Runs on Tornado's default (asyncio) loop, ``app.listen(port)``.

Run: ``python -m benchmarks.servers.tornado_server --port 8765``
"""

from __future__ import annotations

import asyncio
import json
import signal
import time

import tornado.ioloop
import tornado.web
from tornado.iostream import StreamClosedError

from ..common import DONE, PAYLOAD, broadcast_data, cli_port, parse_period, raise_nofile, stats


def _sse(data: str) -> bytes:
    return f"data: {data}\n\n".encode()


class SSEBase(tornado.web.RequestHandler):
    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")

    def compute_etag(self) -> None:
        return None

    def int_arg(self, name: str, default: int) -> int:
        try:
            return max(0, int(self.get_argument(name, str(default))))
        except ValueError:
            raise tornado.web.HTTPError(400, f"{name} must be an integer") from None


class StreamHandler(SSEBase):
    async def get(self) -> None:
        n = self.int_arg("n", 1000)
        try:
            for i in range(n):
                self.write(_sse(f"{i} {PAYLOAD}"))
                await self.flush()
            self.write(_sse(DONE))
            await self.flush()
        except StreamClosedError:
            return


class PacedHandler(SSEBase):
    async def get(self) -> None:
        n = self.int_arg("n", 100)
        interval = float(self.get_argument("interval", "0.01"))
        try:
            for i in range(n):
                self.write(_sse(f"{i} {time.monotonic_ns()}"))
                await self.flush()
                await asyncio.sleep(interval)
            self.write(_sse(DONE))
            await self.flush()
        except StreamClosedError:
            return


class TailHandler(SSEBase):
    """``/tail?n=N&interval_ms=I``: JSON events with ``id: k`` and the send time."""

    async def get(self) -> None:
        n = self.int_arg("n", 200)
        interval = float(self.get_argument("interval_ms", "5")) / 1000
        try:
            for k in range(n):
                data = json.dumps({"k": k, "t": time.monotonic_ns()})
                self.write(f"id: {k}\ndata: {data}\n\n".encode())
                await self.flush()
                await asyncio.sleep(interval)
            self.write(_sse(DONE))
            await self.flush()
        except StreamClosedError:
            return


class Hub:
    def __init__(self) -> None:
        self.subscribers: set[SubscribeHandler] = set()
        self.seq = 0
        self.timer: tornado.ioloop.PeriodicCallback | None = None

    def publish(self) -> None:
        message = _sse(broadcast_data(self.seq))  # encoded once
        self.seq += 1
        for handler in self.subscribers:
            handler.queue.put_nowait(message)

    def start(self, period: float) -> None:
        self.stop()
        self.timer = tornado.ioloop.PeriodicCallback(self.publish, period * 1000)
        self.timer.start()

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.stop()
            self.timer = None


HUB = Hub()


class SubscribeHandler(SSEBase):
    queue: asyncio.Queue[bytes | None]

    async def get(self) -> None:
        self.queue = asyncio.Queue()
        HUB.subscribers.add(self)
        try:
            await self.flush()  # send the headers now
            while True:
                message = await self.queue.get()
                if message is None:
                    break
                self.write(message)
                await self.flush()
        except StreamClosedError:
            pass
        finally:
            HUB.subscribers.discard(self)

    def on_connection_close(self) -> None:
        HUB.subscribers.discard(self)
        self.queue.put_nowait(None)


class PublisherHandler(tornado.web.RequestHandler):
    def post(self) -> None:
        HUB.start(parse_period(self.get_argument("period", None)))
        self.finish({"publishing": True})

    def delete(self) -> None:
        HUB.stop()
        self.finish({"publishing": False})


class StatsHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(stats("tornado", len(HUB.subscribers), HUB.seq))


def make_app() -> tornado.web.Application:
    return tornado.web.Application([
        (r"/stream", StreamHandler),
        (r"/paced", PacedHandler),
        (r"/tail", TailHandler),
        (r"/subscribe", SubscribeHandler),
        (r"/publisher", PublisherHandler),
        (r"/stats", StatsHandler),
    ])


async def serve(host: str, port: int) -> None:
    server = make_app().listen(port, host)
    print(f"READY http://{host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()


def main(argv: list[str] | None = None) -> None:
    host, port = cli_port(argv)
    raise_nofile()
    asyncio.run(serve(host, port))


if __name__ == "__main__":
    main()
