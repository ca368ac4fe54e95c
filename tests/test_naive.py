"""The naive parser and encoder break exactly where notebook 02 says they do."""

from __future__ import annotations

from sse_lab.conformance import check_parser
from sse_lab.lab.naive import NaiveParser, naive_encode
from sse_lab.protocol import Event, EventParser, encode_event, parse

CHAT = "我是你的AI助手,很高兴为您服务!"


def feed_split(parser_cls, stream: bytes, k: int) -> list[Event]:
    p = parser_cls()
    return p.feed(stream[:k]) + p.feed(stream[k:]) + p.close()


def test_naive_is_right_on_simple_whole_input() -> None:
    stream = (
        b": hi\n\nevent: add\nid: 7\nretry: 500\ndata: a\ndata:b\n\ndata: c\n\ndata: unfinished"
    )
    assert feed_split(NaiveParser, stream, len(stream)) == parse(stream)
    assert parse(stream) == [Event("add", "a\nb", "7", 500), Event("message", "c", "7")]


def test_split_chinese_character_becomes_replacement_characters() -> None:
    stream = encode_event(CHAT)
    cut = stream.index("我".encode()) + 1  # after the first of its three bytes
    naive = feed_split(NaiveParser, stream, cut)
    assert feed_split(EventParser, stream, cut) == [Event(data=CHAT)]
    assert len(naive) == 1
    assert naive[0].data != CHAT
    assert naive[0].data.startswith("\ufffd")  # 我 is gone, U+FFFD in its place
    assert naive[0].data.endswith(CHAT[1:])


def test_every_cut_inside_a_character_corrupts_the_text() -> None:
    stream = encode_event(CHAT)
    whole = parse(stream)
    bad = [k for k in range(len(stream) + 1) if feed_split(NaiveParser, stream, k) != whole]
    good = [k for k in range(len(stream) + 1) if feed_split(EventParser, stream, k) == whole]
    assert good == list(range(len(stream) + 1))
    # The cuts that hurt are exactly those that fall on a UTF-8 continuation byte.
    inside = [k for k in range(1, len(stream)) if stream[k] & 0xC0 == 0x80]
    assert bad == inside and len(inside) == 2 * 13  # 13 three-byte characters


def test_crlf_split_across_chunks_misframes() -> None:
    stream = b"data: a\r\ndata: b\r\n\r\n"
    cut = stream.index(b"\r") + 1  # between the first \r and its \n
    assert feed_split(EventParser, stream, cut) == [Event(data="a\nb")]
    # The naive parser sees "\r" | "\n" as two line endings: a phantom blank
    # line dispatches "a" early, and "b" arrives as a second event.
    assert feed_split(NaiveParser, stream, cut) == [Event(data="a"), Event(data="b")]
    # Whole, the same bytes parse fine: the bug only shows on some chunkings.
    assert feed_split(NaiveParser, stream, len(stream)) == [Event(data="a\nb")]


def test_u2028_is_treated_as_a_line_break() -> None:
    stream = encode_event("line\u2028separator")
    assert parse(stream) == [Event(data="line\u2028separator")]
    naive = feed_split(NaiveParser, stream, len(stream))
    # splitlines() cut the data line in two; "separator" became an unknown field.
    assert naive == [Event(data="line")]


def test_naive_encode_is_the_source_articles_format() -> None:
    assert naive_encode("Current Time is 12:00:00") == b"data: Current Time is 12:00:00\n\n"
    assert naive_encode(CHAT) == encode_event(CHAT)


def test_newline_injection_forges_an_extra_event() -> None:
    msg = "hello\n\ndata: FORGED"
    naive = parse(naive_encode(msg))
    assert [e.data for e in naive] == ["hello", "FORGED"]
    safe = parse(encode_event(msg))
    assert safe == [Event(data=msg)]
    assert encode_event(msg) == b"data: hello\ndata: \ndata: data: FORGED\n\n"


def test_injection_can_fake_the_done_sentinel_and_event_types() -> None:
    naive = parse(naive_encode("partial\n\nevent: admin\ndata: [DONE]"))
    assert naive == [Event(data="partial"), Event("admin", "[DONE]")]


def test_conformance_failures_name_the_mistakes() -> None:
    failures = check_parser(NaiveParser)
    names = {f.case for f in failures}
    assert {
        "utf8_split_across_chunks",
        "crlf_split_across_chunks",
        "u2028_u2029_not_line_breaks",
        "bom_stripped",
    } <= names
    # It is not hopeless: most cases pass, which is why such code survives.
    assert len(names) < 30
