"""Checker for notebook 08's exercise: where does a reconnecting reader resume?

* :func:`check_resume_point` -- the learner's
  ``resume_point(last_event_id, after)`` turns what a reconnecting client
  sends (the ``Last-Event-ID`` header, else the ``?after=`` query argument)
  into ``(answer_id, offset)``: the answer to read and the last offset the
  client already has, so the log is replayed from ``offset + 1``.

The rules are the lab server's (``sse_lab/server/routes/answers.py``), made
strict: ``<answer-id>:<k>`` with an id of 1 to 64 ASCII letters and digits
and ``k`` of 1 to 9 ASCII digits -> ``(answer_id, k)``; an old numeric id
``k`` -> ``(None, k)`` (a new answer starting at token ``k + 1``); nothing
-> ``(None, -1)``; anything else raises ``ValueError`` (a strict server's 400).
Ids are built with the server's own :func:`~sse_lab.server.answers.event_id`.
The learner's code runs in a helper thread with a time limit; nothing here
raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sse_lab.exercises.result import CheckResult, result
from sse_lab.exercises.sandbox import Timeout, call_limited, describe_error
from sse_lab.server.answers import event_id

__all__ = ["check_resume_point", "resume_point_cases"]

_EXERCISE = "resume_point(last_event_id, after): which answer, and which offset to replay after"

_ID = "Kx9a"


@dataclass(frozen=True)
class Case:
    """One reconnect: what the client sent, and the resume point (or ``None``: reject it)."""

    name: str
    last_event_id: str | None
    after: str | None
    expected: tuple[str | None, int] | None
    why: str  # the diagnosis when the learner's answer differs


def resume_point_cases() -> list[Case]:
    """The reconnects the checker sends (also handy to try your function on)."""
    huge = event_id(_ID, 10**9)
    return [
        Case("a first connection (no id at all)", None, None, (None, -1),
             "With no id the client has nothing yet: a new answer, offset -1 (replay starts "
             "at token 0; offset 0 would skip the first token)."),
        Case("an empty Last-Event-ID", "", None, (None, -1),
             "An empty id is no id (an `id:` line with no value resets it): (None, -1)."),
        Case(f"a reconnect with `{event_id(_ID, 41)}`", event_id(_ID, 41), None, (_ID, 41),
             "Split at the last ':' into the answer id and the offset (an int)."),
        Case(f"the first token's id `{event_id(_ID, 0)}`", event_id(_ID, 0), None, (_ID, 0),
             "Offset 0 is a real offset (the client has token 0): keep it, do not treat it "
             "as missing."),
        Case(f"no header, `?after={event_id(_ID, 7)}`", None, event_id(_ID, 7), (_ID, 7),
             "Without a Last-Event-ID header, the same value may come as `?after=` (a page "
             "that recreates its EventSource cannot set headers): use it."),
        Case("a header and a different `?after=`", event_id(_ID, 12), event_id("Zz00", 3),
             (_ID, 12),
             "The header is what the browser itself sends on reconnect: it wins over "
             "`?after=`."),
        Case("an old numeric id `17`", "17", None, (None, 17),
             "An old-style numeric id is still valid: a new answer whose log starts at "
             "token k + 1, i.e. (None, 17)."),
        Case("the largest offset (nine digits)", event_id(_ID, 999_999_999), None,
             (_ID, 999_999_999), "Nine ASCII digits are allowed: (answer_id, 999999999)."),
        Case("a 64-character answer id", event_id("A" * 64, 5), None, ("A" * 64, 5),
             "Answer ids are 1 to 64 letters and digits: 64 is allowed."),
        Case("a negative offset", event_id(_ID, -1), None, None,
             "A negative offset is no position in a log: int() accepts '-1', so check that "
             "k is ASCII digits only (k.isascii() and k.isdigit())."),
        Case("a negative numeric id", "-1", None, None,
             "'-1' is not an old numeric id (those are ASCII digits only)."),
        Case("a ten-digit offset", huge, None, None,
             "Offsets have at most nine digits: a longer number is a forged or corrupted id "
             "(and a huge int to carry around); reject it."),
        Case("a thirty-digit offset", f"{_ID}:{'9' * 30}", None, None,
             "Offsets have at most nine digits: check len(k) <= 9 before int(k)."),
        Case("an offset in Arabic-Indic digits `٤١`", f"{_ID}:٤١", None, None,
             "'٤١'.isdigit() is True and int('٤١') == 41, but an SSE id is ASCII: check "
             "k.isascii() as well as k.isdigit()."),
        Case("an offset with a space `Kx9a: 41`", f"{_ID}: 41", None, None,
             "int() strips spaces, so ' 41' slips through int(): check the characters, "
             "not just that int() works."),
        Case("an offset with a sign `Kx9a:+41`", f"{_ID}:+41", None, None,
             "int() accepts '+41': check that k is ASCII digits only."),
        Case("an offset with an underscore `Kx9a:4_1`", f"{_ID}:4_1", None, None,
             "int() accepts '4_1' (digit grouping): check that k is ASCII digits only."),
        Case("an empty offset `Kx9a:`", f"{_ID}:", None, None,
             "An id ending in ':' has no offset: reject it."),
        Case("an empty answer id `:41`", ":41", None, None,
             "An answer id has at least one character: reject ':41'."),
        Case("an answer id with a slash `../x:41`", "../x:41", None, None,
             "Answer ids are ASCII letters and digits only (they become Redis keys and URL "
             "parts): check answer.isascii() and answer.isalnum()."),
        Case("a non-ASCII answer id `Kéa:3`", "Kéa:3", None, None,
             "'é'.isalnum() is True: check answer.isascii() as well."),
        Case("a 65-character answer id", event_id("B" * 65, 1), None, None,
             "Answer ids have at most 64 characters: reject longer ones."),
        Case("an id with two colons `Kx9a:4:1`", f"{_ID}:4:1", None, None,
             "Split at the last ':' and validate the rest: 'Kx9a:4' is not an answer id."),
        Case("text that is no id at all `hello`", "hello", None, None,
             "'hello' is neither '<answer-id>:<k>' nor a numeric id: raise ValueError "
             "(a 400) rather than silently starting a new answer."),
    ]


def _judge_accept(case: Case, got: Any) -> str | None:
    where = f"On {case.name}"
    if not isinstance(got, tuple) or len(got) != 2:
        return (f"{where} you returned {got!r}; return a tuple (answer_id, offset), "
                f"here {case.expected!r}.")
    answer, offset = got
    if isinstance(offset, str):
        return f"{where} the offset {offset!r} is a str; return an int ({case.expected!r})."
    if got == case.expected and type(offset) is int:
        return None
    return f"{where} expected {case.expected!r}, got {got!r}. {case.why}"


def _wrong_error(case: Case, exc: BaseException) -> str:
    return (f"On {case.name} your function raised {describe_error(exc)}; raise ValueError "
            "(a strict server answers it with a 400 naming the rule) for every malformed id.")


def _one(fn: Callable[..., Any], case: Case) -> tuple[str | None, bool]:
    """``(problem or None, stub)`` for one case."""
    try:
        got = call_limited(fn, case.last_event_id, case.after)
    except Timeout:
        return f"On {case.name} your function did not return within the time limit.", False
    except ValueError as exc:
        if case.expected is None:
            return None, False
        return (f"On {case.name} your function raised {describe_error(exc)}, but this id "
                f"is valid. {case.why}"), False
    except BaseException as exc:  # noqa: BLE001 - explained to the learner (SystemExit too)
        if case.expected is None:
            return _wrong_error(case, exc), False
        return f"On {case.name} your function raised {describe_error(exc)}. {case.why}", False
    if got is Ellipsis:
        return None, True
    if case.expected is None:
        return (f"On {case.name} your function returned {got!r} instead of raising "
                f"ValueError. {case.why}"), False
    return _judge_accept(case, got), False


def check_resume_point(resume_point: Callable[[str | None, str | None], Any]) -> CheckResult:
    """Grade ``resume_point(last_event_id, after) -> (answer_id, offset)`` on 24 reconnects."""
    if not callable(resume_point):
        return result(_EXERCISE, ["Pass your function itself: "
                                  "check_resume_point(resume_point)."])
    cases = resume_point_cases()
    problems: list[str] = []
    for case in cases:
        problem, stub = _one(resume_point, case)
        if stub:
            return result(_EXERCISE, ["Your function still returns ... : write its body."])
        if problem is not None:
            problems.append(problem)
    if len(problems) == len(cases) and all("returned None" in p or "got None" in p
                                           for p in problems):
        return result(_EXERCISE, ["Your function returned None every time (is its body "
                                  "still the stub's `...`?): return (answer_id, offset)."])
    accepted = sum(c.expected is not None for c in cases)
    notes = [f"{len(cases) - len(problems)} of {len(cases)} reconnects handled correctly "
             f"({accepted} valid ids, {len(cases) - accepted} malformed ones)."]
    if not problems:
        notes.append("Every valid id resumes at the right place and every malformed one is "
                     "refused: a forged or corrupted id can neither pick an odd place in a "
                     "log nor pass as a number int() happens to accept.")
    return result(_EXERCISE, problems, notes)
