"""Notebook 02's checker: your own parser, graded by the conformance cases."""

from __future__ import annotations

import time
from pathlib import Path

from sse_lab.conformance import CASES
from sse_lab.exercises import CheckResult, check_parser
from sse_lab.lab.naive import NaiveParser
from sse_lab.protocol import EventParser, parse

SOLUTION = Path(__file__).parent.parent / "notebooks" / "solutions" / "02-my-parser.py"


class Stub:
    """The notebook's stub, as committed."""

    def __init__(self):
        pass

    def feed(self, chunk: bytes) -> list:
        return []

    def close(self) -> list:
        return []


class EllipsisStub:
    def feed(self, chunk): ...


def test_event_parser_passes() -> None:
    verdict = check_parser(EventParser)
    assert isinstance(verdict, CheckResult)
    assert verdict.passed, str(verdict)
    assert f"{len(CASES)} of {len(CASES)}" in " ".join(verdict.notes)


def test_solution_passes_and_does_not_import_event_parser() -> None:
    text = SOLUTION.read_text(encoding="utf-8")
    assert "EventParser" not in text and "sse_lab.protocol import Event\n" in text
    namespace: dict = {}
    exec(compile(text, str(SOLUTION), "exec"), namespace)
    verdict = check_parser(namespace["MyParser"])
    assert verdict.passed, str(verdict)


def test_stub_is_not_yet_and_says_why() -> None:
    for stub in (Stub, EllipsisStub):
        verdict = check_parser(stub)
        assert not verdict.passed
        text = str(verdict)
        assert "not dispatched a single event" in text
        assert "of 106 spec cases pass" in text
        assert text.startswith("NOT YET")
        assert "<li>" in verdict._repr_html_()


def test_naive_parser_gets_rules_grouped_and_capped() -> None:
    verdict = check_parser(NaiveParser)
    assert not verdict.passed
    assert 2 <= len(verdict.problems) <= 9
    assert verdict.problems[-1].startswith("...and ")
    text = " ".join(verdict.problems)
    assert "CRLF" in text and "split across chunks" in text
    assert "fed byte by byte" in text
    passing = [n for n in verdict.notes if "spec cases pass" in n]
    assert passing and not passing[0].startswith("0 ")


def test_max_rules_caps_the_list() -> None:
    verdict = check_parser(NaiveParser, max_rules=2)
    assert len(verdict.problems) == 3


def test_raising_parser_is_reported_in_plain_words() -> None:
    class Raises:
        def feed(self, chunk):
            raise NotImplementedError("write me")

    verdict = check_parser(Raises)
    assert not verdict.passed
    assert "ended in an error" in verdict.problems[0]
    assert "NotImplementedError: write me" in verdict.problems[0]


def test_junk_results_do_not_crash_the_checker() -> None:
    class Junk:
        def feed(self, chunk):
            return "not a list"

    verdict = check_parser(Junk)
    assert not verdict.passed
    assert "expected a list of events" in str(verdict)


def test_only_whole_streams_right_gets_a_hint() -> None:
    class WholeOnly:
        """Right on whole input, but forgets everything between chunks."""

        def feed(self, chunk):
            return parse(chunk)

    verdict = check_parser(WholeOnly)
    assert not verdict.passed
    assert "only byte-by-byte feeding fails" in verdict.problems[0]
    assert "Fed whole: 106 of 106 pass" in " ".join(verdict.notes)


def test_wrong_kinds_of_argument() -> None:
    assert "pass the class itself" in str(check_parser(Stub()))
    assert "Nothing to check" in str(check_parser(None))
    assert "feed(chunk) and close()" in str(check_parser(parse))

    class NoFeed:
        pass

    assert "no feed(chunk)" in str(check_parser(NoFeed))


def test_a_hanging_parser_times_out() -> None:
    class Hangs:
        def feed(self, chunk):
            time.sleep(30)  # the experiment: a parser that hangs
            return []

    t0 = time.monotonic()
    verdict = check_parser(Hangs, timeout=0.3)
    assert time.monotonic() - t0 < 2
    assert not verdict.passed
    assert "gave up" in str(verdict)
