"""Checkers for notebook 03's exercises: your own streaming handler."""

from __future__ import annotations

import asyncio
from typing import Any

from sse_lab.client import HTTPError, SSEClient, run_sync
from sse_lab.exercises.result import CheckResult, result
from sse_lab.i18n import tr
from sse_lab.protocol import DONE
from sse_lab.recording import Recording

__all__ = ["check_countdown"]

_EXPECTED = ["5", "4", "3", "2", "1"]
_MAX_EVENTS = 50


async def _read(url: str, idle: float, deadline: float) -> tuple[Recording, str | None]:
    """Read ``url`` until ``[DONE]``, the end, ``idle`` s of silence or ``deadline`` s."""
    client = SSEClient(url, timeout=idle)

    async def consume() -> None:
        n = 0
        async for _ in client:
            n += 1
            if n >= _MAX_EVENTS:
                break

    try:
        await asyncio.wait_for(consume(), deadline)
    except asyncio.TimeoutError:
        return client.recording, tr("the stream was still open after {deadline:g} s",
                                    deadline=deadline)
    finally:
        await client.close()
    return client.recording, None


def _routes_for(server: Any, path: str) -> list[str]:
    """Names of the handler classes the server has registered for ``path``, in order."""
    handlers_for = getattr(server, "handlers_for", None)
    return list(handlers_for(path)) if handlers_for is not None else []


def check_countdown(
    server: Any, path: str = "/countdown", *, idle: float = 5.0, deadline: float = 15.0
) -> CheckResult:
    """Read ``path`` on the lab ``server`` and check it counts down 5..1, then ``[DONE]``.

    Problems (NOT YET): the path is not registered, the response is not
    ``text/event-stream``, the events are not ``5, 4, 3, 2, 1`` in order, or
    ``[DONE]`` is missing. Notes: whether the numbers were paced in time,
    whether they carry ids, and their event type. Never raises and never
    hangs: a silent stream is given up after ``idle`` seconds, an endless one
    after ``deadline`` seconds.
    """
    exercise = tr("A countdown handler at {path}", path=path)
    base = server if isinstance(server, str) else getattr(server, "url", None)
    if not base:
        return result(exercise, [tr("Pass the running server: check_countdown(server).")])
    if not isinstance(server, str) and not getattr(server, "running", True):
        return result(exercise, [tr("The server is stopped: run start_server() again first.")])
    url = base.rstrip("/") + path

    try:
        rec, cut = run_sync(lambda: _read(url, idle, deadline))
    except HTTPError as exc:
        if exc.status == 404:
            why = tr(
                "GET {path} answered 404 Not Found: register your handler first, "
                'with server.add_handler(r"{path}", Countdown).', path=path
            )
        elif exc.status == 200:
            why = tr(
                "GET {path} answered {got} instead of "
                "Content-Type: text/event-stream. Subclass SSEHandler: it sets the SSE headers.",
                path=path, got=repr(str(exc).removeprefix("HTTP 200 "))
            )
        else:
            why = tr("GET {path} answered {error}: did stream() or parse_arguments() raise?",
                     path=path, error=exc)
        return result(exercise, [why])
    except Exception as exc:
        return result(exercise, [tr("Could not read {url}: {kind}: {error}", url=url,
                                    kind=type(exc).__name__, error=exc)])

    problems: list[str] = []
    notes: list[str] = []
    ctype = rec.headers.get("Content-Type", "")
    if not ctype.startswith("text/event-stream"):  # pragma: no cover - the client refuses it
        problems.append(tr("Content-Type is {ctype}, expected text/event-stream.",
                           ctype=repr(ctype)))
    events = [a.event for a in rec.arrivals]
    datas = [e.data for e in events]
    numbers = [e for e in events if e.data != DONE]

    if not events:
        problems.append(
            tr("No event arrived: stream() returned (or stayed silent) without sending "
               'anything. Call await self.send("5"), then "4"... inside stream().')
        )
    elif [e.data for e in numbers] != _EXPECTED:
        got = ", ".join(repr(d) for d in datas[:12]) + (", ..." if len(datas) > 12 else "")
        problems.append(tr("Expected the events '5', '4', '3', '2', '1' in this order; got "
                           "{got}.", got=got))
    if events and not rec.done:
        problems.append(tr("No final {DONE} event: send it after the 1 so the client knows the "
                           "end.", DONE=DONE))
    elif rec.done and datas[-1] != DONE:  # pragma: no cover - the client stops at [DONE]
        problems.append(tr("{DONE} must be the last event.", DONE=DONE))
    if cut:
        problems.append(tr("Gave up: {cut}. Does stream() end after sending {DONE}?", cut=cut,
                           DONE=DONE))
    elif rec.error and rec.error.startswith("TimeoutError") and not rec.done:
        problems.append(
            tr("Nothing arrived for {idle:g} s, so the checker stopped reading: is stream() "
               "waiting forever (or blocking the server with time.sleep instead of await "
               "asyncio.sleep)?", idle=idle)
        )
    elif rec.error and not rec.done:
        problems.append(tr("The stream broke off: {error}.", error=rec.error))

    if numbers:
        times = [a.t for a in rec.arrivals if a.event.data != DONE]
        span = times[-1] - times[0]
        if len(times) > 1 and span < 0.05:
            notes.append(
                tr("All the numbers arrived within {ms:.0f} ms of each other; add await "
                   "asyncio.sleep(0.2) between sends for a countdown you can watch.",
                   ms=span * 1000)
            )
        elif len(times) > 1:
            gap = span / (len(times) - 1)
            notes.append(tr("Paced: one number every {ms:.0f} ms on average.", ms=gap * 1000))
        ids = [e.id for e in numbers]
        if all(ids):
            notes.append(tr("Ids present ({ids}): a reconnecting client can resume.",
                            ids=", ".join(ids)))
        else:
            which = tr("the events") if not any(ids) else tr("some events")
            notes.append(
                tr("No id on {which}: add id=str(n) to send() so a client that reconnects can "
                   "say where it stopped (Last-Event-ID).", which=which)
            )
        kinds = sorted({e.event for e in numbers} - {"message"})
        if kinds:
            notes.append(
                tr("Event type {kinds}: a browser's onmessage ignores these; it needs "
                   "addEventListener('{kind}', ...).", kinds=", ".join(kinds), kind=kinds[0])
            )

    if problems:
        routes = _routes_for(server, path)
        if len(routes) > 1:
            problems.append(
                tr("{n} handlers are registered for {path} and the server uses the first one: "
                   "registering the same path again does not replace it. Use a new path (e.g. "
                   'server.add_handler(r"{path}2", Countdown), then check_countdown(server, '
                   '"{path}2")) or restart the kernel.', n=len(routes), path=path)
            )
    return result(exercise, problems, notes)
