"""The exercise checkers speak the learner's language.

Under ``use_language("zh-CN")`` a verdict (its head, the exercise's name, the problems
and the notes) is Chinese; in English it reads as before. Values the learner produced
(reprs, numbers) and the spec rules quoted by the parser checker stay as they are.
"""

from __future__ import annotations

import re
import time

import pytest

from sse_lab import exercises as ex
from sse_lab.i18n import use_language
from sse_lab.i18n.catalogue import problems
from sse_lab.metrics import percentile, summarize
from sse_lab.protocol import EventParser
from sse_lab.tokenizer import Utf8Stream

HAN = re.compile(r"[\u4e00-\u9fff]")


def chinese_share(text: str) -> float:
    """Share of the letters in ``text`` that are Chinese characters, code left out."""
    text = re.sub(r"`[^`]*`|[\w.]*[_(][\w.,() ]*\)?|'[^']*'|b'[^']*'", "", text)
    letters = [c for c in text if c.isalpha()]
    return sum(bool(HAN.match(c)) for c in letters) / max(len(letters), 1)


class NoEvents:
    def feed(self, chunk: bytes) -> list:
        return []


class PerToken:
    """Decodes every token on its own: half characters become U+FFFD."""

    def feed(self, token: bytes) -> str:
        return token.decode("utf-8", "replace")

    def close(self) -> str:
        return ""


class Safe:
    def __init__(self) -> None:
        self.stream = Utf8Stream()

    def feed(self, token: bytes) -> str:
        return self.stream.feed(token)

    def close(self) -> str:
        return self.stream.flush()


def ttft_right(rec):
    times = rec.token_times
    return times[0] if times else None


def ttft_slow(rec):
    time.sleep(0.5)  # longer than the checker's limit below, then the thread ends


FAILING = {
    "clock": lambda: ex.check_clock_tokens(["Current Time is 10:00:00", "[DONE]"]),
    "second server": lambda: ex.check_second_server(None, b"{}"),
    "parser": lambda: ex.check_parser(NoEvents),
    "emitter": lambda: ex.check_safe_emitter(PerToken),
    "prediction": lambda: ex.check_prediction("02-event-bytes", 15, 17),
    "ttft": lambda: ex.check_time_to_first_token(lambda rec: 0.5),
    "idle": lambda: ex.check_idle_time(lambda points, words_per_s: 1.0),
    "transport": lambda: ex.check_transport_choices({"chat-answer": "websocket"}),
    "percentile": lambda: ex.check_percentile(lambda values, q: sorted(values)[0]),
    "render": lambda: ex.check_render_tokens(lambda tokens: "".join(tokens)),
    "backoff": lambda: ex.check_backoff(lambda attempt: 0.25),
    "resume point": lambda: ex.check_resume_point(lambda last_event_id, after: None),
}
PASSING = {
    "clock": lambda: ex.check_clock_tokens(["Current Time is 10:00:00"] * 3),
    "parser": lambda: ex.check_parser(EventParser),
    "emitter": lambda: ex.check_safe_emitter(Safe),
    "prediction": lambda: ex.check_prediction("00-clock", 1.0, 1.01),
    "ttft": lambda: ex.check_time_to_first_token(ttft_right),
    "transport": lambda: ex.check_transport_choices(
        {key: s.accepted[0] for key, s in ex.TRANSPORT_SCENARIOS.items()}),
    "percentile": lambda: ex.check_percentile(percentile),
    "tokens/s": lambda: ex.check_tokens_per_second(lambda rec: summarize(rec).tokens_per_s),
}


@pytest.mark.parametrize("name", sorted(FAILING))
def test_a_failing_check_speaks_chinese(name: str) -> None:
    with use_language("zh-CN"):
        verdict = FAILING[name]()
        text, html = str(verdict), verdict._repr_html_()
    assert not verdict.passed
    assert text.startswith("尚未通过  "), text
    assert "还差一点" in html
    assert verdict.problems
    for line in [verdict.exercise, *verdict.problems, *verdict.notes]:
        assert chinese_share(line) > 0.3, line


@pytest.mark.parametrize("name", sorted(PASSING))
def test_a_passing_check_speaks_chinese(name: str) -> None:
    with use_language("zh-CN"):
        verdict = PASSING[name]()
        text, html = str(verdict), verdict._repr_html_()
    assert verdict.passed, text
    assert text.startswith("通过  "), text
    assert "做得好" in html
    for line in [verdict.exercise, *verdict.notes]:
        assert chinese_share(line) > 0.3, line


@pytest.mark.parametrize("name", sorted(FAILING))
def test_english_stays_english(name: str) -> None:
    with use_language("en"):
        verdict = FAILING[name]()
    assert str(verdict).startswith("NOT YET  ")
    assert not HAN.search((verdict.exercise + " ".join(verdict.problems)).replace("助", ""))


def test_a_timeout_is_explained_in_chinese() -> None:
    with use_language("zh-CN"):
        verdict = ex.check_time_to_first_token(ttft_slow, timeout=0.05)
    assert any("没有返回" in p for p in verdict.problems), str(verdict)


def test_a_stub_is_recognised_in_chinese_too() -> None:
    # The resume-point checker once found the stub by reading its own English problems.
    with use_language("zh-CN"):
        verdict = ex.check_resume_point(lambda last_event_id, after: None)
    assert len(verdict.problems) == 1 and "桩代码" in verdict.problems[0], str(verdict)


def test_values_go_in_untranslated() -> None:
    with use_language("zh-CN"):
        verdict = ex.check_prediction("02-event-bytes", 15, 17)
    assert "15 字节" in verdict.problems[0] and "17 字节" in verdict.problems[0]


def test_the_exercise_catalogue_is_whole() -> None:
    mine = [p for p in problems() if "sse_lab/exercises/" in p or p.startswith("exercises.po")]
    assert mine == []
