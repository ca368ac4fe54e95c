"""Checker for notebook 10's exercise: an answer that resumes instead of restarting."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from sse_lab.client import HTTPError, record_sync
from sse_lab.exercises.result import CheckResult, result
from sse_lab.i18n import tr

__all__ = ["check_resumable"]

_PROMPT, _SEED, _READ = "hello", 0, 6


def _stats(server: Any) -> dict[str, Any]:
    return server.stats()


def _settle(server: Any, tasks: int, timeout: float) -> bool:
    """Wait until the server runs at most ``tasks`` generation tasks; False on timeout."""
    deadline = time.monotonic() + timeout
    while _stats(server)["generation_tasks"] > tasks:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def check_resumable(server: Any, path: str = "/answer") -> CheckResult:
    """Check that ``path`` resumes an answer after ``Last-Event-ID`` and stops when left.

    The checker reads 6 tokens of ``path?prompt=hello&seed=0`` and leaves,
    then comes back with ``Last-Event-ID`` set to the last id it got, and
    reads to ``[DONE]``. Problems (NOT YET): the path is missing or not an
    event stream; events carry no ids; the server kept generating after the
    reader left; the resumed stream started over (tokens generated twice);
    the two parts do not make the answer of ``/chat`` for the same prompt.
    """
    exercise = tr("A resumable answer at {path}", path=path)
    if not hasattr(server, "stats") or not getattr(server, "running", False):
        return result(exercise, [tr("Pass the running lab server: check_resumable(server).")])
    query = urlencode({"prompt": _PROMPT, "seed": _SEED})
    url = f"{server.url}{path}?{query}"
    expected = record_sync(f"{server.url}/chat?{query}").text
    tasks = _stats(server)["generation_tasks"]
    before = _stats(server)["events_sent"]
    try:
        first = record_sync(url, max_events=_READ, timeout=10)
    except HTTPError as exc:
        hint = (
            tr(' Register it: server.add_handler(r"/answer", ResumableAnswer).')
            if exc.status == 404
            else ""
        )
        return result(exercise, [tr("GET {path} answered {exc}.{hint}", path=path, exc=exc,
                                    hint=hint)])
    problems: list[str] = []
    if len(first.arrivals) < _READ:
        return result(
            exercise, [tr("the stream ended after {n} events; expected more",
                          n=len(first.arrivals))]
        )
    last_id = first.arrivals[-1].event.id
    if not last_id:
        problems.append(tr("the events carry no `id:`: send each token with id=str(token.index)"))
    # Generating the rest of the answer takes `rest` seconds; a server that
    # cancels is idle long before half of that.
    plan = server.config.model.plan(_PROMPT, _SEED)
    rest = sum(plan.delays[_READ:])
    if not _settle(server, tasks, max(0.2, rest / 2)):
        problems.append(
            tr("the server went on generating after the reader left: let SSEHandler cancel "
               "the task (do not override on_connection_close)")
        )
    left = _stats(server)["events_sent"] - before
    if left > _READ + 1:
        problems.append(tr("{left} events were written for a reader that took {read}", left=left,
                           read=_READ))
    if problems:
        return result(exercise, problems)

    before = _stats(server)["events_sent"]
    second = record_sync(url, last_event_id=last_id, timeout=10)
    _settle(server, tasks, 2.0)
    resumed = _stats(server)["events_sent"] - before
    remaining = len(record_sync(f"{server.url}/chat?{query}").tokens) - _READ
    text = first.text + second.text
    if second.tokens[:1] == first.tokens[:1]:
        problems.append(
            tr("the resumed stream started over from the first token: start at "
               "int(Last-Event-ID) + 1 (model.stream(prompt, seed, start=...))")
        )
    elif text != expected:
        problems.append(tr("the two parts make {text}, expected {expected}", text=repr(text),
                           expected=repr(expected)))
    if not second.done:
        problems.append(tr("the resumed stream did not end with data: [DONE]"))
    notes = [tr("resuming generated {resumed} tokens for the {remaining} still missing",
                resumed=resumed - 1, remaining=remaining)]
    return result(exercise, problems, notes)
