"""Reading speeds (cited inputs) and a Chinese reader who reads by character."""

from __future__ import annotations

import pytest

from sse_lab.metrics import (
    READING_SPEEDS,
    char_count,
    reader_idle_time,
    reading_units,
    visible_chars,
    visible_words,
)
from sse_lab.protocol import Event
from sse_lab.recording import Arrival, Recording


def test_the_cited_figures_and_their_units() -> None:
    zh, en, silent = READING_SPEEDS["zh-CN"], READING_SPEEDS["en"], READING_SPEEDS["en-silent"]
    assert (zh.per_minute, zh.unit, zh.mode) == (255, "char", "aloud")
    assert (en.per_minute, en.unit, en.mode) == (228, "word", "aloud")
    assert (silent.per_minute, silent.unit, silent.mode) == (238, "word", "silent")
    assert zh.per_s == pytest.approx(4.25)
    assert "IReST" in zh.source and "5452" in zh.source and "Brysbaert" in silent.source
    assert "255 chars/min" in str(zh)


def test_characters_not_spaces_or_punctuation() -> None:
    assert char_count("我是你的AI助手,很高兴为您服务!") == 15
    assert char_count("，。！？：；“”（）、 \n") == 0
    assert char_count("流式输出") == 4
    assert reading_units("Hello, streaming world", "word") == 3
    assert reading_units("Hello, streaming world", "char") == 19
    with pytest.raises(ValueError, match="unit"):
        reading_units("x", "syllable")


def test_a_chinese_reader_reads_the_stream_by_character() -> None:
    pieces = ["流式", "输出", "，", "很快"]
    rec = Recording(url="/chat", transport="sse",
                    arrivals=[Arrival(0.5 * (i + 1), Event(data=p)) for i, p in enumerate(pieces)])
    assert visible_chars(rec) == [(0.5, 2), (1.0, 4), (1.5, 4), (2.0, 6)]
    assert visible_words(rec, "char") == visible_chars(rec)
    # 2 characters every 0.5 s is slower than the cited 4.25/s: the reader waits for the
    # first piece, catches up with each one, and the comma brings nothing to read.
    idle = reader_idle_time(visible_chars(rec), READING_SPEEDS["zh-CN"].per_s)
    assert idle == pytest.approx(0.5 + (0.5 - 2 / 4.25) + (1.0 - 2 / 4.25))
