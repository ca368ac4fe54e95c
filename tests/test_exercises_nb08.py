"""Notebook 08's checker: turning a reconnect's Last-Event-ID into a resume point."""

from __future__ import annotations

import runpy
import time
from pathlib import Path

import pytest

from sse_lab.exercises import CheckResult, check_resume_point, resume_point_cases
from sse_lab.server.answers import event_id, parse_event_id

SOLUTIONS = Path(__file__).parent.parent / "notebooks" / "solutions"
SOLUTION = runpy.run_path(str(SOLUTIONS / "08-resume-point.py"))["resume_point"]


def problems(verdict: CheckResult) -> str:
    assert isinstance(verdict, CheckResult)
    return " ".join(verdict.problems)


def test_solution_passes() -> None:
    verdict = check_resume_point(SOLUTION)
    assert verdict.passed, verdict
    assert verdict.notes and "24 of 24" in verdict.notes[0]


def test_cases_agree_with_the_servers_parser() -> None:
    # The exercise's rules are the server's, made strict: every id the server
    # parses as <answer-id>:<k> resumes at the same place here, and the other way round.
    for case in resume_point_cases():
        raw = case.last_event_id or case.after
        server = parse_event_id(raw)
        if server is not None:
            assert case.expected == server, case.name
        elif case.expected is not None and case.expected[0] is not None:
            pytest.fail(f"{case.name}: the server would not resume {raw!r}")
    assert event_id("Kx9a", 3) == "Kx9a:3"


def test_stub_and_empty_body() -> None:
    def stub(last_event_id, after=None):
        return ...

    def empty(last_event_id, after=None):
        pass

    assert "still returns ..." in problems(check_resume_point(stub))
    assert "returned None every time" in problems(check_resume_point(empty))


def naive_int(last_event_id, after=None):
    raw = last_event_id or after
    if not raw:
        return None, -1
    if ":" not in raw:
        return None, int(raw)
    answer, _, k = raw.rpartition(":")
    if not (answer.isascii() and answer.isalnum() and len(answer) <= 64):
        raise ValueError(answer)
    return answer, int(k)


def test_int_alone_lets_odd_offsets_through() -> None:
    verdict = check_resume_point(naive_int)
    text = problems(verdict)
    assert not verdict.passed
    assert "negative offset" in text and "int() accepts '-1'" in text
    assert "Arabic-Indic" in text and "k.isascii()" in text
    assert "at most nine digits" in text
    assert "' 41' slips through int()" in text and "'4_1'" in text and "'+41'" in text


def test_isdigit_without_isascii() -> None:
    def isdigit_only(last_event_id, after=None):
        raw = last_event_id or after
        if not raw:
            return None, -1
        answer, _, k = raw.rpartition(":")
        if not k.isdigit() or len(k) > 9:
            raise ValueError(k)
        if not answer:
            return None, int(k)
        if not (answer.isascii() and answer.isalnum() and len(answer) <= 64):
            raise ValueError(answer)
        return answer, int(k)

    verdict = check_resume_point(isdigit_only)
    text = problems(verdict)
    assert not verdict.passed and "Arabic-Indic" in text
    assert "negative offset" not in text and "on an empty answer id" in text.lower()


def test_unvalidated_answer_id() -> None:
    def no_id_check(last_event_id, after=None):
        raw = last_event_id or after
        if not raw:
            return None, -1
        answer, sep, k = raw.rpartition(":")
        if not (k.isascii() and k.isdigit() and len(k) <= 9):
            raise ValueError(k)
        return (answer if sep else None), int(k)

    text = problems(check_resume_point(no_id_check))
    assert "answer.isascii() and answer.isalnum()" in text
    assert "'é'.isalnum() is True" in text and "at most 64 characters" in text
    assert "Split at the last ':'" in text


def test_first_connection_offset_zero() -> None:
    def from_zero(last_event_id, after=None):
        got = SOLUTION(last_event_id, after)
        return (None, 0) if got == (None, -1) else got

    text = problems(check_resume_point(from_zero))
    assert "offset 0 would skip the first token" in text


def test_after_ignored_or_preferred() -> None:
    def header_only(last_event_id, after=None):
        return SOLUTION(last_event_id, None)

    def after_first(last_event_id, after=None):
        return SOLUTION(after or last_event_id, None)

    assert "`?after=`" in problems(check_resume_point(header_only))
    assert "it wins over" in problems(check_resume_point(after_first))


def test_old_numeric_ids_refused() -> None:
    def colon_only(last_event_id, after=None):
        raw = last_event_id or after
        if raw and ":" not in raw:
            raise ValueError(raw)
        return SOLUTION(last_event_id, after)

    text = problems(check_resume_point(colon_only))
    assert "old-style numeric id is still valid" in text and "raised ValueError" in text


def test_lenient_new_answer_and_wrong_exception_type() -> None:
    def lenient(last_event_id, after=None):
        try:
            return SOLUTION(last_event_id, after)
        except ValueError:
            return None, -1

    def key_error(last_event_id, after=None):
        try:
            return SOLUTION(last_event_id, after)
        except ValueError as exc:
            raise KeyError(str(exc)) from None

    assert "instead of raising ValueError" in problems(check_resume_point(lenient))
    assert "raised KeyError" in problems(check_resume_point(key_error))
    assert "raise ValueError" in problems(check_resume_point(key_error))


def test_string_offset_and_list() -> None:
    def str_offset(last_event_id, after=None):
        answer, k = SOLUTION(last_event_id, after)
        return answer, str(k)

    def as_list(last_event_id, after=None):
        return list(SOLUTION(last_event_id, after))

    assert "is a str; return an int" in problems(check_resume_point(str_offset))
    assert "return a tuple (answer_id, offset)" in problems(check_resume_point(as_list))


@pytest.mark.parametrize("garbage", [None, 42, "resume_point", lambda: None,
                                     lambda *a: 1 / 0, lambda *a: object(),
                                     lambda *a: (_ for _ in ()).throw(SystemExit)])
def test_never_raises_on_garbage(garbage) -> None:
    verdict = check_resume_point(garbage)
    assert isinstance(verdict, CheckResult) and not verdict.passed
    assert str(verdict) and verdict._repr_html_()


def test_slow_function_times_out() -> None:
    def slow(last_event_id, after=None):
        if last_event_id == "17":
            time.sleep(3)
        return SOLUTION(last_event_id, after)

    text = problems(check_resume_point(slow))
    assert "did not return within the time limit" in text and "numeric id `17`" in text
