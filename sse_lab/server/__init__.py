"""The lab's Tornado SSE server (layer 2: tornado only, never imports the client).

Public API: :func:`start_server` gives a running :class:`LabServer` (configured
by a :class:`ServerConfig`); subclass :class:`SSEHandler` for a new stream and
mount it with ``server.add_handler``; handlers reach the server's
:class:`ServerContext` as ``self.context``. See ``docs/architecture.md`` for the
modules behind it.
"""

from sse_lab.server.app import LabServer, make_app, running_servers, start_server
from sse_lab.server.config import ServerConfig
from sse_lab.server.context import ServerContext, process_rss
from sse_lab.server.handler import ContextHandler, SSEHandler
from sse_lab.server.routes.chat import ChatHandler

__all__ = [
    "ChatHandler",
    "ContextHandler",
    "LabServer",
    "ServerConfig",
    "ServerContext",
    "SSEHandler",
    "make_app",
    "process_rss",
    "running_servers",
    "start_server",
]
