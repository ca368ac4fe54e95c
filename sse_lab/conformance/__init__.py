"""The WHATWG spec cases for SSE parsing and a checker that grades any parser."""

from sse_lab.conformance.adapters import HttpxSSEAdapter, SSEClientPyAdapter
from sse_lab.conformance.cases import CASES, Case, translated_rule
from sse_lab.conformance.checker import MODES, Failure, as_event, check_parser

__all__ = [
    "CASES",
    "Case",
    "MODES",
    "Failure",
    "as_event",
    "check_parser",
    "translated_rule",
    "HttpxSSEAdapter",
    "SSEClientPyAdapter",
]
