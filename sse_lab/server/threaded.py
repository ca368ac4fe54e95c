"""A Tornado HTTP server on its own asyncio loop in a daemon thread.

Why a thread: a Tornado app ``listen()``-ed in a notebook cell shares the
kernel's event loop, so a *blocking* call in a cell (``urllib``, ``time.sleep``,
a synchronous client) would freeze the very server it is waiting for. A server
that owns its loop in a daemon thread serves awaiting and blocking callers
alike. The lab server and the buffering proxy are both built on this.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import tornado.httpserver
import tornado.netutil
import tornado.web

__all__ = ["ThreadedServer"]

T = TypeVar("T")


class ThreadedServer:
    """Base class: bind in the caller's thread, serve in a daemon thread.

    Subclasses implement :meth:`make_application` (run on the server loop) and
    may extend :meth:`on_started` and :meth:`on_shutdown`. Works as a context
    manager; :meth:`stop` is prompt and safe to call twice.
    """

    thread_name = "sse_lab-server"

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: tornado.httpserver.HTTPServer | None = None
        self._app: tornado.web.Application | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopped = False

    # -- hooks ---------------------------------------------------------------
    def make_application(self) -> tornado.web.Application:
        """The Tornado application to serve (called on the server's loop)."""
        raise NotImplementedError

    def on_started(self) -> None:
        """Called on the server's loop once it listens (timers go here)."""

    async def on_shutdown(self) -> None:
        """Called on the server's loop before connections are closed."""

    def make_http_server(self, app: tornado.web.Application) -> tornado.httpserver.HTTPServer:
        """The HTTP server in front of ``app`` (called on the server's loop)."""
        return tornado.httpserver.HTTPServer(app)

    # -- identity ------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:1314``; append paths to it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopped

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The server's own event loop (for advanced use)."""
        assert self._loop is not None
        return self._loop

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        """Bind, start the thread, and return once the server listens.

        Binding happens here, in the caller's thread, so "address already in
        use" is raised to the caller instead of dying silently in the thread.
        """
        # A deep accept queue: a classroom load test opens hundreds of
        # connections at once, and the default 128 drops some into a 1 s retry.
        sockets = tornado.netutil.bind_sockets(self.port, self.host, backlog=1024)
        self.port = sockets[0].getsockname()[1]
        self._thread = threading.Thread(
            target=self._serve, args=(sockets,), name=f"{self.thread_name}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error

    def _serve(self, sockets: list[Any]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._setup(sockets))
        except BaseException as exc:  # handed to the caller of start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _setup(self, sockets: list[Any]) -> None:
        self._app = self.make_application()
        self._http = self.make_http_server(self._app)
        self._http.add_sockets(sockets)
        self.on_started()

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Run ``fn()`` on the server's loop and return its result."""
        if self._loop is None or not self.running:
            raise RuntimeError("the server is not running")
        if threading.current_thread() is self._thread:
            return fn()
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                result.set_result(fn())
            except BaseException as exc:
                result.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return result.result(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection, cancel every task and end the thread."""
        if self._stopped:
            return
        self._stopped = True
        loop = self._loop
        if loop is None or self._thread is None or not self._thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        try:
            fut.result(timeout)
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout)

    async def _shutdown(self) -> None:
        assert self._http is not None
        self._http.stop()  # no new connections
        await self.on_shutdown()
        try:
            await asyncio.wait_for(self._http.close_all_connections(), 2.0)
        except asyncio.TimeoutError:  # pragma: no cover - a stuck socket
            pass

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {self.url} {state}>"
