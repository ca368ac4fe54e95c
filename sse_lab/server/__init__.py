"""The lab's Tornado SSE server (layer 2: tornado only, never imports the client)."""

from sse_lab.server.app import (
    LabServer,
    ServerConfig,
    SSEHandler,
    process_rss,
    running_servers,
    start_server,
)

__all__ = [
    "LabServer",
    "ServerConfig",
    "SSEHandler",
    "process_rss",
    "running_servers",
    "start_server",
]
