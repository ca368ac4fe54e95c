"""Notebook 03's checker: a countdown handler added to the running server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import tornado.web

from sse_lab.exercises import CheckResult, check_countdown
from sse_lab.protocol import DONE
from sse_lab.server import SSEHandler, start_server

SOLUTION = Path(__file__).parent.parent / "notebooks" / "solutions" / "03-countdown.py"


class Stub(SSEHandler):
    """The notebook's stub, as committed."""

    async def stream(self): ...  # send "5", "4", "3", "2", "1", then "[DONE]"


class WrongOrder(SSEHandler):
    async def stream(self):
        for n in "12345":
            await self.send(n, id=n)
        await self.send(DONE)


class NoDone(SSEHandler):
    async def stream(self):
        for n in "54321":
            await self.send(n, event="tick")


class Silent(SSEHandler):
    async def stream(self):
        await self.send("5")
        await asyncio.sleep(60)  # the experiment: a stream that goes quiet mid-countdown


class Endless(SSEHandler):
    async def stream(self):
        while True:
            await self.send("5")
            await asyncio.sleep(0.05)  # the experiment: a paced stream that never ends


class PlainText(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "text/plain")
        self.finish("data: 5\n\n")


def test_unregistered_path_says_how_to_register(server) -> None:
    verdict = check_countdown(server, "/nothing-here")
    assert isinstance(verdict, CheckResult) and not verdict.passed
    assert "404" in verdict.problems[0] and "add_handler" in verdict.problems[0]


def test_stub_is_not_yet_quickly(server) -> None:
    server.add_handler(r"/stub", Stub)
    t0 = time.monotonic()
    verdict = check_countdown(server, "/stub")
    assert time.monotonic() - t0 < 2
    assert not verdict.passed
    assert "No event arrived" in verdict.problems[0]


def test_solution_passes_with_notes(server) -> None:
    namespace: dict = {"server": server}
    exec(compile(SOLUTION.read_text(encoding="utf-8"), str(SOLUTION), "exec"), namespace)
    verdict = check_countdown(server)
    assert verdict.passed, str(verdict)
    notes = " ".join(verdict.notes)
    assert "Paced" in notes and "Ids present (5, 4, 3, 2, 1)" in notes


def test_wrong_order_is_named(server) -> None:
    server.add_handler(r"/wrong-order", WrongOrder)
    verdict = check_countdown(server, "/wrong-order")
    assert not verdict.passed
    assert "in this order; got '1', '2'" in verdict.problems[0]
    assert "within" in " ".join(verdict.notes)  # not paced: a note, not a problem


def test_missing_done_ids_and_custom_type(server) -> None:
    server.add_handler(r"/no-done", NoDone)
    verdict = check_countdown(server, "/no-done")
    assert not verdict.passed
    assert any("No final [DONE]" in p for p in verdict.problems)
    notes = " ".join(verdict.notes)
    assert "No id on the events" in notes
    assert "addEventListener('tick'" in notes


def test_silent_and_endless_streams_do_not_hang(server) -> None:
    server.add_handler(r"/silent", Silent)
    server.add_handler(r"/endless", Endless)
    t0 = time.monotonic()
    silent = check_countdown(server, "/silent", idle=0.5)
    assert time.monotonic() - t0 < 3
    assert not silent.passed and any("Nothing arrived" in p for p in silent.problems)
    t0 = time.monotonic()
    endless = check_countdown(server, "/endless", deadline=0.5)
    assert time.monotonic() - t0 < 3
    assert not endless.passed and any("still open" in p for p in endless.problems)


def test_not_an_event_stream(server) -> None:
    server.add_handler(r"/plain", PlainText)
    verdict = check_countdown(server, "/plain")
    assert not verdict.passed
    assert "text/event-stream" in verdict.problems[0]


def test_registering_the_same_path_twice_is_explained(server) -> None:
    server.add_handler(r"/twice", Stub)
    server.add_handler(r"/twice", WrongOrder)
    verdict = check_countdown(server, "/twice")
    assert not verdict.passed
    # Today the first registration wins; if add_handler learns to replace,
    # the second (wrong-order) handler answers instead. Either way: explained.
    text = str(verdict)
    assert "No event arrived" in text or "in this order" in text
    if "No event arrived" in text:
        assert "2 handlers are registered for /twice" in text


def test_stopped_server_and_bad_argument() -> None:
    srv = start_server()
    srv.stop()
    assert "stopped" in str(check_countdown(srv))
    assert "Pass the running server" in str(check_countdown(None))
