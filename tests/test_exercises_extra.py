"""The new checkers: UTF-8 emitter, resume handler, bounded publish, markdown closer, predictions.

Each wrong answer that learners commonly write gets its own, correct diagnosis;
no checker raises, whatever it is given.
"""

from __future__ import annotations

import asyncio
import codecs

import pytest
import tornado.web
from tornado.iostream import StreamClosedError

from sse_lab.exercises import (
    PREDICTIONS,
    check_bounded_publish,
    check_close_markdown,
    check_prediction,
    check_resume_handler,
    check_safe_emitter,
)
from sse_lab.model import SimulatedLLM
from sse_lab.protocol import DONE, encode_event

# -- the UTF-8-safe emitter -------------------------------------------------------


class Incremental:
    def __init__(self):
        self.d = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, t):
        return self.d.decode(t)

    def close(self):
        return self.d.decode(b"", final=True)


class EachAlone:
    def feed(self, t):
        return t.decode("utf-8", errors="replace")

    def close(self):
        return ""


class Ignoring(EachAlone):
    def feed(self, t):
        return t.decode("utf-8", errors="ignore")


class Strict(EachAlone):
    def feed(self, t):
        return t.decode()


class AllAtTheEnd:
    def __init__(self):
        self.b = b""

    def feed(self, t):
        self.b += t
        return ""

    def close(self):
        return self.b.decode("utf-8", "replace")


class DropsTheCut(Incremental):
    def close(self):
        return ""


@pytest.mark.parametrize(("cls", "words"), [
    (EachAlone, "replacement character"),
    (Ignoring, "characters are missing"),
    (Strict, "incrementaldecoder"),
    (AllAtTheEnd, "leaves late"),
    (DropsTheCut, "U+FFFD"),
    (None, "Pass the class itself"),
])
def test_safe_emitter_diagnoses(cls, words) -> None:
    verdict = check_safe_emitter(cls)
    assert not verdict.passed and words in " ".join(verdict.problems)


def test_safe_emitter_accepts_the_standard_library() -> None:
    assert check_safe_emitter(Incremental).passed


# -- the resume handler on a plain RequestHandler -----------------------------------

TOKENS = SimulatedLLM().tokens("why stream", 0)


def resumer(offset=1, flush=True, swallow=False, crash=False, ctype="text/event-stream"):
    class Handler(tornado.web.RequestHandler):
        async def get(self):
            self.set_header("Content-Type", ctype)
            self.set_header("Cache-Control", "no-cache")
            last = self.request.headers.get("Last-Event-ID", "")
            if crash:
                start = int(last) + offset if last else 0
            else:
                start = int(last) + offset if last.isdigit() else 0
            try:
                for k in range(start, len(TOKENS)):
                    try:
                        self.write(encode_event(TOKENS[k], id=str(k)))
                        if flush:
                            await self.flush()
                    except StreamClosedError:
                        if not swallow:
                            raise
                    await asyncio.sleep(0.01)
                self.write(encode_event(DONE))
                await self.flush()
            except StreamClosedError:
                return

    return Handler


@pytest.mark.parametrize(("handler", "words"), [
    (resumer(), None),
    (resumer(offset=0), "too many at the start"),
    (resumer(crash=True), "int() raised"),
    (resumer(flush=False), "await self.flush()"),
    (resumer(swallow=True), "do not swallow StreamClosedError"),
    (resumer(ctype="text/plain"), "not an event stream"),
    (None, "Pass your handler class"),
])
def test_resume_handler_diagnoses(server, handler, words) -> None:
    verdict = asyncio.run(check_resume_handler(server, handler, TOKENS, interval=0.01))
    if words is None:
        assert verdict.passed, str(verdict)
    else:
        assert not verdict.passed and words in " ".join(verdict.problems), str(verdict)


# -- the bounded-queue broadcast ----------------------------------------------------


def good_publish(queues, message):
    stalled = []
    for q in queues:
        try:
            q.put_nowait(encode_event(message))
        except asyncio.QueueFull:
            stalled.append(q)
    for q in stalled:
        queues.discard(q)
    return len(queues)


def keeps_the_stalled(queues, message):
    for q in queues:
        try:
            q.put_nowait(encode_event(message))
        except asyncio.QueueFull:
            pass
    return len(queues)


def removes_while_looping(queues, message):
    for q in queues:
        try:
            q.put_nowait(encode_event(message))
        except asyncio.QueueFull:
            queues.discard(q)
    return len(queues)


def drops_old_messages(queues, message):
    for q in queues:
        if q.full():
            q.get_nowait()
        q.put_nowait(encode_event(message))
    return len(queues)



def _frame(queues, message):
    stalled = []
    for q in queues:
        try:
            q.put_nowait(f"data: {message}\n\n".encode())
        except asyncio.QueueFull:
            stalled.append(q)
    for q in stalled:
        queues.discard(q)
    return len(queues)


async def awaits(queues, message):
    for q in queues:
        await q.put(encode_event(message))


@pytest.mark.parametrize(("fn", "words"), [
    (good_publish, None),
    (keeps_the_stalled, "still in the set with a full queue"),
    (removes_while_looping, "Set changed size"),
    (drops_old_messages, "dropped old ones"),
    (_frame, "multi-line message"),
    (awaits, "`async def`"),
    (None, "Pass your function"),
])
def test_bounded_publish_diagnoses(fn, words) -> None:
    verdict = check_bounded_publish(fn)
    if words is None:
        assert verdict.passed, str(verdict)
    else:
        assert not verdict.passed and words in " ".join(verdict.problems), str(verdict)


# -- the partial-markdown closer ----------------------------------------------------


def test_close_markdown_diagnoses() -> None:
    assert "renders as" in " ".join(check_close_markdown(lambda t: t).problems)
    always = check_close_markdown(lambda t: t + "**")
    assert "nothing may be added" in " ".join(always.problems)
    assert not check_close_markdown(lambda t: None).passed
    assert not check_close_markdown(lambda t: 1 / 0).passed


# -- predict, then run --------------------------------------------------------------


def test_predictions_name_the_usual_wrong_answers() -> None:
    cases = [
        ("00-ttft-4000", 16, 1.05, {}, "CPU's pace"),
        ("00-clock", 0.75, 1.0, {}, "fencepost"),
        ("02-event-bytes", 15, 17, {}, "three bytes"),
        ("04-polls", 56, 14, {"tokens": 56}, "long polling"),
        ("05-hosted-rate", 133, 50, {}, "counts *events*"),
        ("06-retry-gap", 0.2, 0.83, {}, "not divided by `speed`"),
        ("07-max-lag", 0.0, 0.2, {}, "adds delay"),
    ]
    for key, guess, measured, context, words in cases:
        verdict = check_prediction(key, guess, measured, **context)
        assert not verdict.passed and words in verdict.problems[0], (key, str(verdict))


def test_predictions_pass_when_close_and_never_raise() -> None:
    for key in PREDICTIONS:
        assert check_prediction(key, 1.0, 1.0).passed
        for guess, measured in ((None, 1.0), ("two", 1.0), (1.0, None), (0.0, 0.0), (-1, 5)):
            verdict = check_prediction(key, guess, measured)
            assert isinstance(str(verdict), str)
    assert not check_prediction("nope", 1, 1).passed
