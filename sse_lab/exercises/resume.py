"""Checker for notebook 06's exercise 3: ``Last-Event-ID`` resume on a plain ``RequestHandler``.

The lab's ``SSEHandler`` sets the headers, flushes each event and notices
when the client leaves. Here the learner writes all of that on a plain
``tornado.web.RequestHandler``, plus the resume: a reconnecting client sends
``Last-Event-ID: k`` and the answer must go on at token ``k + 1``.

:func:`check_resume_handler` mounts the learner's class on the running lab
server and reads it like a browser would: a whole answer, resumes after a
given id, after the last id, with a garbage id, and a reader that leaves
early. It never raises; each failure comes with its likely cause.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import tornado.web
from tornado.iostream import StreamClosedError

from sse_lab.client import HTTPError, record
from sse_lab.exercises.result import CheckResult, result
from sse_lab.protocol import DONE

__all__ = ["check_resume_handler"]

_PATH = "/exercise-resume"
_LEAVE_AFTER = 3


def _probe(handler_class: type[tornado.web.RequestHandler], log: list[tuple[str, float]]) -> type:
    """The learner's class, wrapped to note when ``get()`` ends and how."""

    class Probe(handler_class):  # type: ignore[misc,valid-type]
        async def get(self, *args: Any, **kwargs: Any) -> None:
            outcome = "returned"
            try:
                await super().get(*args, **kwargs)
            except StreamClosedError:
                outcome = "raised StreamClosedError"
            except Exception as exc:  # reported to the learner, not logged as a crash
                outcome = f"raised {type(exc).__name__}: {exc}"
                try:  # a 500 if nothing was sent yet, else just end the response
                    self.set_status(500)
                    self.finish()
                except Exception:  # noqa: BLE001 - finished already, or the client left
                    pass
            finally:
                log.append((outcome, time.monotonic()))

    Probe.__name__ = handler_class.__name__
    return Probe


def _ids(rec: Any) -> list[str | None]:
    return [a.event.id for a in rec.token_arrivals]


def _read_problems(
    label: str, rec: Any, expect: list[str], first_id: int, full: list[str]
) -> list[str]:
    """What is wrong with one reading that should carry ``expect`` from id ``first_id``."""
    problems: list[str] = []
    if rec.error is not None or rec.status != 200:
        return [f"{label}: the response was {rec.status} ({rec.error}); expected 200 with "
                "an event stream."]
    if rec.tokens != expect:
        got = rec.tokens
        if got and got == full and len(expect) < len(full):
            problems.append(
                f"{label}: the stream started from the beginning: read the header with "
                "`self.request.headers.get(\"Last-Event-ID\")` and go on at that id + 1.")
        elif expect and got[: len(expect)] != expect and got[-len(expect):] == expect:
            problems.append(
                f"{label}: you sent {len(got) - len(expect)} token(s) too many at the start "
                f"(from {got[0]!r}); resume *after* the id in Last-Event-ID, at id + 1.")
        elif not expect and got:
            problems.append(
                f"{label}: nothing is left to send, only `data: {DONE}`; you sent "
                f"{len(got)} token(s) from {got[0]!r}.")
        else:
            problems.append(f"{label}: expected {len(expect)} tokens starting {expect[:3]!r}, "
                            f"got {len(got)} starting {got[:3]!r}.")
    ids = _ids(rec)
    want = [str(first_id + i) for i in range(len(expect))]
    if rec.tokens == expect and ids != want:
        problems.append(f"{label}: the ids should be {want[:3]}..., got {ids[:3]}...: give "
                        "every token event `id: k`, k its index in the whole answer.")
    if not rec.done:
        problems.append(f"{label}: the stream did not end with `data: {DONE}`.")
    return problems


async def check_resume_handler(
    server: Any, handler_class: Any, tokens: list[str], *, interval: float = 0.02
) -> CheckResult:
    """Exercise 06.3: a resumable stream on a plain ``RequestHandler``.

    Args:
        server: The running lab server (the handler is mounted at
            ``/exercise-resume``).
        handler_class: The learner's ``tornado.web.RequestHandler`` subclass.
        tokens: The tokens the handler streams (the notebook's ``TOKENS``).
        interval: The pause between tokens the exercise asks for.
    """
    name = "Exercise 3: Last-Event-ID resume on a plain RequestHandler"
    if not (isinstance(handler_class, type)
            and issubclass(handler_class, tornado.web.RequestHandler)):
        return result(name, ["Pass your handler class, a subclass of "
                             "tornado.web.RequestHandler: check_resume_handler(server, "
                             "ResumeHandler, TOKENS)."])
    if "get" not in vars(handler_class):
        return result(name, ["Your class has no `get` method: write `async def get(self):`."])
    tokens = [str(t) for t in tokens]
    if len(tokens) < 8:
        return result(name, ["Pass the notebook's TOKENS (at least 8 tokens)."])
    log: list[tuple[str, float]] = []
    try:
        url = server.add_handler(_PATH, _probe(handler_class, log))
    except Exception as exc:
        return result(name, [f"Could not mount the handler on the server: {exc}"])
    full_s = len(tokens) * interval
    timeout = max(5.0, 4 * full_s)
    k = len(tokens) // 3
    last = len(tokens) - 1
    readings = await asyncio.gather(
        record(url, timeout=timeout),
        record(url, timeout=timeout, last_event_id=str(k)),
        record(url, timeout=timeout, last_event_id=str(last)),
        record(url, timeout=timeout, last_event_id="not-a-number"),
        return_exceptions=True,
    )
    whole, after_k, after_last, garbage = readings
    crashes = sorted({o for o, _ in log if o.startswith("raised ") and "StreamClosed" not in o})
    garbage_crashed = any("ValueError" in o for o in crashes) or (
        isinstance(garbage, HTTPError) and garbage.status == 500
        and not isinstance(whole, Exception))
    failed = next((r for r in readings if isinstance(r, Exception)), None)
    if isinstance(whole, Exception) or (failed is not None and not garbage_crashed):
        exc = whole if isinstance(whole, Exception) else failed
        return result(name, [_failure(exc, crashes)])
    problems: list[str] = []
    ctype = whole.headers.get("Content-Type", "")
    if whole.status == 200 and not ctype.startswith("text/event-stream"):
        problems.append(f"Content-Type is {ctype!r}: set `text/event-stream; charset=utf-8` "
                        "with self.set_header before the first write (EventSource refuses "
                        "anything else).")
    elif whole.status == 200 and "no-cache" not in whole.headers.get("Cache-Control", ""):
        problems.append("Set `Cache-Control: no-cache`, so no cache serves an old stream.")
    problems += _read_problems("The whole answer", whole, tokens, 0, tokens)
    if not problems:
        problems += _read_problems(f"With Last-Event-ID: {k}", after_k, tokens[k + 1:],
                                   k + 1, tokens)
        problems += _read_problems(f"With Last-Event-ID: {last} (the last token)",
                                   after_last, [], last + 1, tokens)
        if garbage_crashed:
            problems.append("With Last-Event-ID: not-a-number your handler crashed "
                            "(int() raised). The header comes from the client: treat one "
                            "that is not a number as absent and start from the beginning.")
        else:
            problems += _read_problems("With Last-Event-ID: not-a-number", garbage, tokens,
                                       0, tokens)
    if not problems:
        instants = len({round(t, 3) for t in whole.token_times})
        if instants < len(tokens) // 2:
            problems.append(f"All {len(tokens)} tokens arrived at {instants} instant(s): "
                            "`await self.flush()` after every event (and pause with "
                            f"`await asyncio.sleep({interval})`), or the client sees one "
                            "lump at the end.")
    if not problems:
        problems += await _leaving_problems(url, log, full_s)
    for crash in crashes:
        if "ValueError" not in crash:
            problems.append(f"Your handler {crash}.")
    notes = []
    if not problems:
        ended = [o for o, _ in log]
        notes.append(f"Resumes at id + 1, ignores a garbage id, ends with [DONE]; "
                     f"{len(tokens)} tokens paced {interval * 1000:.0f} ms apart.")
        if "raised StreamClosedError" in ended:
            notes.append("When the reader left, StreamClosedError escaped your get(): it "
                         "stops the loop, but Tornado logs it as an error. Catch it and return.")
        notes.append("SSEHandler does these steps for you; now you know what they are.")
    return result(name, problems, notes)


def _failure(exc: BaseException, crashes: list[str]) -> str:
    """Explain a reading that was not an event stream at all."""
    status = getattr(exc, "status", None)
    if status == 500:
        why = f" ({crashes[0]})" if crashes else ""
        return f"Your handler crashed with a 500{why}."
    if status == 200:
        if not getattr(exc, "body", b""):
            return ("The response is empty and not an event stream: is `get()` still the stub? "
                    "Set `Content-Type: text/event-stream; charset=utf-8` and write the events.")
        return ("The response is not an event stream: set `Content-Type: text/event-stream; "
                "charset=utf-8` with self.set_header before the first write (EventSource "
                "refuses anything else).")
    return f"Reading /exercise-resume failed: {type(exc).__name__}: {exc}"


async def _leaving_problems(url: str, log: list[tuple[str, float]], full_s: float) -> list[str]:
    """Read a few events, leave, and check that ``get()`` ended promptly."""
    before = len(log)
    t0 = time.monotonic()
    await record(url, max_events=_LEAVE_AFTER, timeout=max(5.0, 4 * full_s))
    left = time.monotonic()
    deadline = left + max(2.0, 2 * full_s)
    while len(log) == before and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    if len(log) == before:
        return ["After the reader left, your get() was still running seconds later: stop "
                "when a write or flush raises StreamClosedError."]
    _, ended = log[before]
    if ended - left > 0.5 and ended - t0 > 0.8 * full_s:
        return [f"After the reader left, your get() went on for {ended - left:.2f} s, to the "
                "end of the answer: do not swallow StreamClosedError inside the loop; return."]
    return []
