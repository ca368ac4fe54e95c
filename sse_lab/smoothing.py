"""Smoothing: turn bursty token arrival into an even reveal.

Some model servers (vLLM and other batching servers, or a proxy that
buffers) deliver tokens in bursts: nothing for a few hundred milliseconds,
then five tokens at once. Shown as they arrive, the text jumps. The Vercel AI
SDK's ``smoothStream`` fixes that on the client side: it holds tokens in a
small buffer and releases them at a steady pace. This module does the same,
with a pace that adapts to the stream:

* the **pace** is the stream's own recent arrival rate (seconds per token,
  or per character with ``per="char"``), measured over the last ``window``
  arrivals, so a fast model is revealed fast and a slow one slowly;
* a token is **never shown before it arrived**;
* the **extra delay is bounded**: no token waits more than ``max_lag``
  seconds after its arrival, and when the backlog could not be shown at the
  steady pace before the newest token's bound, the pace speeds up just
  enough to catch up;
* the first token is shown the moment it arrives (smoothing never costs
  time to first token).

Every decision uses only what was known at the time it is made (the tokens
that had arrived by then), so the pure function :func:`smooth_schedule` and
the live :class:`SmoothReveal` give the same schedule for the same arrivals.

* :func:`smooth_schedule` -- arrival times in, display times out (pure).
* :class:`Smoother` -- the same decisions, one token at a time.
* :class:`SmoothReveal` -- the live version: push tokens as they arrive,
  it calls you back when each one should appear.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from typing import Literal

__all__ = [
    "DEFAULT_MAX_LAG",
    "DEFAULT_WINDOW",
    "SmoothReveal",
    "Smoother",
    "gap_spread",
    "smooth_schedule",
]

#: Default bound on the extra delay a token may get (seconds).
DEFAULT_MAX_LAG = 0.5
#: Default number of recent arrivals the pace is measured over.
DEFAULT_WINDOW = 12
#: Arrivals closer than this (seconds) count as one instant (one burst): over
#: a real socket a burst's tokens arrive a fraction of a millisecond apart.
SAME_INSTANT = 0.003

Per = Literal["token", "char"]


def _weight(token: str | None, per: Per) -> float:
    if per == "token" or token is None:
        return 1.0
    return float(max(1, len(token)))


class Smoother:
    """The smoothing decisions, one token at a time.

    Feed arrivals with :meth:`arrive` (non-decreasing times), then ask
    :meth:`next_time` when the next token not yet shown should appear and
    confirm with :meth:`shown`. :func:`smooth_schedule` is this loop run on a
    whole list; :class:`SmoothReveal` runs it against the clock.

    Args:
        interval: A fixed pace (seconds per token, or per character with
            ``per="char"``), like ``smoothStream``'s ``delayInMs``. ``None``
            (the default) measures the pace from the stream itself.
        max_lag: Most extra delay any token may get, in seconds; ``None``
            for no bound (a fixed pace may then fall behind without limit).
        per: ``"token"`` paces whole tokens; ``"char"`` gives a long token
            proportionally more time than a short one.
        window: How many recent arrivals the measured pace is based on.
        catch_up: Speed up when the backlog could not be shown at the steady
            pace before the newest token's lag bound (only with a ``max_lag``).
    """

    def __init__(
        self,
        *,
        interval: float | None = None,
        max_lag: float | None = DEFAULT_MAX_LAG,
        per: Per = "token",
        window: int = DEFAULT_WINDOW,
        catch_up: bool = True,
    ) -> None:
        if interval is not None and not (interval >= 0 and math.isfinite(interval)):
            raise ValueError("interval must be a finite number >= 0 (or None)")
        if max_lag is not None and not (max_lag >= 0 and math.isfinite(max_lag)):
            raise ValueError("max_lag must be a finite number >= 0 (or None)")
        if per not in ("token", "char"):
            raise ValueError("per must be 'token' or 'char'")
        if window < 2:
            raise ValueError("window must be at least 2")
        self.interval = interval
        self.max_lag = max_lag
        self.per: Per = per
        self.window = int(window)
        self.catch_up = catch_up
        self.arrivals: list[float] = []
        self.tokens: list[str | None] = []
        self.weights: list[float] = []
        self.display: list[float] = []

    # -- input -------------------------------------------------------------------
    def arrive(self, t: float, token: str | None = None) -> None:
        """Record that a token arrived at time ``t`` (never earlier than the last)."""
        if not math.isfinite(t):
            raise ValueError("arrival times must be finite")
        if self.arrivals and t < self.arrivals[-1]:
            raise ValueError("arrival times must not go backwards")
        self.arrivals.append(float(t))
        self.tokens.append(token)
        self.weights.append(_weight(token, self.per))

    @property
    def pending(self) -> int:
        """Tokens that arrived but have not been shown yet."""
        return len(self.arrivals) - len(self.display)

    # -- decisions ---------------------------------------------------------------
    def pace(self, now: float) -> float | None:
        """Seconds per weight unit, measured from the arrivals known at ``now``.

        Over the last ``window`` known arrivals (reaching further back if
        they all share one instant): the time from the first of them to the
        last, divided by the weight that arrived *after* the first instant (a
        burst's tokens pay for the silence before it; arrivals less than
        :data:`SAME_INSTANT` apart count as one instant). ``None`` while
        fewer than two distinct arrival instants are known.
        """
        if self.interval is not None:
            return self.interval
        known = self._known(now)
        if known < 2:
            return None
        lo = max(0, known - self.window)
        t_last = self.arrivals[known - 1]
        if self.arrivals[lo] >= t_last - SAME_INSTANT:
            # One big burst fills the window: measure from the instant before it.
            lo = self._known_before(t_last - SAME_INSTANT) - 1
            if lo < 0:
                return None
        t_first = self.arrivals[lo]
        after = sum(w for t, w in zip(self.arrivals[lo:known], self.weights[lo:known], strict=True)
                    if t > t_first + SAME_INSTANT)
        return (t_last - t_first) / after if after > 0 else None

    def next_time(self) -> float | None:
        """When the next token not shown yet should appear; ``None`` if none is waiting."""
        i = len(self.display)
        if i >= len(self.arrivals):
            return None
        arrival = self.arrivals[i]
        if i == 0:
            return arrival  # the first token is never held back
        prev = self.display[-1]
        now = max(prev, arrival)  # the moment this decision can be made
        known = self._known(now)
        backlog = sum(self.weights[i:known])
        pace = self.pace(now)
        if pace is None:
            # No rate known yet (everything so far arrived at once): spread
            # what is waiting evenly over half the lag budget.
            end = self.arrivals[known - 1] + (self.max_lag or 0.0) / 2
            gap = max(0.0, end - prev) / max(backlog, 1.0) * self.weights[i]
        else:
            gap = pace * self.weights[i]
            if self.catch_up and self.max_lag is not None:
                # Could the backlog still be shown at this pace before the
                # newest token's lag bound? If not, speed up just enough.
                drain = pace * backlog
                budget = self.arrivals[known - 1] + self.max_lag - prev
                if drain > budget > 0:
                    gap *= budget / drain
        t = max(prev + gap, arrival, prev)
        if self.max_lag is not None:
            t = min(t, arrival + self.max_lag)
        return max(t, prev)

    def shown(self, t: float | None = None) -> float:
        """Record that the next token was shown (at ``t``, default :meth:`next_time`)."""
        if t is None:
            t = self.next_time()
            if t is None:
                raise ValueError("no token is waiting to be shown")
        self.display.append(float(t))
        return float(t)

    def _known_before(self, t: float) -> int:
        """How many arrivals happened strictly before ``t``."""
        lo, hi = 0, len(self.arrivals)
        while lo < hi:  # bisect_left
            mid = (lo + hi) // 2
            if self.arrivals[mid] < t:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _known(self, now: float) -> int:
        """How many arrivals happened at or before ``now`` (arrivals are sorted)."""
        lo, hi = 0, len(self.arrivals)
        while lo < hi:  # bisect_right on the arrival times
            mid = (lo + hi) // 2
            if self.arrivals[mid] <= now:
                lo = mid + 1
            else:
                hi = mid
        return lo


def smooth_schedule(
    arrival_times: Sequence[float],
    tokens: Sequence[str] | None = None,
    *,
    interval: float | None = None,
    max_lag: float | None = DEFAULT_MAX_LAG,
    per: Per = "token",
    window: int = DEFAULT_WINDOW,
    catch_up: bool = True,
) -> list[float]:
    """When to show each token so that bursty arrival reads as an even flow.

    Args:
        arrival_times: When each token arrived (seconds, non-decreasing).
        tokens: The tokens themselves (needed for ``per="char"``).
        interval, max_lag, per, window, catch_up: See :class:`Smoother`.

    Returns:
        One display time per token, same clock as ``arrival_times``; never
        earlier than the token's arrival, never later than arrival +
        ``max_lag``, never decreasing. The first equals the first arrival.

    Raises:
        ValueError: lengths differ, times go backwards or are not finite,
            or an option is out of range.

    With ``interval`` set, ``catch_up=False`` and a ``max_lag``, the rule is
    simply ``d[0] = a[0]``, ``d[i] = min(max(a[i], d[i-1] + interval), a[i] + max_lag)``.
    """
    times = list(arrival_times)
    if tokens is not None and len(tokens) != len(times):
        raise ValueError(f"{len(times)} arrival times but {len(tokens)} tokens")
    sm = Smoother(interval=interval, max_lag=max_lag, per=per, window=window, catch_up=catch_up)
    for k, t in enumerate(times):
        sm.arrive(t, None if tokens is None else tokens[k])
    while sm.pending:
        sm.shown()
    return sm.display


def gap_spread(times: Sequence[float], *, skip_first: bool = True) -> float:
    """Standard deviation of the gaps between consecutive times (seconds).

    ``skip_first`` leaves out the gap before the second token, which holds
    the wait for the first burst rather than the rhythm of the stream.
    """
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    if skip_first:
        gaps = gaps[1:]
    if len(gaps) < 2:
        return 0.0
    mean = sum(gaps) / len(gaps)
    return math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps))


class SmoothReveal:
    """The live smoother: push tokens as they arrive, get them back evenly paced.

    ``reveal(token)`` is called (on the running event loop) when each token
    should appear. Run :meth:`run` as a task; :meth:`push` each arriving
    token (from the same loop); :meth:`close` when the stream has ended:
    :meth:`run` returns once everything pushed has been revealed.
    :meth:`flush` reveals everything still waiting at once (a stop button).

    Times are seconds on ``time.perf_counter()`` since this object was made:
    :attr:`arrival_times` (when :meth:`push` was called) and
    :attr:`display_times` (when ``reveal`` actually ran).

    Args:
        reveal: Called with each token, in order.
        **options: See :class:`Smoother` (``max_lag``, ``interval``...).
    """

    def __init__(self, reveal: Callable[[str], object], **options: object) -> None:
        self.reveal = reveal
        self.smoother = Smoother(**options)  # type: ignore[arg-type]
        self.t0 = time.perf_counter()
        self.display_times: list[float] = []
        self._wake = asyncio.Event()
        self._closed = False

    @property
    def arrival_times(self) -> list[float]:
        return list(self.smoother.arrivals)

    @property
    def tokens(self) -> list[str]:
        return [t or "" for t in self.smoother.tokens]

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def push(self, token: str) -> None:
        """A token arrived now."""
        t = self.now()
        arrivals = self.smoother.arrivals
        if arrivals and t < arrivals[-1]:
            t = arrivals[-1]
        self.smoother.arrive(t, token)
        self._wake.set()

    def close(self) -> None:
        """No more tokens will come; :meth:`run` ends after revealing the rest."""
        self._closed = True
        self._wake.set()

    def flush(self) -> None:
        """Reveal everything that is waiting, now (then :meth:`run` goes on)."""
        while self.smoother.pending:
            self._show(self.now())

    def _show(self, t: float) -> None:
        sm = self.smoother
        token = sm.tokens[len(sm.display)] or ""
        sm.shown(max(t, sm.display[-1] if sm.display else t))
        self.display_times.append(self.now())
        self.reveal(token)

    async def run(self) -> None:
        sm = self.smoother
        while True:
            due = sm.next_time()
            if due is None:
                if self._closed:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = due - self.now()
            if wait > 0:
                shown = len(sm.display)
                await asyncio.sleep(wait)
                if len(sm.display) != shown:  # flush() revealed it meanwhile
                    continue
            # Record the planned time in the smoother (so the next decision is
            # the same as the pure schedule's), the actual one in display_times.
            sm.shown(due)
            self.display_times.append(self.now())
            self.reveal(sm.tokens[len(sm.display) - 1] or "")
