"""sse_lab: streaming AI chat output with Server-Sent Events, explained live.

The main names are importable from the top::

    from sse_lab import start_server, record_sync, summarize

    server = start_server()
    rec = record_sync(server.url + "/chat?prompt=hello")
    print(rec.text, summarize(rec).ttft)
    server.stop()

Each name is imported on first use (PEP 562), so ``import sse_lab`` loads
neither Tornado nor matplotlib; the layers behind these names are described in
``docs/architecture.md``.
"""

from __future__ import annotations

import importlib

# Not ``from typing import TYPE_CHECKING``: importing typing alone costs ~3 ms, more than
# the rest of this module. Type checkers read this module-level constant the same way.
TYPE_CHECKING = False

__version__ = "0.1.0"

#: Public name -> the module that defines it (its layer's public home).
_EXPORTS: dict[str, str] = {
    # L0, the wire format (sans-I/O)
    "Event": "sse_lab.protocol",
    "EventParser": "sse_lab.protocol",
    "encode_event": "sse_lab.protocol",
    "DONE": "sse_lab.protocol",
    # L1, pure
    "Arrival": "sse_lab.recording",
    "Recording": "sse_lab.recording",
    "StreamMetrics": "sse_lab.metrics",
    "summarize": "sse_lab.metrics",
    "percentile": "sse_lab.metrics",
    "SimulatedLLM": "sse_lab.model",
    "Smoother": "sse_lab.smoothing",
    "smooth_schedule": "sse_lab.smoothing",
    "check_parser": "sse_lab.conformance",
    "set_language": "sse_lab.i18n",
    "get_language": "sse_lab.i18n",
    # L2, the server (Tornado) and the measuring client (asyncio)
    "start_server": "sse_lab.server",
    "LabServer": "sse_lab.server",
    "ServerConfig": "sse_lab.server",
    "SSEHandler": "sse_lab.server",
    "ServerContext": "sse_lab.server",
    "record": "sse_lab.client",
    "record_sync": "sse_lab.client",
    "SSEClient": "sse_lab.client",
    "HTTPError": "sse_lab.client",
}

# A literal list, so that linters and IDEs read it (tests check it matches _EXPORTS).
__all__ = [
    "Arrival",
    "DONE",
    "Event",
    "EventParser",
    "HTTPError",
    "LabServer",
    "Recording",
    "SSEClient",
    "SSEHandler",
    "ServerConfig",
    "ServerContext",
    "SimulatedLLM",
    "Smoother",
    "StreamMetrics",
    "check_parser",
    "encode_event",
    "get_language",
    "percentile",
    "record",
    "record_sync",
    "set_language",
    "smooth_schedule",
    "start_server",
    "summarize",
]

if TYPE_CHECKING:  # for type checkers and IDEs only; nothing is imported at run time
    from sse_lab.client import HTTPError, SSEClient, record, record_sync
    from sse_lab.conformance import check_parser
    from sse_lab.i18n import get_language, set_language
    from sse_lab.metrics import StreamMetrics, percentile, summarize
    from sse_lab.model import SimulatedLLM
    from sse_lab.protocol import DONE, Event, EventParser, encode_event
    from sse_lab.recording import Arrival, Recording
    from sse_lab.server import LabServer, ServerConfig, ServerContext, SSEHandler, start_server
    from sse_lab.smoothing import Smoother, smooth_schedule


def __getattr__(name: str) -> object:
    """Import ``sse_lab.<name>`` from its module on first access, then cache it."""
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'sse_lab' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
