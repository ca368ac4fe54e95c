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
from sse_lab.i18n import N_, tr
from sse_lab.server.answers import event_id

__all__ = ["check_resume_point", "resume_point_cases"]

_EXERCISE = N_("resume_point(last_event_id, after): which answer, and which offset to replay "
               "after")

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
        Case(N_("a first connection (no id at all)"), None, None, (None, -1),
             N_("With no id the client has nothing yet: a new answer, offset -1 (replay starts "
             "at token 0; offset 0 would skip the first token).")),
        Case(N_("an empty Last-Event-ID"), "", None, (None, -1),
             N_("An empty id is no id (an `id:` line with no value resets it): (None, -1).")),
        Case(tr("a reconnect with `{id}`", id=event_id(_ID, 41)), event_id(_ID, 41), None, (_ID,
                                                                                            41),
             N_("Split at the last ':' into the answer id and the offset (an int).")),
        Case(tr("the first token's id `{id}`", id=event_id(_ID, 0)), event_id(_ID, 0), None, (_ID,
                                                                                              0),
             N_("Offset 0 is a real offset (the client has token 0): keep it, do not treat it "
             "as missing.")),
        Case(tr("no header, `?after={id}`", id=event_id(_ID, 7)), None, event_id(_ID, 7), (_ID, 7),
             N_("Without a Last-Event-ID header, the same value may come as `?after=` (a page "
             "that recreates its EventSource cannot set headers): use it.")),
        Case(N_("a header and a different `?after=`"), event_id(_ID, 12), event_id("Zz00", 3),
             (_ID, 12),
             N_("The header is what the browser itself sends on reconnect: it wins over "
             "`?after=`.")),
        Case(N_("an old numeric id `17`"), "17", None, (None, 17),
             N_("An old-style numeric id is still valid: a new answer whose log starts at "
             "token k + 1, i.e. (None, 17).")),
        Case(N_("the largest offset (nine digits)"), event_id(_ID, 999_999_999), None,
             (_ID, 999_999_999), N_("Nine ASCII digits are allowed: (answer_id, 999999999).")),
        Case(N_("a 64-character answer id"), event_id("A" * 64, 5), None, ("A" * 64, 5),
             N_("Answer ids are 1 to 64 letters and digits: 64 is allowed.")),
        Case(N_("a negative offset"), event_id(_ID, -1), None, None,
             N_("A negative offset is no position in a log: int() accepts '-1', so check that "
             "k is ASCII digits only (k.isascii() and k.isdigit()).")),
        Case(N_("a negative numeric id"), "-1", None, None,
             N_("'-1' is not an old numeric id (those are ASCII digits only).")),
        Case(N_("a ten-digit offset"), huge, None, None,
             N_("Offsets have at most nine digits: a longer number is a forged or corrupted id "
             "(and a huge int to carry around); reject it.")),
        Case(N_("a thirty-digit offset"), f"{_ID}:{'9' * 30}", None, None,
             N_("Offsets have at most nine digits: check len(k) <= 9 before int(k).")),
        Case(N_("an offset in Arabic-Indic digits `٤١`"), f"{_ID}:٤١", None, None,
             N_("'٤١'.isdigit() is True and int('٤١') == 41, but an SSE id is ASCII: check "
             "k.isascii() as well as k.isdigit().")),
        Case(N_("an offset with a space `Kx9a: 41`"), f"{_ID}: 41", None, None,
             N_("int() strips spaces, so ' 41' slips through int(): check the characters, "
             "not just that int() works.")),
        Case(N_("an offset with a sign `Kx9a:+41`"), f"{_ID}:+41", None, None,
             N_("int() accepts '+41': check that k is ASCII digits only.")),
        Case(N_("an offset with an underscore `Kx9a:4_1`"), f"{_ID}:4_1", None, None,
             N_("int() accepts '4_1' (digit grouping): check that k is ASCII digits only.")),
        Case(N_("an empty offset `Kx9a:`"), f"{_ID}:", None, None,
             N_("An id ending in ':' has no offset: reject it.")),
        Case(N_("an empty answer id `:41`"), ":41", None, None,
             N_("An answer id has at least one character: reject ':41'.")),
        Case(N_("an answer id with a slash `../x:41`"), "../x:41", None, None,
             N_("Answer ids are ASCII letters and digits only (they become Redis keys and URL "
             "parts): check answer.isascii() and answer.isalnum().")),
        Case(N_("a non-ASCII answer id `Kéa:3`"), "Kéa:3", None, None,
             N_("'é'.isalnum() is True: check answer.isascii() as well.")),
        Case(N_("a 65-character answer id"), event_id("B" * 65, 1), None, None,
             N_("Answer ids have at most 64 characters: reject longer ones.")),
        Case(N_("an id with two colons `Kx9a:4:1`"), f"{_ID}:4:1", None, None,
             N_("Split at the last ':' and validate the rest: 'Kx9a:4' is not an answer id.")),
        Case(N_("text that is no id at all `hello`"), "hello", None, None,
             N_("'hello' is neither '<answer-id>:<k>' nor a numeric id: raise ValueError "
             "(a 400) rather than silently starting a new answer.")),
    ]


def _judge_accept(case: Case, got: Any) -> str | None:
    where = tr("On {case}", case=tr(case.name))
    if not isinstance(got, tuple) or len(got) != 2:
        return (tr("{where} you returned {got}; return a tuple (answer_id, offset), here "
                   "{expected}.", where=where, got=repr(got), expected=repr(case.expected)))
    answer, offset = got
    if isinstance(offset, str):
        return tr("{where} the offset {offset} is a str; return an int ({expected}).",
                  where=where, offset=repr(offset), expected=repr(case.expected))
    if got == case.expected and type(offset) is int:
        return None
    return tr("{where} expected {expected}, got {got}. {why}",
              where=where, expected=repr(case.expected), got=repr(got), why=tr(case.why))


def _wrong_error(case: Case, exc: BaseException) -> str:
    return tr("On {case} your function raised {error}; raise ValueError (a strict server "
              "answers it with a 400 naming the rule) for every malformed id.",
              case=tr(case.name), error=describe_error(exc))


def _one(fn: Callable[..., Any], case: Case) -> tuple[str | None, bool]:
    """``(problem or None, stub)`` for one case."""
    try:
        got = call_limited(fn, case.last_event_id, case.after)
    except Timeout:
        return tr("On {case} your function did not return within the time limit.",
                  case=tr(case.name)), False
    except ValueError as exc:
        if case.expected is None:
            return None, False
        return tr("On {case} your function raised {error}, but this id is valid. {why}",
                  case=tr(case.name), error=describe_error(exc), why=tr(case.why)), False
    except BaseException as exc:  # noqa: BLE001 - explained to the learner (SystemExit too)
        if case.expected is None:
            return _wrong_error(case, exc), False
        return tr("On {case} your function raised {error}. {why}", case=tr(case.name),
                  error=describe_error(exc), why=tr(case.why)), False
    if got is Ellipsis:
        return None, True
    if case.expected is None:
        return tr("On {case} your function returned {got} instead of raising ValueError. {why}",
                  case=tr(case.name), got=repr(got), why=tr(case.why)), False
    return _judge_accept(case, got), False


def check_resume_point(resume_point: Callable[[str | None, str | None], Any]) -> CheckResult:
    """Grade ``resume_point(last_event_id, after) -> (answer_id, offset)`` on 24 reconnects."""
    if not callable(resume_point):
        return result(tr(_EXERCISE), [tr("Pass your function itself: "
                                         "check_resume_point(resume_point).")])
    cases = resume_point_cases()
    problems: list[str] = []
    answers: list[Any] = []  # what the function returned, to spot an empty body

    def recorded(last_event_id: str | None, after: str | None) -> Any:
        answer = resume_point(last_event_id, after)
        answers.append(answer)
        return answer

    for case in cases:
        problem, stub = _one(recorded, case)
        if stub:
            return result(tr(_EXERCISE),
                          [tr("Your function still returns ... : write its body.")])
        if problem is not None:
            problems.append(problem)
    if (len(problems) == len(cases) and len(answers) == len(cases)
            and all(a is None for a in answers)):
        return result(tr(_EXERCISE), [tr("Your function returned None every time (is its body "
                                         "still the stub's `...`?): return (answer_id, "
                                         "offset).")])
    accepted = sum(c.expected is not None for c in cases)
    notes = [tr("{right} of {total} reconnects handled correctly ({accepted} valid ids, "
                "{malformed} malformed ones).",
                right=len(cases) - len(problems), total=len(cases), accepted=accepted,
                malformed=len(cases) - accepted)]
    if not problems:
        notes.append(tr("Every valid id resumes at the right place and every malformed one is "
                        "refused: a forged or corrupted id can neither pick an odd place in a "
                        "log nor pass as a number int() happens to accept."))
    return result(tr(_EXERCISE), problems, notes)
