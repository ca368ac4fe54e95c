"""Notebook 00's checkers: stubs and slips get plain-words problems, solutions pass."""

from __future__ import annotations

import json
import urllib.request

import pytest
from conftest import wait_until

from sse_lab.client import record_sync
from sse_lab.exercises import check_clock_tokens, check_second_server
from sse_lab.server import start_server


def stats_of(srv) -> dict:
    with urllib.request.urlopen(srv.url + "/stats", timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def second(server):
    # younger than `server` by a margin its /stats uptime shows
    wait_until(lambda: stats_of(server)["uptime_s"] >= 0.05)
    srv = start_server()
    yield srv
    srv.stop()


# -- exercise 1 ------------------------------------------------------------------


def test_second_server_stub_says_what_to_do(server) -> None:
    verdict = check_second_server(None, None, server)
    assert not verdict.passed
    text = " ".join(verdict.problems)
    assert "server2` is still None" in text and "start_server(port=" in text
    assert "stats2` is still None" in text and "json.loads" in text


def test_second_server_solution_passes(server, second) -> None:
    verdict = check_second_server(second, stats_of(second), server)
    assert verdict.passed, str(verdict)
    assert any(second.url in n for n in verdict.notes)


def test_second_server_must_not_be_the_first(server) -> None:
    same = start_server(port=server.port)  # hands back the running server
    verdict = check_second_server(same, stats_of(server), server)
    assert not verdict.passed
    assert "different port" in verdict.problems[0]


def test_second_server_stats_from_the_wrong_server(server, second) -> None:
    # The first server started earlier, so its uptime gives it away.
    verdict = check_second_server(second, stats_of(server), server)
    assert not verdict.passed
    assert "older server" in " ".join(verdict.problems)


def test_second_server_raw_text_is_not_parsed_json(server, second) -> None:
    with urllib.request.urlopen(second.url + "/stats", timeout=5) as response:
        body = response.read()
    verdict = check_second_server(second, body, server)
    assert not verdict.passed
    assert "json.loads" in verdict.problems[0]
    verdict = check_second_server(second, {"hello": 1}, server)
    assert "lacks" in verdict.problems[0]


def test_second_server_junk_and_stopped(server) -> None:
    verdict = check_second_server("http://127.0.0.1:1314", stats_of(server), server)
    assert not verdict.passed and "LabServer" in verdict.problems[0]
    gone = start_server()
    stats = stats_of(gone)
    gone.stop()
    verdict = check_second_server(gone, stats, server)
    assert not verdict.passed and "not running" in verdict.problems[0]


# -- exercise 2 ------------------------------------------------------------------


@pytest.fixture(scope="module")
def clock(server):
    return record_sync(server.url + "/sse?count=3&interval=0.1")


def test_clock_stub(server) -> None:
    verdict = check_clock_tokens(None)
    assert not verdict.passed and "still None" in verdict.problems[0]


def test_clock_solution_passes(clock) -> None:
    verdict = check_clock_tokens(clock.tokens)
    assert verdict.passed, str(verdict)


def test_clock_common_slips(clock) -> None:
    assert "`.tokens`" in check_clock_tokens(clock).problems[0]
    assert "Arrival" in check_clock_tokens(clock.arrivals).problems[0]
    assert "Event" in check_clock_tokens([a.event for a in clock.arrivals]).problems[0]
    with_done = [a.event.data for a in clock.arrivals]
    assert with_done[-1] == "[DONE]"
    verdict = check_clock_tokens(with_done)
    assert not verdict.passed and "sentinel" in verdict.problems[0]
    assert "Expected a list" in check_clock_tokens("Current Time is 01:02:03").problems[0]
    assert "empty" in check_clock_tokens([]).problems[0]


def test_clock_wrong_endpoint_count_or_interval(server, clock) -> None:
    chat = record_sync(server.url + "/chat?prompt=hello&speed=20")
    verdict = check_clock_tokens(chat.tokens)
    assert not verdict.passed
    assert any("/sse" in p for p in verdict.problems)
    verdict = check_clock_tokens(clock.tokens[:2])
    assert any("count=3" in p for p in verdict.problems)
    slow = ["Current Time is 10:00:00", "Current Time is 10:00:01", "Current Time is 10:00:05"]
    assert "interval=0.1" in check_clock_tokens(slow).problems[0]
    # Ticks around midnight are one second apart, not a day.
    midnight = ["Current Time is 23:59:59", "Current Time is 00:00:00", "Current Time is 00:00:00"]
    assert check_clock_tokens(midnight).passed
