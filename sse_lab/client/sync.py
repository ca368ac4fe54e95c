"""The measuring clients from synchronous code (scripts, notebook cells that do not ``await``).

A notebook cell already runs inside an event loop, so ``asyncio.run`` cannot
be called there; :func:`run_sync` then runs the coroutine on a fresh loop in
a helper thread and waits for it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sse_lab.client.sse import fetch_blocking, record
from sse_lab.recording import Recording

__all__ = ["fetch_blocking_sync", "record_sync", "run_sync"]

T = TypeVar("T")


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code.

    Inside a running event loop (a notebook cell) it runs on a fresh loop in
    a helper thread, so it never tries to re-enter the busy loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())  # type: ignore[arg-type]
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(factory())  # type: ignore[arg-type]
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=worker, name="sse_lab-sync-client", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def record_sync(url: str, **options: Any) -> Recording:
    """:func:`~sse_lab.client.record` for synchronous code (scripts, blocking notebook cells)."""
    return run_sync(lambda: record(url, **options))


def fetch_blocking_sync(url: str, **options: Any) -> Recording:
    """:func:`~sse_lab.client.fetch_blocking` for synchronous code."""
    return run_sync(lambda: fetch_blocking(url, **options))
