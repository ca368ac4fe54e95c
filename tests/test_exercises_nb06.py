"""Notebook 06's checkers: backoff with full jitter, a broadcast that drops dead clients."""

from __future__ import annotations

import random
import runpy
import time
from pathlib import Path

import pytest

from sse_lab.client import backoff_delay
from sse_lab.exercises import CheckResult, check_backoff, check_broadcast

SOLUTIONS = Path(__file__).parent.parent / "notebooks" / "solutions"


def solution(name: str, func: str):
    return runpy.run_path(str(SOLUTIONS / name))[func]


def problems(verdict: CheckResult) -> str:
    assert isinstance(verdict, CheckResult)
    return " ".join(verdict.problems)


# -- backoff ---------------------------------------------------------------------------
def test_solution_and_the_lab_client_pass() -> None:
    verdict = check_backoff(solution("06-backoff.py", "backoff"))
    assert verdict.passed, verdict
    assert verdict.notes and "attempt 0 averages" in verdict.notes[0]
    assert check_backoff(backoff_delay).passed  # the lab's own client


def test_stub_fails_kindly() -> None:
    def backoff(attempt):
        ...

    verdict = check_backoff(backoff)
    assert not verdict.passed and "returned None" in problems(verdict)
    assert "NOT YET" in str(verdict) and "Not yet" in verdict._repr_html_()


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (lambda k: min(5.0, 0.25 * 2**k), "no jitter"),
        (lambda k: 1.0 * k, "no jitter"),  # the source article's 1000 * reconnectCount
        (lambda k: random.uniform(0, 0.25 * 2**k), "above the cap"),
        (lambda k: random.uniform(0, 0.5 * 2**k), "above its ceiling"),
        (lambda k: random.uniform(0.5, 1.0) * min(5.0, 0.25 * 2**k), "whole range"),
        (lambda k: random.uniform(0, min(5.0, 0.25 * 1.5**k)), "whole range"),
        (lambda k: random.uniform(0, min(5.0, 0.25 * 2**k)) - 0.3, "negative"),
        (lambda k: "0.5", "return a number"),
        (lambda k: float("nan"), "return a number"),
        (lambda k: 1 / 0, "ZeroDivisionError"),
        (42, "Pass your function"),
    ],
)
def test_wrong_answers_are_explained(fn, words: str) -> None:
    verdict = check_backoff(fn)
    assert not verdict.passed
    assert words in problems(verdict), problems(verdict)


def test_a_sleeping_backoff_times_out() -> None:
    def backoff(attempt):
        time.sleep(attempt)  # waits instead of returning the delay
        return 0.0

    t0 = time.perf_counter()
    verdict = check_backoff(backoff)
    assert time.perf_counter() - t0 < 8
    assert not verdict.passed and "sleep" in problems(verdict)


def test_other_base_and_cap() -> None:
    def backoff(attempt):
        return random.uniform(0, min(30.0, 1.0 * 2**attempt))

    assert check_backoff(backoff, base=1.0, cap=30.0).passed
    assert not check_backoff(backoff).passed


# -- broadcast -----------------------------------------------------------------------------
def test_broadcast_solution_passes() -> None:
    verdict = check_broadcast(solution("06-broadcast.py", "broadcast"))
    assert verdict.passed, verdict


def test_broadcast_stub_fails_kindly() -> None:
    def broadcast(clients, message):
        ...

    verdict = check_broadcast(broadcast)
    assert not verdict.passed and "received nothing" in problems(verdict)


def naive_source_port(clients, message):
    """The source's broadcast, translated literally."""
    for client in clients:
        try:
            client.write(f"data: {message}\n\n".encode())
        except Exception:
            clients.remove(client)
    return len(clients)


def removes_while_iterating(clients, message):
    from sse_lab.protocol import encode_event

    for client in clients:
        try:
            client.write(encode_event(message))
        except OSError:
            clients.remove(client)
    return len(clients)


def never_removes(clients, message):
    from sse_lab.protocol import encode_event

    n = 0
    for client in list(clients):
        try:
            client.write(encode_event(message))
            n += 1
        except OSError:
            pass
    return n


def lets_errors_escape(clients, message):
    from sse_lab.protocol import encode_event

    for client in clients:
        client.write(encode_event(message))
    return len(clients)


def removes_everyone(clients, message):
    from sse_lab.protocol import encode_event

    for client in list(clients):
        try:
            client.write(encode_event(message))
        except OSError:
            pass
    clients.clear()
    return 0


def writes_str(clients, message):
    from sse_lab.protocol import encode_event

    for client in list(clients):
        try:
            client.write(encode_event(message).decode())
        except OSError:
            clients.discard(client)
    return len(clients)


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (naive_source_port, "A line break inside the message"),
        (removes_while_iterating, "changed size during iteration"),
        (never_removes, "still in the set"),
        (lets_errors_escape, "catch it"),
        (removes_everyone, "only drop the ones"),
        ("broadcast", "Pass your function"),
    ],
)
def test_broadcast_wrong_answers(fn, words: str) -> None:
    verdict = check_broadcast(fn)
    assert not verdict.passed
    assert words in problems(verdict), problems(verdict)


def test_broadcast_may_write_text() -> None:
    assert check_broadcast(writes_str).passed
