"""Checker for notebook 06's exercise 4: a broadcast through bounded queues.

Each subscriber has an ``asyncio.Queue(maxsize=...)`` that its own writer task
empties onto its socket. The learner writes ``publish(queues, message)``: put
the event's bytes into every queue without waiting; a full queue means its
reader stopped reading, so that subscriber is dropped (it can come back with
``Last-Event-ID``), never waited for and never buffered without limit.
:func:`check_bounded_publish` plays fast and frozen readers against it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from sse_lab.exercises.result import CheckResult, result
from sse_lab.exercises.sandbox import Timeout as _Timeout
from sse_lab.exercises.sandbox import call_limited, describe_error
from sse_lab.i18n import tr
from sse_lab.protocol import encode_event, parse

__all__ = ["check_bounded_publish"]

_MAXSIZE = 4
_MESSAGES = [f"news #{i}" for i in range(8)] + ["line one\nline two", "你好 🚀"]


def _play(publish: Callable[[set[Any], str], Any]) -> dict[str, Any]:
    """Two frozen readers and one that keeps up; publish every message."""
    fast = asyncio.Queue(maxsize=_MAXSIZE)
    frozen = [asyncio.Queue(maxsize=_MAXSIZE) for _ in range(2)]
    queues: set[Any] = {fast, *frozen}
    returned, received, members = [], [], []
    for message in _MESSAGES:
        returned.append(publish(queues, message))
        members.append((fast in queues, sum(q in queues for q in frozen)))
        while not fast.empty():
            received.append(fast.get_nowait())
    sizes = [q.qsize() for q in frozen]
    return {"returned": returned, "received": received, "members": members,
            "frozen_sizes": sizes, "queues": queues, "fast": fast,
            "frozen_items": [_drain(q) for q in frozen]}


def _drain(queue: asyncio.Queue[Any]) -> list[Any]:
    """What a frozen reader's queue holds (read out once it is no longer needed)."""
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


def check_bounded_publish(publish: Callable[[set[Any], str], Any]) -> CheckResult:
    """Exercise 06.4: ``publish(queues, message)`` never waits, never grows, drops the stalled.

    Two of three subscribers never read (their queues hold ``maxsize=4``);
    ten messages are published, one a multi-line text. The reader that keeps
    up must get every message's SSE bytes in order; the frozen ones must be
    removed once their queue is full; ``publish`` returns how many got it.
    """
    name = tr("Exercise 4: a broadcast through bounded queues")
    if not callable(publish):
        return result(name, [tr("Pass your function itself: check_bounded_publish(publish).")])
    if inspect.iscoroutinefunction(publish):
        return result(name, [
            tr("`publish` is `async def`: a broadcast must never wait for a reader, so it has "
               "nothing to await. Make it a plain function that uses `put_nowait`.")])
    try:
        out = call_limited(_play, publish)
    except _Timeout:
        return result(name, [tr("`publish` did not return within 2 s: does it wait for a full "
                                "queue (a `while q.full()` loop)? A full queue means the reader "
                                "stopped: drop it instead.")])
    except asyncio.QueueFull:
        return result(name, [tr("`put_nowait` raised QueueFull and your function let it out: "
                                "catch it; that subscriber has stopped reading, so remove its "
                                "queue from the set.")])
    except RuntimeError as exc:
        if "changed size" in str(exc):
            return result(name, [tr("RuntimeError: Set changed size during iteration. Loop over "
                                    "a copy (`for q in list(queues):`) or collect the stalled "
                                    "queues first and remove them after the loop.")])
        return result(name, [tr("Your function raised {error}.", error=describe_error(exc))])
    except Exception as exc:
        return result(name, [tr("Your function raised {error}.", error=describe_error(exc))])
    returned = out["returned"]
    if all(r is Ellipsis for r in returned):
        return result(name, [tr("`publish` still returns `...`: write its body.")])
    problems: list[str] = []
    received = out["received"]
    if any(inspect.iscoroutine(r) for r in received):
        problems.append(tr("The queues hold coroutines: `await q.put(...)` was never awaited. "
                           "Use `q.put_nowait(data)`."))
        return result(name, problems)
    if not received:
        problems.append(tr("The reader that keeps up received nothing: put the event into every "
                           "queue (`q.put_nowait(encode_event(message))`)."))
        return result(name, problems)
    if any(isinstance(r, str) for r in received):
        problems.append(tr("The queues hold str: put the SSE **bytes** of the event "
                           "(`encode_event(message)`), ready for the socket."))
    else:
        events = [e.data for item in received if isinstance(item, bytes) for e in parse(item)]
        if events != _MESSAGES:
            if events[: len(_MESSAGES) - 2] == _MESSAGES[:-2] and "line two" not in events:
                problems.append(tr("The multi-line message came out wrong: `data: ...\\n\\n` "
                                   "with a line break inside ends the event early. Use "
                                   "`encode_event(message)`, one `data:` line per line."))
            else:
                problems.append(tr("The reader that keeps up got {events}; it should get every "
                                   "message, in order: {messages}.",
                                   events=repr(events), messages=repr(_MESSAGES)))
    frozen_left = out["members"][-1][1]
    sizes = out["frozen_sizes"]
    last = encode_event(_MESSAGES[-1])
    if frozen_left:
        if any(last in items for items in out["frozen_items"]):
            problems.append(tr("The frozen subscribers are still in the set, and their queues hold "
                               "the newest messages: you dropped old ones to make room. A reader "
                               "then misses events without knowing. Drop the reader instead: it "
                               "can reconnect and resume with Last-Event-ID."))
        elif max(sizes) >= _MAXSIZE:
            problems.append(tr("{frozen_left} frozen subscriber(s) are still in the set with a "
                               "full queue: when `put_nowait` raises QueueFull, the reader has "
                               "stopped; remove its queue, or every later message is lost on "
                               "it without anyone knowing.", frozen_left=frozen_left))
        else:
            problems.append(tr("The frozen subscribers are still in the set but their queues are "
                               "not full: did you drop old messages to make room? A reader then "
                               "misses events without knowing. Drop the reader instead: it can "
                               "reconnect and resume with Last-Event-ID."))
    elif not all(n == 2 for _, n in out["members"][:_MAXSIZE]):
        problems.append(tr("The frozen subscribers were dropped before their queue was full "
                           "(it holds {maxsize}): a slow moment is not a stall; drop a "
                           "subscriber only when put_nowait raises QueueFull.", maxsize=_MAXSIZE))
    if out["fast"] not in out["queues"]:
        problems.append(tr("The subscriber that keeps up was removed: drop only queues that "
                           "are full."))
    expected = [3] * _MAXSIZE + [1] * (len(_MESSAGES) - _MAXSIZE)
    if not problems and returned != expected:
        problems.append(tr("`publish` returned {returned}; it should return how many "
                           "subscribers got the message: {expected}.",
                           returned=returned, expected=expected))
    notes = []
    if not problems:
        notes.append(tr("The frozen readers held at most {maxsize} events each and were "
                        "dropped on the next message; the reader that keeps up got all {n} in "
                        "order, and publish never waited.", maxsize=_MAXSIZE, n=len(_MESSAGES)))
        notes.append(tr("The lab's hub does the same (`ServerConfig(subscriber_queue=...)` bounds "
                        "each subscriber's backlog in bytes)."))
    return result(name, problems, notes)

