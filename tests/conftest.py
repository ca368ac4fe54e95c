"""Shared fixtures and helpers: a real lab server on 127.0.0.1 (no mocks of Tornado).

Tests wait for conditions, never for a fixed time: ``wait_until`` polls a
predicate until it holds or a deadline passes. The deadline is generous on
purpose (the suite must pass on a loaded classroom machine); it costs nothing
when the condition is met at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest

from sse_lab.server import LabServer, ServerConfig, start_server

#: Default deadline of the waits below, in seconds.
DEADLINE = 10.0


@pytest.fixture(scope="module")
def server() -> Iterator[LabServer]:
    srv = start_server(config=ServerConfig(heartbeat=5.0, send_timeout=2.0, retry_ms=100))
    yield srv
    srv.stop()


def wait_until(
    predicate: Callable[[], object], timeout: float = DEADLINE, step: float = 0.01
) -> float:
    """Poll ``predicate`` every ``step`` s until true; return the seconds it took.

    Fails the test with an ``AssertionError`` when ``timeout`` s pass first.
    """
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)
    return time.monotonic() - t0


async def wait_until_async(
    predicate: Callable[[], object], timeout: float = DEADLINE, step: float = 0.01
) -> float:
    """:func:`wait_until` for coroutines: yields to the event loop between polls."""
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(step)
    return time.monotonic() - t0
