"""Shared fixtures: a real lab server on 127.0.0.1 (no mocks of Tornado)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from sse_lab.server import LabServer, ServerConfig, start_server


@pytest.fixture(scope="module")
def server() -> Iterator[LabServer]:
    srv = start_server(config=ServerConfig(heartbeat=5.0, send_timeout=2.0, retry_ms=100))
    yield srv
    srv.stop()


def wait_until(predicate: Callable[[], bool], timeout: float = 3.0, step: float = 0.01) -> float:
    """Poll ``predicate`` until true; return the seconds it took (fail on timeout)."""
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)
    return time.monotonic() - t0
