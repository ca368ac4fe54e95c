"""A rate cap with an injectable clock, shared by the live widgets.

A widget that redraws on every change would flood the front end (Jupyter's
output channel drops messages past about 1000/s) and, for a chart, spend its
time encoding PNGs. :class:`RateLimiter` says how long to wait before the
next frame; the clock is a parameter so tests check the cap exactly,
without depending on how busy the machine is.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``hz`` grants per second, measured on ``clock``.

    Args:
        hz: Grants per second at most (> 0).
        clock: Seconds, monotonic (default :func:`time.perf_counter`).

    Attributes:
        last: The clock reading of the last grant (``-inf`` before the first).
    """

    def __init__(self, hz: float, *, clock: Callable[[], float] = time.perf_counter) -> None:
        if not hz > 0:
            raise ValueError("hz must be positive")
        self.period = 1.0 / float(hz)
        self.clock = clock
        self.last = float("-inf")

    def delay(self) -> float:
        """Seconds to wait before the next grant is allowed (0 if allowed now)."""
        return max(0.0, self.last + self.period - self.clock())

    def ready(self) -> bool:
        """True if a grant is allowed now."""
        return self.delay() <= 0.0

    def grant(self) -> float:
        """Record a grant now (allowed or not) and return its clock reading."""
        self.last = self.clock()
        return self.last
