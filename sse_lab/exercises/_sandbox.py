"""Running a learner's code for a checker: in a thread, with a time limit.

A checker must never crash or hang on a wrong answer, so the learner's
function runs in a daemon thread; an exception is handed back to the checker
to explain, and a function that takes too long raises :class:`Timeout`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

#: Seconds the learner's function may take on one input.
TIME_LIMIT = 2.0


class Timeout(Exception):
    """The learner's function did not return within the time limit."""


def call_limited(fn: Callable[..., Any], *args: Any, timeout: float = TIME_LIMIT) -> Any:
    """``fn(*args)`` in a daemon thread; re-raise its error; :class:`Timeout` if too slow."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - reported to the learner
            box["error"] = exc

    worker = threading.Thread(target=run, name="sse_lab-exercise", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise Timeout
    if "error" in box:
        raise box["error"]
    return box.get("value")


def is_number(x: Any) -> bool:
    """A finite int or float (``True`` is not a number here)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def describe_error(exc: BaseException) -> str:
    """``"ValueError: message"``, or just the type when there is no message."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
