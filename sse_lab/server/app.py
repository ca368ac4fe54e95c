"""The lab's SSE server: Tornado on its own asyncio loop in a daemon thread.

The server owns its loop in a daemon thread (see :mod:`sse_lab.server.threaded` for
why), so notebook cells may block or await as they like. Its endpoints are the
route families of :mod:`sse_lab.server.routes`:

* chat (:mod:`~sse_lab.server.routes.chat`): ``/``, ``/sse``, ``/chat``,
  ``/complete``, ``/stats``;
* transports (:mod:`~sse_lab.server.routes.transports`): ``/ws``, ``/poll``,
  ``/longpoll``;
* broadcast (:mod:`~sse_lab.server.routes.broadcast`): ``/events``;
* openai (:mod:`~sse_lab.server.routes.openai`): ``/v1/chat/completions``,
  ``/v1/models``;
* only with ``ServerConfig(teaching_routes=True)``, breakers
  (:mod:`~sse_lab.server.routes.breakers`): ``/chat-noflush``, ``/chat-gzip``.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

import tornado.httpserver
import tornado.ioloop
import tornado.web

from sse_lab.server.config import ServerConfig
from sse_lab.server.context import ServerContext
from sse_lab.server.guard import GuardedApplication, GuardedHTTPServer, raise_nofile_limit
from sse_lab.server.routes import all_routes
from sse_lab.server.stores import broadcast as broadcast_relay
from sse_lab.server.threaded import ThreadedServer
from sse_lab.server.tornado_internals import handler_names, route_first

__all__ = ["LabServer", "make_app", "start_server", "running_servers"]


class LabServer(ThreadedServer):
    """A running lab server. Use :func:`start_server` to get one.

    Works as a context manager (stops on exit). All methods are safe to call
    from any thread, including the notebook's.
    """

    thread_name = "sse_lab-server"

    def __init__(self, host: str, port: int, config: ServerConfig) -> None:
        super().__init__(host, port)
        self.config = config
        #: The server's shared state (touch it on the server's loop: ``server.call``).
        self.context = ServerContext(config)

    def make_application(self) -> tornado.web.Application:
        return make_app(self.context)

    def make_http_server(self, app: tornado.web.Application) -> tornado.httpserver.HTTPServer:
        # Connection and body limits, header/body timeouts, and an accept loop
        # that pauses when out of file descriptors (sse_lab.server.guard).
        return GuardedHTTPServer(app, guard=self.context.guard)

    def start(self) -> None:
        """Raise the soft descriptor limit to the hard one, bind, and serve."""
        raise_nofile_limit()
        super().start()

    def on_started(self) -> None:
        cfg = self.config
        limits = [cfg.heartbeat, cfg.send_timeout] + (
            [cfg.max_lifetime] if cfg.max_lifetime is not None else []
        )
        # One timer for all connections, however many: a quarter of the
        # shortest limit keeps each within 25% of its nominal time.
        period = max(0.05, min(1.0, *(x / 4 for x in limits)))
        self._sweeper = tornado.ioloop.PeriodicCallback(self.context.sweep, period * 1000)
        self._sweeper.start()
        # With a Redis store, broadcasts published to Redis reach this hub too.
        store = cfg.answers.store
        self._relay = (broadcast_relay.start_relay(store, self.context.hub)
                       if store and store.startswith(("redis", "unix")) else None)

    async def on_shutdown(self) -> None:
        self._sweeper.stop()
        if self._relay is not None:
            self._relay.cancel()
        for handler in list(self.context.open):
            handler.abort("server shutting down")
        for task in list(self.context.tasks):
            task.cancel()
        await self.context.answers.close()  # generators and the store's connections

    def stats(self) -> dict[str, Any]:
        """The same counters as ``GET /stats``."""
        return self.call(self.context.snapshot)

    def broadcast(
        self,
        data: str,
        *,
        event: str | None = None,
        id: str | None = None,  # noqa: A002 - the SSE field name
    ) -> int:
        """Send one event to every ``GET /events`` subscriber; return how many it reached.

        The event is encoded once and written to all subscribers without
        waiting for any of them; a subscriber too far behind is dropped
        (see :class:`sse_lab.server.hub.Hub`). Without ``id`` the hub numbers
        events itself, so a reconnecting ``EventSource`` gets what it missed.
        """
        hub = self.context.hub
        return self.call(lambda: hub.publish(data, event=event, id=id))

    @property
    def subscribers(self) -> int:
        """How many ``GET /events`` streams are subscribed right now."""
        hub = self.context.hub
        return self.call(lambda: len(hub))

    def add_handler(self, pattern: str, handler: type[tornado.web.RequestHandler]) -> str:
        """Route ``pattern`` to ``handler`` on the running server; return its URL.

        A handler whose ``initialize`` takes ``context`` (every
        :class:`~sse_lab.server.SSEHandler`) gets the server's
        :class:`~sse_lab.server.ServerContext` as ``self.context``. Adding a
        pattern again replaces the earlier handler, so re-running a notebook
        cell with a fixed class takes effect.
        """
        app = self._app
        assert app is not None
        takes_context = "context" in inspect.signature(handler.initialize).parameters
        kwargs = {"context": self.context} if takes_context else {}
        self.call(lambda: route_first(app, pattern, handler, kwargs))
        return self.url + pattern

    def handlers_for(self, path: str) -> list[str]:
        """Names of the handler classes routed for ``path``, the one that serves it first."""
        app = self._app
        if app is None:
            return []
        return self.call(lambda: handler_names(app, path))

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection, cancel every task and end the thread."""
        _REGISTRY.pop((self.host, self.port), None)
        super().stop(timeout)


def make_app(context: ServerContext) -> tornado.web.Application:
    """The Tornado application with every route family mounted for ``context``.

    Request bodies over their endpoint's limit are answered ``413`` before
    they are read (:class:`~sse_lab.server.guard.GuardedApplication`).
    """
    app = GuardedApplication(
        all_routes(context), websocket_max_message_size=context.config.ws_max_message
    )
    app.guard = context.guard
    return app


_REGISTRY: dict[tuple[str, int], LabServer] = {}
_REGISTRY_LOCK = threading.Lock()


def start_server(
    port: int = 0, host: str = "127.0.0.1", config: ServerConfig | None = None
) -> LabServer:
    """Start a lab server in a background thread, or return the running one.

    Args:
        port: TCP port; ``0`` picks a free one. Asking again for a port this
            process already serves returns that server (re-running a notebook
            cell never fails with "address already in use").
        host: Interface to bind; the loopback default keeps the lab private.
        config: Heartbeat, send timeout, CORS origins, model...

    Raises:
        OSError: The port is taken by another process (raised here, in the
            caller, not lost in the server thread).
    """
    with _REGISTRY_LOCK:
        if port:
            existing = _REGISTRY.get((host, port))
            if existing is not None and existing.running:
                return existing
        server = LabServer(host, port, config or ServerConfig())
        server.start()
        _REGISTRY[(host, server.port)] = server
        return server


def running_servers() -> list[LabServer]:
    """Every lab server this process is running."""
    return [s for s in _REGISTRY.values() if s.running]
