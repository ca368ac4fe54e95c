"""Checkers for notebook 06's exercises (production SSE).

* :func:`check_backoff` -- the learner's ``backoff(attempt)``: capped
  exponential backoff with full jitter, checked statistically (thousands of
  draws: bounds, mean, spread, growth, the cap).
* :func:`check_broadcast` -- the learner's ``broadcast(clients, message)``,
  the source article's ``clients.forEach(client.write)`` done right: correct
  framing of multi-line messages, and clients that fail are removed.

The learner's code runs in a helper thread with a time limit: code that
raises, hangs or returns junk gets a NOT YET verdict, never an exception.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

from sse_lab.exercises.result import CheckResult, result
from sse_lab.exercises.sandbox import LONG_TIME_LIMIT, call_limited, describe_error, is_number
from sse_lab.exercises.sandbox import Timeout as _Timeout
from sse_lab.protocol import encode_event

__all__ = ["check_backoff", "check_broadcast"]

#: Seconds the learner's code may take for one check.
TIME_LIMIT = LONG_TIME_LIMIT


def _limited(fn: Callable[[], Any], timeout: float = TIME_LIMIT) -> Any:
    return call_limited(fn, timeout=timeout)


def check_backoff(
    backoff: Callable[[int], float], *, base: float = 0.25, cap: float = 5.0, draws: int = 2000
) -> CheckResult:
    """Check ``backoff(attempt)``: uniform in ``[0, min(cap, base * 2**attempt)]``.

    Draws ``backoff(k)`` many times for attempts 0 to 14 and 40, and checks
    every value is a number within the ceiling, that the values are spread
    like full jitter (mean near half the ceiling, standard deviation near
    ceiling / sqrt(12)), that the ceiling doubles per attempt, and that it
    stops growing at ``cap``.
    """
    exercise = "backoff(attempt): capped exponential backoff with full jitter"
    if not callable(backoff):
        return result(exercise, ["Pass your function itself: check_backoff(backoff)."])
    attempts = [*range(15), 40]
    n = max(200, int(draws))

    def sample() -> dict[int, list[Any]]:
        return {k: [backoff(k) for _ in range(n)] for k in attempts}

    try:
        values = _limited(sample)
    except _Timeout:
        return result(exercise, [f"backoff() took longer than {TIME_LIMIT:g} s for "
                                 f"{n * len(attempts)} calls: does it sleep or loop?"])
    except Exception as exc:
        return result(exercise, [f"backoff() raised {describe_error(exc)}."])

    problems: list[str] = []
    notes: list[str] = []
    for k in attempts:
        vs = values[k]
        junk = next((v for v in vs if not is_number(v)), "ok")
        if junk != "ok":
            problems.append(
                f"backoff({k}) returned {junk!r}: return a number of seconds, such as 0.37."
            )
            return result(exercise, problems)
    ceiling = {k: min(cap, base * 2.0**k) for k in attempts}

    spreads = {k: statistics.pstdev(values[k]) for k in attempts}
    means = {k: statistics.fmean(values[k]) for k in attempts}
    if all(s == 0 for s in spreads.values()):
        problems.append(
            "Every call with the same attempt returns the same delay: no jitter. Then all "
            "clients that lost the server come back in the same instant (the thundering "
            "herd). Draw the delay at random: random.uniform(0, ceiling)."
        )
    for k in attempts:
        lo, hi = min(values[k]), max(values[k])
        if lo < 0:
            problems.append(f"backoff({k}) returned {lo:.3f}: a delay can't be negative.")
            break
        if hi > ceiling[k] * (1 + 1e-9):
            if k >= 5 and hi > cap:
                problems.append(
                    f"backoff({k}) returned {hi:.2f} s, above the cap of {cap:g} s: "
                    f"take min(cap, base * 2**attempt) before drawing the random delay."
                )
            else:
                problems.append(
                    f"backoff({k}) returned {hi:.3f} s, above its ceiling "
                    f"min({cap:g}, {base:g} * 2**{k}) = {ceiling[k]:.3f} s."
                )
            break
    if problems:
        return result(exercise, problems)

    for k in attempts:
        c = ceiling[k]
        mean, sd = means[k], spreads[k]
        if not (0.4 * c <= mean <= 0.6 * c) or not (0.2 * c <= sd <= 0.38 * c):
            problems.append(
                f"For attempt {k} the delays average {mean:.3f} s with a spread of {sd:.3f} s; "
                f"full jitter (uniform between 0 and {c:.3f} s) averages {c / 2:.3f} s with a "
                f"spread of {c / math.sqrt(12):.3f} s. Draw uniformly over the whole range, "
                "not just near the ceiling."
            )
            break
    if not problems:
        ratio = means[3] / means[2] if means[2] else float("inf")
        if not 1.6 <= ratio <= 2.5:
            problems.append(
                f"The delays should double with each attempt (until the cap); attempt 3 averages "
                f"{ratio:.2f} times attempt 2."
            )
    if not problems:
        top = max(values[40])
        notes.append(
            f"attempt 0 averages {means[0] * 1000:.0f} ms, attempt 4 {means[4]:.2f} s; "
            f"from attempt {math.ceil(math.log2(cap / base))} on the ceiling stays at {cap:g} s "
            f"(largest draw at attempt 40: {top:.2f} s)."
        )
    return result(exercise, problems, notes)


# -- exercise 2: broadcast that removes dead clients ----------------------------------------


class _Client:
    """A fake connection: collects what is written, or fails like a closed socket."""

    def __init__(self, name: str, dead: bool = False) -> None:
        self.name = name
        self.dead = dead
        self.received: list[bytes] = []

    def write(self, data: bytes | str) -> None:
        if self.dead:
            raise BrokenPipeError(f"{self.name} has gone away")
        self.received.append(data.encode("utf-8") if isinstance(data, str) else bytes(data))

    def __repr__(self) -> str:
        return f"<client {self.name}{' (gone)' if self.dead else ''}>"


def check_broadcast(broadcast: Callable[[set[Any], str], Any]) -> CheckResult:
    """Check ``broadcast(clients, message)``: frame once, write to all, drop the failures.

    ``clients`` is a ``set`` of connections with a ``write(bytes)`` method;
    a write to a connection that has gone away raises (``BrokenPipeError``).
    The function must send every live client exactly the SSE bytes of
    ``message`` (as :func:`sse_lab.protocol.encode_event` makes them: one
    ``data:`` line per line of the message), remove the failed clients from
    the set, and return how many clients it reached.
    """
    exercise = "broadcast(clients, message): one event to every subscriber"
    if not callable(broadcast):
        return result(exercise, ["Pass your function itself: check_broadcast(broadcast)."])
    problems: list[str] = []
    notes: list[str] = []

    cases = [
        ("three live clients", "hello", ["a", "b", "c"], []),
        ("a two-line message", "line 1\nline 2", ["a", "b"], []),
        ("one client that has gone away", "tick", ["a", "b", "c"], ["b"]),
        ("two clients that have gone away", "你好", ["a", "b", "c", "d"], ["a", "d"]),
        ("no clients at all", "anyone?", [], []),
    ]
    for name, message, names, dead in cases:
        clients = {_Client(n, n in dead) for n in names}
        live = {c for c in clients if not c.dead}
        before = set(clients)
        try:
            returned = _limited(lambda clients=clients, message=message:
                                broadcast(clients, message))
        except _Timeout:
            problems.append(f"{name}: broadcast() did not return within {TIME_LIMIT:g} s.")
            continue
        except RuntimeError as exc:
            if "changed size during iteration" in str(exc):
                problems.append(
                    f"{name}: {describe_error(exc)}. You removed a client from the set "
                    "while looping over it; loop over a copy (for client in list(clients)) "
                    "or collect the failed ones and remove them after the loop."
                )
            else:
                problems.append(f"{name}: broadcast() raised {describe_error(exc)}.")
            continue
        except Exception as exc:
            if dead and isinstance(exc, OSError):
                problems.append(
                    f"{name}: the {type(exc).__name__} of a closed connection escaped "
                    "broadcast(); catch it, like the source's try/catch, and remove that client."
                )
            else:
                problems.append(f"{name}: broadcast() raised {describe_error(exc)}.")
            continue
        expected = encode_event(message)
        for c in sorted(live, key=lambda c: c.name):
            got = b"".join(c.received)
            if got != expected:
                if got == f"data: {message}\n\n".encode() and "\n" in message:
                    problems.append(
                        f"{name}: sent {got!r}. A line break inside the message ends the "
                        "data: line early, and the second line is read as a field called "
                        "'line 2': the event arrives as just 'line 1'. Write one data: line "
                        "per line of the message (or use sse_lab.protocol.encode_event)."
                    )
                elif not got:
                    problems.append(
                        f"{name}: client {c.name} received nothing; write the event's bytes "
                        f"({expected!r}) to every client with client.write(...)."
                    )
                else:
                    problems.append(f"{name}: client {c.name} received {got!r}, "
                                    f"expected {expected!r}.")
                break
        stayed = clients & {c for c in before if c.dead}
        if stayed:
            problems.append(
                f"{name}: {sorted(c.name for c in stayed)} failed but are still in the set: "
                "remove a client whose write raises (clients.discard(client))."
            )
        if clients - before:
            problems.append(f"{name}: the set gained members it did not have.")
        gone_live = live - clients
        if gone_live:
            problems.append(
                f"{name}: live clients {sorted(c.name for c in gone_live)} were removed; "
                "only drop the ones whose write failed."
            )
        if returned != len(live):
            problems.append(
                f"{name}: returned {returned!r}, expected {len(live)} (the clients reached)."
            )
        if problems:
            break
    if not problems:
        notes.append(
            "Every live client got the exact bytes, multi-line messages stayed one event, "
            "and failed clients left the set."
        )
    return result(exercise, problems, notes)
