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
from sse_lab.i18n import tr
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


def _crash_text(outcome: str) -> str:
    """A logged ``"raised Kind: message"`` outcome, in the learner's language."""
    return tr("raised {error}", error=outcome.removeprefix("raised "))


def _ids(rec: Any) -> list[str | None]:
    return [a.event.id for a in rec.token_arrivals]


def _read_problems(
    label: str, rec: Any, expect: list[str], first_id: int, full: list[str]
) -> list[str]:
    """What is wrong with one reading that should carry ``expect`` from id ``first_id``."""
    problems: list[str] = []
    if rec.error is not None or rec.status != 200:
        return [tr("{label}: the response was {status} ({error}); expected 200 with "
                   "an event stream.", label=label, status=rec.status, error=rec.error)]
    if rec.tokens != expect:
        got = rec.tokens
        if got and got == full and len(expect) < len(full):
            problems.append(
                tr("{label}: the stream started from the beginning: read the header with "
                   '`self.request.headers.get("Last-Event-ID")` and go on at that id + 1.',
                   label=label))
        elif expect and got[: len(expect)] != expect and got[-len(expect):] == expect:
            problems.append(
                tr("{label}: you sent {extra} token(s) too many at the start (from {first}); "
                   "resume *after* the id in Last-Event-ID, at id + 1.",
                   label=label, extra=len(got) - len(expect), first=repr(got[0])))
        elif not expect and got:
            problems.append(
                tr("{label}: nothing is left to send, only `data: {DONE}`; you sent {got} "
                   "token(s) from {first}.", label=label, DONE=DONE, got=len(got),
                   first=repr(got[0])))
        else:
            problems.append(tr("{label}: expected {expected} tokens starting {expected_start}, "
                               "got {got} starting {got_start}.",
                               label=label, expected=len(expect),
                               expected_start=repr(expect[:3]), got=len(got),
                               got_start=repr(got[:3])))
    ids = _ids(rec)
    want = [str(first_id + i) for i in range(len(expect))]
    if rec.tokens == expect and ids != want:
        problems.append(tr("{label}: the ids should be {want}..., got {ids}...: give every token "
                           "event `id: k`, k its index in the whole answer.",
                           label=label, want=want[:3], ids=ids[:3]))
    if not rec.done:
        problems.append(tr("{label}: the stream did not end with `data: {DONE}`.", label=label,
                           DONE=DONE))
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
    name = tr("Exercise 3: Last-Event-ID resume on a plain RequestHandler")
    if not (isinstance(handler_class, type)
            and issubclass(handler_class, tornado.web.RequestHandler)):
        return result(name, [tr("Pass your handler class, a subclass of "
                                "tornado.web.RequestHandler: check_resume_handler(server, "
                                "ResumeHandler, TOKENS).")])
    if "get" not in vars(handler_class):
        return result(name, [tr("Your class has no `get` method: write `async def get(self):`.")])
    tokens = [str(t) for t in tokens]
    if len(tokens) < 8:
        return result(name, [tr("Pass the notebook's TOKENS (at least 8 tokens).")])
    log: list[tuple[str, float]] = []
    try:
        url = server.add_handler(_PATH, _probe(handler_class, log))
    except Exception as exc:
        return result(name, [tr("Could not mount the handler on the server: {exc}", exc=exc)])
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
        problems.append(tr("Content-Type is {ctype}: set `text/event-stream; charset=utf-8` "
                           "with self.set_header before the first write (EventSource refuses "
                           "anything else).", ctype=repr(ctype)))
    elif whole.status == 200 and "no-cache" not in whole.headers.get("Cache-Control", ""):
        problems.append(tr("Set `Cache-Control: no-cache`, so no cache serves an old stream."))
    problems += _read_problems(tr("The whole answer"), whole, tokens, 0, tokens)
    if not problems:
        problems += _read_problems(tr("With Last-Event-ID: {k}", k=k), after_k, tokens[k + 1:],
                                   k + 1, tokens)
        problems += _read_problems(tr("With Last-Event-ID: {last} (the last token)", last=last),
                                   after_last, [], last + 1, tokens)
        if garbage_crashed:
            problems.append(tr("With Last-Event-ID: not-a-number your handler crashed "
                               "(int() raised). The header comes from the client: treat one "
                               "that is not a number as absent and start from the beginning."))
        else:
            problems += _read_problems(tr("With Last-Event-ID: not-a-number"), garbage, tokens,
                                       0, tokens)
    if not problems:
        instants = len({round(t, 3) for t in whole.token_times})
        if instants < len(tokens) // 2:
            problems.append(tr("All {n} tokens arrived at {instants} instant(s): `await "
                               "self.flush()` after every event (and pause with `await "
                               "asyncio.sleep({interval})`), or the client sees one lump at "
                               "the end.", n=len(tokens), instants=instants, interval=interval))
    if not problems:
        # The four readings above may have their [DONE] before their get() has returned:
        # wait for those ends first, or one of them would pass for the leaving reader's.
        settle = time.monotonic() + max(2.0, 2 * full_s)
        while len(log) < len(readings) and time.monotonic() < settle:
            await asyncio.sleep(0.01)
        problems += await _leaving_problems(url, log, full_s)
    for crash in crashes:
        if "ValueError" not in crash:
            problems.append(tr("Your handler {crash}.", crash=_crash_text(crash)))
    notes = []
    if not problems:
        ended = [o for o, _ in log]
        notes.append(tr("Resumes at id + 1, ignores a garbage id, ends with [DONE]; {n} "
                        "tokens paced {ms:.0f} ms apart.", n=len(tokens), ms=interval * 1000))
        if "raised StreamClosedError" in ended:
            notes.append(tr("When the reader left, StreamClosedError escaped your get(): it "
                            "stops the loop, but Tornado logs it as an error. Catch it and "
                            "return."))
        notes.append(tr("SSEHandler does these steps for you; now you know what they are."))
    return result(name, problems, notes)


def _failure(exc: BaseException, crashes: list[str]) -> str:
    """Explain a reading that was not an event stream at all."""
    status = getattr(exc, "status", None)
    if status == 500:
        if crashes:
            return tr("Your handler crashed with a 500 ({crash}).",
                      crash=_crash_text(crashes[0]))
        return tr("Your handler crashed with a 500.")
    if status == 200:
        if not getattr(exc, "body", b""):
            return tr("The response is empty and not an event stream: is `get()` still the "
                      "stub? Set `Content-Type: text/event-stream; charset=utf-8` and write the "
                      "events.")
        return tr("The response is not an event stream: set `Content-Type: text/event-stream; "
                  "charset=utf-8` with self.set_header before the first write (EventSource "
                  "refuses anything else).")
    return tr("Reading /exercise-resume failed: {kind}: {error}", kind=type(exc).__name__,
              error=exc)


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
        return [tr("After the reader left, your get() was still running seconds later: stop "
                   "when a write or flush raises StreamClosedError.")]
    _, ended = log[before]
    # A handler that stops ends at its next write, one interval after the reader left; one
    # that swallows the error writes on to the end, most of ``full_s`` later. Judge against
    # that (not a fixed 0.5 s), with room for a busy machine either way.
    if ended - left > max(0.2, 0.4 * full_s) and ended - t0 > 0.8 * full_s:
        return [tr("After the reader left, your get() went on for {seconds:.2f} s, to the "
                   "end of the answer: do not swallow StreamClosedError inside the loop; "
                   "return.", seconds=ended - left)]
    return []
