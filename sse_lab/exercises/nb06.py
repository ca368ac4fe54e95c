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
from sse_lab.i18n import N_, tr
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
    exercise = tr("backoff(attempt): capped exponential backoff with full jitter")
    if not callable(backoff):
        return result(exercise, [tr("Pass your function itself: check_backoff(backoff).")])
    attempts = [*range(15), 40]
    n = max(200, int(draws))

    def sample() -> dict[int, list[Any]]:
        return {k: [backoff(k) for _ in range(n)] for k in attempts}

    try:
        values = _limited(sample)
    except _Timeout:
        return result(exercise, [tr("backoff() took longer than {TIME_LIMIT:g} s for {calls} "
                                    "calls: does it sleep or loop?",
                                    TIME_LIMIT=TIME_LIMIT, calls=n * len(attempts))])
    except Exception as exc:
        return result(exercise, [tr("backoff() raised {error}.", error=describe_error(exc))])

    problems: list[str] = []
    notes: list[str] = []
    for k in attempts:
        vs = values[k]
        junk = next((v for v in vs if not is_number(v)), "ok")
        if junk != "ok":
            problems.append(
                tr("backoff({k}) returned {junk}: return a number of seconds, such as 0.37.",
                   k=k, junk=repr(junk))
            )
            return result(exercise, problems)
    ceiling = {k: min(cap, base * 2.0**k) for k in attempts}

    spreads = {k: statistics.pstdev(values[k]) for k in attempts}
    means = {k: statistics.fmean(values[k]) for k in attempts}
    if all(s == 0 for s in spreads.values()):
        problems.append(
            tr("Every call with the same attempt returns the same delay: no jitter. Then all "
               "clients that lost the server come back in the same instant (the thundering "
               "herd). Draw the delay at random: random.uniform(0, ceiling).")
        )
    for k in attempts:
        lo, hi = min(values[k]), max(values[k])
        if lo < 0:
            problems.append(tr("backoff({k}) returned {lo:.3f}: a delay can't be negative.", k=k,
                               lo=lo))
            break
        if hi > ceiling[k] * (1 + 1e-9):
            if k >= 5 and hi > cap:
                problems.append(
                    tr("backoff({k}) returned {hi:.2f} s, above the cap of {cap:g} s: take "
                       "min(cap, base * 2**attempt) before drawing the random delay.",
                       k=k, hi=hi, cap=cap)
                )
            else:
                problems.append(
                    tr("backoff({k}) returned {hi:.3f} s, above its ceiling min({cap:g}, "
                       "{base:g} * 2**{k}) = {ceiling:.3f} s.",
                       k=k, hi=hi, cap=cap, base=base, ceiling=ceiling[k])
                )
            break
    if problems:
        return result(exercise, problems)

    for k in attempts:
        c = ceiling[k]
        mean, sd = means[k], spreads[k]
        if not (0.4 * c <= mean <= 0.6 * c) or not (0.2 * c <= sd <= 0.38 * c):
            problems.append(
                tr("For attempt {k} the delays average {mean:.3f} s with a spread of {sd:.3f} "
                   "s; full jitter (uniform between 0 and {c:.3f} s) averages {half:.3f} s with "
                   "a spread of {spread:.3f} s. Draw uniformly over the whole range, not just near "
                   "the ceiling.", k=k, mean=mean, sd=sd, c=c, half=c / 2, spread=c / math.sqrt(12))
            )
            break
    if not problems:
        ratio = means[3] / means[2] if means[2] else float("inf")
        if not 1.6 <= ratio <= 2.5:
            problems.append(
                tr("The delays should double with each attempt (until the cap); attempt 3 "
                   "averages {ratio:.2f} times attempt 2.", ratio=ratio)
            )
    if not problems:
        top = max(values[40])
        notes.append(
            tr("attempt 0 averages {ms0:.0f} ms, attempt 4 {mean4:.2f} s; from attempt {capped} "
               "on the ceiling stays at {cap:g} s (largest draw at attempt 40: {top:.2f} s).",
               ms0=means[0] * 1000, mean4=means[4], capped=math.ceil(math.log2(cap / base)),
               cap=cap, top=top)
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
    exercise = tr("broadcast(clients, message): one event to every subscriber")
    if not callable(broadcast):
        return result(exercise, [tr("Pass your function itself: check_broadcast(broadcast).")])
    problems: list[str] = []
    notes: list[str] = []

    cases = [
        (N_("three live clients"), "hello", ["a", "b", "c"], []),
        (N_("a two-line message"), "line 1\nline 2", ["a", "b"], []),
        (N_("one client that has gone away"), "tick", ["a", "b", "c"], ["b"]),
        (N_("two clients that have gone away"), "你好", ["a", "b", "c", "d"], ["a", "d"]),
        (N_("no clients at all"), "anyone?", [], []),
    ]
    for label, message, names, dead in cases:
        name = tr(label)
        clients = {_Client(n, n in dead) for n in names}
        live = {c for c in clients if not c.dead}
        before = set(clients)
        try:
            returned = _limited(lambda clients=clients, message=message:
                                broadcast(clients, message))
        except _Timeout:
            problems.append(tr("{name}: broadcast() did not return within {TIME_LIMIT:g} s.",
                               name=name, TIME_LIMIT=TIME_LIMIT))
            continue
        except RuntimeError as exc:
            if "changed size during iteration" in str(exc):
                problems.append(
                    tr("{name}: {error}. You removed a client from the set while looping over it; "
                       "loop over a copy (for client in list(clients)) or collect the failed "
                       "ones and remove them after the loop.", name=name, error=describe_error(exc))
                )
            else:
                problems.append(tr("{name}: broadcast() raised {error}.", name=name,
                                   error=describe_error(exc)))
            continue
        except Exception as exc:
            if dead and isinstance(exc, OSError):
                problems.append(
                    tr("{name}: the {kind} of a closed connection escaped broadcast(); "
                       "catch it, like the source's try/catch, and remove that client.",
                       name=name, kind=type(exc).__name__)
                )
            else:
                problems.append(tr("{name}: broadcast() raised {error}.", name=name,
                                   error=describe_error(exc)))
            continue
        expected = encode_event(message)
        for c in sorted(live, key=lambda c: c.name):
            got = b"".join(c.received)
            if got != expected:
                if got == f"data: {message}\n\n".encode() and "\n" in message:
                    problems.append(
                        tr("{name}: sent {got}. A line break inside the message ends the data: "
                           "line early, and the second line is read as a field called 'line "
                           "2': the event arrives as just 'line 1'. Write one data: line per "
                           "line of the message (or use sse_lab.protocol.encode_event).",
                           name=name, got=repr(got))
                    )
                elif not got:
                    problems.append(
                        tr("{name}: client {client} received nothing; write the event's bytes "
                           "({expected}) to every client with client.write(...).",
                           name=name, client=c.name, expected=repr(expected))
                    )
                else:
                    problems.append(tr("{name}: client {client} received {got}, expected "
                                       "{expected}.",
                                       name=name, client=c.name, got=repr(got),
                                       expected=repr(expected)))
                break
        stayed = clients & {c for c in before if c.dead}
        if stayed:
            problems.append(
                tr("{name}: {clients} failed but are still in the set: remove a client whose write "
                   "raises (clients.discard(client)).",
                   name=name, clients=sorted(c.name for c in stayed))
            )
        if clients - before:
            problems.append(tr("{name}: the set gained members it did not have.", name=name))
        gone_live = live - clients
        if gone_live:
            problems.append(
                tr("{name}: live clients {clients} were removed; only drop the ones whose write "
                   "failed.", name=name, clients=sorted(c.name for c in gone_live))
            )
        if returned != len(live):
            problems.append(
                tr("{name}: returned {returned}, expected {reached} (the clients reached).",
                   name=name, returned=repr(returned), reached=len(live))
            )
        if problems:
            break
    if not problems:
        notes.append(
            tr("Every live client got the exact bytes, multi-line messages stayed one event, "
               "and failed clients left the set.")
        )
    return result(exercise, problems, notes)
