"""Measuring clients (layer 2: asyncio only, never imports the server).

* :mod:`~sse_lab.client.connection` -- one HTTP/1.1 connection over
  :mod:`sse_lab.http1`, every byte counted.
* :mod:`~sse_lab.client.sse` -- :class:`SSEClient`, :func:`record`,
  :func:`fetch_blocking`.
* :mod:`~sse_lab.client.transports` -- WebSocket, short and long polling.
* :mod:`~sse_lab.client.sync` -- the same from code that does not ``await``.
"""

from sse_lab.client.connection import Connection, HTTPError, Response, open_request
from sse_lab.client.sse import STREAM_HEADERS, SSEClient, backoff_delay, fetch_blocking, record
from sse_lab.client.sync import fetch_blocking_sync, record_sync, run_sync

__all__ = [
    "STREAM_HEADERS",
    "Connection",
    "HTTPError",
    "Response",
    "SSEClient",
    "backoff_delay",
    "fetch_blocking",
    "fetch_blocking_sync",
    "open_request",
    "record",
    "record_sync",
    "run_sync",
]
