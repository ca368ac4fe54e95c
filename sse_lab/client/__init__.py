"""Measuring clients (layer 2: asyncio only, never imports the server)."""

from sse_lab.client.sse import (
    HTTPError,
    SSEClient,
    backoff_delay,
    fetch_blocking,
    fetch_blocking_sync,
    record,
    record_sync,
    run_sync,
)

__all__ = [
    "HTTPError",
    "SSEClient",
    "backoff_delay",
    "fetch_blocking",
    "fetch_blocking_sync",
    "record",
    "record_sync",
    "run_sync",
]
