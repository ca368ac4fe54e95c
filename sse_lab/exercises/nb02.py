"""Checkers for notebook 02's exercises: write your own event-stream parser."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

from sse_lab import conformance
from sse_lab.exercises.result import CheckResult, result
from sse_lab.i18n import N_, tr

__all__ = ["check_parser"]

_EXERCISE = N_("Your own SSE parser (every spec case, fed whole and byte by byte)")
_MODE_WORDS = {"whole": N_("fed whole"), "bytewise": N_("fed byte by byte"),
               "prompt": N_("fed whole")}


def _run_with_timeout(fn: Callable[[], Any], timeout: float) -> tuple[bool, Any]:
    """Run ``fn`` in a daemon thread: (finished, result or exception)."""
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # reported, never re-raised
            box["error"] = exc

    thread = threading.Thread(target=worker, name="sse_lab-check-parser", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return False, None
    return True, box.get("error", box.get("value"))


def _difference(failure: conformance.Failure) -> str:
    """The failure's explanation without the rule quoted after it."""
    return failure.explanation.split(tr(" — rule: {rule}", rule=""), 1)[0]


def check_parser(
    parser_class: Any,
    *,
    max_rules: int = 8,
    timeout: float = 20.0,
) -> CheckResult:
    """Grade a learner's parser class against every conformance case.

    ``parser_class`` is called with no arguments for a fresh parser per case;
    the parser needs ``feed(chunk: bytes) -> list`` of events (objects or
    dicts with ``data`` and optionally ``event``, ``id``, ``retry``) and may
    have ``close() -> list``. Each case of :data:`sse_lab.conformance.CASES`
    is fed whole, then one byte at a time. The verdict lists the spec rules
    that are not met yet (at most ``max_rules``, one example each) and how
    many cases pass. It never raises: a parser that raises, returns junk or
    hangs (``timeout`` seconds) gets a NOT YET with the reason in plain words.
    The verdict speaks the lab's language, the spec rules and differences too
    (:func:`sse_lab.conformance.translated_rule`); section numbers, field names and
    values stay as the spec writes them.
    """
    exercise = tr(_EXERCISE)
    if parser_class is None:
        return result(
            exercise, [tr("Nothing to check yet: pass your class, e.g. check_parser(MyParser).")]
        )
    if not callable(parser_class):
        return result(
            exercise,
            [tr(
                "{got} is a parser object; pass the class itself "
                "(check_parser(MyParser), not check_parser(MyParser())) so every case "
                "starts with a fresh parser.", got=repr(parser_class)
            )],
        )
    if inspect.isclass(parser_class):
        if not callable(getattr(parser_class, "feed", None)):
            return result(exercise, [tr("{name} has no feed(chunk) method.",
                                        name=parser_class.__name__)])
    else:
        try:
            inspect.signature(parser_class).bind()
        except TypeError:
            return result(
                exercise,
                [tr(
                    "This exercise wants a class whose objects have feed(chunk) and close(), "
                    "so it can feed every stream byte by byte too; a parse(stream) function "
                    "only ever sees whole streams."
                )],
            )
        except ValueError:  # no signature (a builtin): let the run decide
            pass

    cases = conformance.CASES
    modes = ("whole", "bytewise")
    finished, outcome = _run_with_timeout(
        lambda: conformance.check_parser(parser_class, cases, modes), timeout
    )
    if not finished:
        return result(
            exercise,
            [tr(
                "The checker gave up after {timeout:g} s: a feed() call seems to never "
                "return (a loop that does not consume its buffer?).", timeout=timeout
            )],
        )
    if isinstance(outcome, BaseException):
        return result(exercise, [tr("Could not run your parser: {error}", error=outcome)])
    failures: list[conformance.Failure] = outcome

    failed_cases = {f.case for f in failures}
    passed = len(cases) - len(failed_cases)
    notes = [tr("{passed} of {total} spec cases pass, fed whole and byte by byte.",
                passed=passed, total=len(cases))]
    if not failures:
        return result(exercise, [], notes)
    per_mode = {m: len(cases) - len({f.case for f in failures if f.mode == m}) for m in modes}
    notes.append(tr(
        "Fed whole: {whole} of {total} pass; fed byte by byte: {bytewise} of {total}.",
        whole=per_mode["whole"], bytewise=per_mode["bytewise"], total=len(cases)
    ))

    problems: list[str] = []
    raised = [f for f in failures if isinstance(f.got, str) and f.got.startswith("<raised")]
    wrong = [f for f in failures if not (isinstance(f.got, str) and f.got.startswith("<raised"))]
    if raised:
        first = raised[0]
        problems.append(tr(
            "{raised} of {runs} runs ended in an error, e.g. case '{case}' {mode}: {error}.",
            raised=len(raised), runs=len(cases) * len(modes), case=first.case,
            mode=tr(_MODE_WORDS[first.mode]), error=first.got[1:-1].removeprefix("raised ")
        ))
    failed_runs = {(f.case, f.mode) for f in failures}
    dispatched_any = any(f.got != () for f in wrong) or any(
        c.events and (c.name, m) not in failed_runs for c in cases for m in modes
    )
    if not dispatched_any:
        # A stub (or a parser that only raises): listing every rule would not help.
        if wrong:
            problems.append(tr(
                "Your parser has not dispatched a single event yet: feed() must return the "
                "list of events that the chunk completes (a blank line ends an event)."
            ))
        return result(exercise, problems, notes)

    by_case = {c.name: c for c in cases}
    rules = {c.rule for c in cases if c.rule}
    groups: dict[str, list[conformance.Failure]] = {}
    for f in wrong:
        rule = by_case[f.case].rule or f.case
        groups.setdefault(rule, []).append(f)
    for rule, group in list(groups.items())[:max_rules]:
        example = group[0]
        more = len({f.case for f in group})
        count = tr(" ({n} cases)", n=more) if more > 1 else ""
        problems.append(tr(
            "{rule}{count}. For example, case '{case}' {mode}: {difference}.",
            rule=conformance.translated_rule(rule) if rule in rules else rule, count=count,
            case=example.case, mode=tr(_MODE_WORDS[example.mode]),
            difference=_difference(example)
        ))
    if len(groups) > max_rules:
        problems.append(tr("...and {n} more rules not met yet.", n=len(groups) - max_rules))

    if not any(f.mode == "whole" for f in failures):
        problems.insert(
            0,
            tr("Whole streams all work; only byte-by-byte feeding fails. Keep the unfinished "
               "line, a trailing \\r and any partial UTF-8 bytes between feed() calls "
               "(codecs.getincrementaldecoder('utf-8')('replace') keeps the bytes for you)."),
        )
    return result(exercise, problems, notes)
