"""The SSE decoder and encoder against WHATWG HTML §9.2.5-9.2.6.

The spec cases live in :mod:`sse_lab.conformance`; here they run against
:class:`~sse_lab.protocol.EventParser` under every chunking, the checker is
checked on parsers that are wrong on purpose, and hypothesis hunts for inputs
where the encoder and decoder disagree.
"""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sse_lab.conformance import (
    CASES,
    MODES,
    Case,
    Failure,
    HttpxSSEAdapter,
    SSEClientPyAdapter,
    check_parser,
)
from sse_lab.protocol import Event, EventParser, encode_event, parse

CASE_IDS = [case.name for case in CASES]
PROPERTY = settings(max_examples=200, deadline=None, database=None)


def feed_chunks(chunks: list[bytes]) -> tuple[list[Event], EventParser]:
    parser = EventParser()
    events: list[Event] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    events += parser.close()
    return events, parser


def split_at(stream: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def assert_case(case: Case, chunks: list[bytes]) -> None:
    assert b"".join(chunks) == case.stream
    events, parser = feed_chunks(chunks)
    assert events == list(case.events), case.rule
    assert parser.last_event_id == case.last_event_id, case.rule
    assert parser.retry == case.retry, case.rule


# -- the conformance cases ---------------------------------------------------------


def test_cases_are_well_formed() -> None:
    assert len(CASE_IDS) == len(set(CASE_IDS)), "case names must be unique"
    assert len(CASES) >= 60
    for case in CASES:
        assert isinstance(case.stream, bytes)
        assert isinstance(case.events, tuple)
        assert all(isinstance(e, Event) for e in case.events)
        assert case.rule, f"{case.name} quotes no rule"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_case_whole(case: Case) -> None:
    assert_case(case, [case.stream])


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_case_bytewise(case: Case) -> None:
    assert_case(case, [case.stream[i : i + 1] for i in range(len(case.stream))])


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_case_random_splits(case: Case) -> None:
    rng = random.Random(f"sse-{case.name}")
    inner = range(1, len(case.stream))
    for _ in range(50):
        cuts = rng.sample(inner, rng.randint(0, min(len(inner), 6)))
        assert_case(case, split_at(case.stream, cuts))


def test_trailing_cr_dispatches_without_waiting() -> None:
    parser = EventParser()
    assert parser.feed(b"data: x\r\r") == [Event(data="x")]
    # The LF that may follow a CR is swallowed, not read as one more blank line.
    assert parser.feed(b"\ndata: y\r") == []
    assert parser.feed(b"\n\r\n") == [Event(data="y")]
    assert parser.close() == []


def test_crlf_split_across_feeds_is_one_line_ending() -> None:
    parser = EventParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\ndata: b\r") == []
    assert parser.feed(b"\n\r") == [Event(data="a\nb")]


def test_close_discards_block_and_keeps_reconnection_state() -> None:
    parser = EventParser()
    assert parser.feed(b"id: 1\nretry: 30\ndata: a\n\nid: 2\ndata: b\n") == [
        Event(data="a", id="1", retry=30)
    ]
    assert parser.close() == []
    assert (parser.last_event_id, parser.retry) == ("1", 30)
    # A new connection: the BOM is stripped again and the last event ID carries on.
    assert parser.feed(b"\xef\xbb\xbfdata: c\n\n") == [Event(data="c", id="1")]


# -- the checker ---------------------------------------------------------------------


def test_check_parser_passes_event_parser_in_every_mode() -> None:
    assert check_parser(EventParser, modes=MODES) == []


def test_check_parser_accepts_a_parse_function() -> None:
    assert check_parser(parse) == []


class DictParser:
    """EventParser, reporting browser-style dicts ('type', 'lastEventId')."""

    def __init__(self) -> None:
        self._parser = EventParser()

    @staticmethod
    def _dicts(events: list[Event]) -> list[dict[str, object]]:
        return [
            {"type": e.event, "data": e.data, "lastEventId": e.id, "retry": e.retry}
            for e in events
        ]

    def feed(self, chunk: bytes) -> list[dict[str, object]]:
        return self._dicts(self._parser.feed(chunk))

    def close(self) -> list[dict[str, object]]:
        return self._dicts(self._parser.close())


def test_check_parser_normalises_dict_events() -> None:
    assert check_parser(DictParser, modes=MODES) == []


class NaiveParser:
    """The classic mistake: decode each chunk on its own, split with splitlines()."""

    def __init__(self) -> None:
        self.data: list[str] = []
        self.event = ""

    def feed(self, chunk: bytes) -> list[Event]:
        events = []
        for line in chunk.decode("utf-8", "replace").splitlines():
            if not line:
                if self.data:
                    events.append(Event(self.event or "message", "\n".join(self.data)))
                self.data, self.event = [], ""
            elif line.startswith("data:"):
                self.data.append(line[5:].strip())
            elif line.startswith("event:"):
                self.event = line[6:].strip()
        return events


def test_check_parser_catches_a_naive_parser() -> None:
    failures = check_parser(NaiveParser)
    assert all(isinstance(f, Failure) for f in failures)
    found = {(f.case, f.mode) for f in failures}
    assert ("u2028_u2029_not_line_breaks", "whole") in found
    assert ("vt_ff_not_line_breaks", "whole") in found
    assert ("bom_stripped", "whole") in found
    assert ("only_one_leading_space_stripped", "whole") in found
    assert ("utf8_split_across_chunks", "bytewise") in found
    assert ("crlf_split_across_chunks", "bytewise") in found
    assert ("spec_intro_three_messages", "whole") not in found
    failure = next(f for f in failures if f.case == "u2028_u2029_not_line_breaks")
    assert "u2028_u2029_not_line_breaks" in str(failure)
    assert failure.expected == (Event(data="a\u2028data: b\u2029c"),)


class RaisingParser:
    def feed(self, chunk: bytes) -> list[Event]:
        raise RuntimeError("boom")


class BrokenConstructor:
    def __init__(self) -> None:
        raise ValueError("cannot start")


class WrongReturn:
    def feed(self, chunk: bytes) -> int:
        return 42


class MissingData:
    def feed(self, chunk: bytes) -> list[object]:
        return [object()] if b"\n\n" in chunk else []


def raising_parse(stream: bytes) -> list[Event]:
    raise KeyError("nope")


@pytest.mark.parametrize("bad", [RaisingParser, BrokenConstructor, WrongReturn, raising_parse])
def test_check_parser_survives_a_parser_that_fails(bad: object) -> None:
    failures = check_parser(bad)
    assert all(isinstance(f, Failure) and f.explanation for f in failures)
    # Every case fails whole (bytewise, the empty stream never reaches feed()).
    assert {f.case for f in failures if f.mode == "whole"} == set(CASE_IDS)
    if bad is not raising_parse:  # a parse function only sees whole streams
        bytewise = {f.case for f in failures if f.mode == "bytewise"}
        assert bytewise >= set(CASE_IDS) - {"empty_stream"}


def test_check_parser_survives_events_without_data() -> None:
    failures = check_parser(MissingData, modes=("whole",))
    assert [f for f in failures if f.case == "line_endings_lf" and "data" in f.explanation]


def test_check_parser_rejects_misuse() -> None:
    with pytest.raises(ValueError, match="mode"):
        check_parser(EventParser, modes=("sideways",))
    with pytest.raises(TypeError, match="fresh parser"):
        check_parser(EventParser())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("module", "adapter"), [("httpx_sse", HttpxSSEAdapter), ("sseclient", SSEClientPyAdapter)]
)
def test_check_parser_grades_third_party_adapters(module: str, adapter: type) -> None:
    pytest.importorskip(module)
    failures = check_parser(adapter, modes=MODES)
    assert all(isinstance(f, Failure) for f in failures)
    # The adapter works: the spec's first example passes when fed whole.
    assert not [f for f in failures if (f.case, f.mode) == ("spec_intro_three_messages", "whole")]


# -- the encoder ---------------------------------------------------------------------


def test_encode_event_full_block() -> None:
    out = encode_event("x", event="e", id="1", retry=5, comment="c")
    assert out == b": c\nevent: e\nid: 1\nretry: 5\ndata: x\n\n"
    assert parse(out) == [Event("e", "x", "1", 5)]


def test_encode_event_splits_data_on_every_line_break() -> None:
    out = encode_event("a\nb\rc\r\nd")
    assert out == b"data: a\ndata: b\ndata: c\ndata: d\n\n"
    assert parse(out) == [Event(data="a\nb\nc\nd")]
    assert encode_event("") == b"data: \n\n"
    assert parse(encode_event("\n")) == [Event(data="\n")]


def test_encode_event_splits_comment_per_line() -> None:
    assert encode_event(comment="a\nb\r\nc\rd") == b": a\n: b\n: c\n: d\n\n"
    assert encode_event(comment="a\n\nb") == b": a\n:\n: b\n\n"
    assert encode_event(comment="") == b":\n\n"
    assert parse(encode_event(comment="x\ndata: forged")) == []


def test_encode_event_without_data_dispatches_nothing() -> None:
    out = encode_event(id="7", retry=100)
    assert out == b"id: 7\nretry: 100\n\n"
    parser = EventParser()
    assert parser.feed(out) == []
    assert (parser.last_event_id, parser.retry) == ("7", 100)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"event": "a\nb"},
        {"event": "a\rb"},
        {"event": "a\r\nb"},
        {"id": "1\n2"},
        {"id": "1\r2"},
        {"id": "1\x002"},
        {"retry": -1},
        {"retry": True},
        {"retry": False},
        {"retry": 1.5},
        {"retry": "5"},
    ],
    ids=repr,
)
def test_encode_event_refuses_forgeable_fields(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        encode_event("x", **kwargs)  # type: ignore[arg-type]


# -- properties ----------------------------------------------------------------------

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CHARS = st.characters(codec="utf-8")
_TRICKY = st.sampled_from("\r\n\x00: \ufeff\u2028\x85\x0bdataevent")
any_text = st.text(alphabet=st.one_of(_TRICKY, _CHARS), max_size=40)
line_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=40)
id_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=40)


@PROPERTY
@given(
    data=st.none() | any_text,
    event=st.none() | line_text,
    id_=st.none() | id_text,
    retry=st.none() | st.integers(min_value=0, max_value=2**64),
    comment=st.none() | any_text,
)
def test_encode_then_parse_round_trips(
    data: str | None, event: str | None, id_: str | None, retry: int | None, comment: str | None
) -> None:
    out = encode_event(data, event=event, id=id_, retry=retry, comment=comment)
    parser = EventParser()
    events = parser.feed(out) + parser.close()
    assert (parser.last_event_id, parser.retry) == (id_ or "", retry)
    if data is None:
        assert events == []
    else:
        assert events == [Event(event or "message", _LINE_BREAK.sub("\n", data), id_ or "", retry)]


@PROPERTY
@given(
    data=st.none() | any_text,
    event=st.none() | any_text,
    id_=st.none() | any_text,
    retry=st.none() | st.integers() | st.booleans() | st.floats() | st.text(max_size=3),
    comment=st.none() | any_text,
    draw=st.data(),
)
def test_encoder_never_forges_a_second_event(
    data: str | None,
    event: str | None,
    id_: str | None,
    retry: object,
    comment: str | None,
    draw: st.DataObject,
) -> None:
    try:
        out = encode_event(data, event=event, id=id_, retry=retry, comment=comment)  # type: ignore[arg-type]
    except ValueError:
        return
    whole = parse(out)
    assert len(whole) == (0 if data is None else 1)
    cuts = draw.draw(st.lists(st.integers(1, max(1, len(out) - 1)), max_size=8))
    chunked, _ = feed_chunks(split_at(out, [c for c in cuts if c < len(out)]))
    assert chunked == whole


_SSE_BYTES = st.sampled_from(
    [b"data", b"event", b"id", b"retry", b":", b" ", b"\r", b"\n", b"\r\n", b"5", b"x",
     b"\x00", b"\xef\xbb\xbf", b"\xe6\x88", b"\x91", b"\xff", b"\xc2\x85", b"\xe2\x80\xa8"]
)  # fmt: skip
any_stream = st.binary(max_size=200) | st.lists(_SSE_BYTES, max_size=60).map(b"".join)


@PROPERTY
@given(stream=any_stream, draw=st.data())
def test_any_bytes_any_chunking_same_events(stream: bytes, draw: st.DataObject) -> None:
    whole, ref = feed_chunks([stream])
    cuts = draw.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=20))
    chunked, parser = feed_chunks(split_at(stream, [c for c in cuts if c < len(stream)]))
    assert chunked == whole
    assert (parser.last_event_id, parser.retry) == (ref.last_event_id, ref.retry)
    bytewise, _ = feed_chunks([stream[i : i + 1] for i in range(len(stream))])
    assert bytewise == whole


_PIECES = [
    "data: ", "data:", "id: ", "id:", "event: x", "retry: 15", "retry: x", ": c", "\n",
    "\r\n", "\r", "\n\n", "\r\n\r\n", "我是你的AI助手", "\ufeff", "\x00", "a" * 3000, "b" * 700,
    '{"k": "' + "z" * 5000 + '"}', "data", "x:y", " ", "da", "ta: ",
]


@pytest.mark.parametrize("seed", range(4))
def test_fast_parser_matches_the_plain_reference_on_random_streams(seed: int) -> None:
    # Long lines switch EventParser to its long-line path; large chunks,
    # tiny chunks and CR/LF mixes must all give what the plain parser gives.
    from reference_parser import ReferenceParser

    rnd = random.Random(seed)
    for _ in range(300):
        text = "".join(rnd.choice(_PIECES) for _ in range(rnd.randint(1, 40)))
        stream = text.encode("utf-8")
        if rnd.random() < 0.2:  # some invalid UTF-8
            stream = bytes(b ^ 0x80 if rnd.random() < 0.01 else b for b in stream)
        size = rnd.choice([1, 7, 100, 2048, 4096, 9000, len(stream) or 1])
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        fast, plain = EventParser(), ReferenceParser()
        got = [e for c in chunks for e in fast.feed(c)] + fast.close()
        want = [e for c in chunks for e in plain.feed(c)] + plain.close()
        assert got == want, stream[:80]
        assert (fast.last_event_id, fast.retry) == (plain.last_event_id, plain.retry)


def test_event_is_immutable_hashable_and_equal_only_to_events() -> None:
    ev = Event("message", "hi", "1", None)
    assert ev == Event(data="hi", id="1")
    assert ev != ("message", "hi", "1", None)  # a plain tuple is not an event
    assert ("message", "hi", "1", None) != ev
    assert hash(ev) == hash(Event(data="hi", id="1"))
    assert {ev, Event(data="hi", id="1")} == {ev}
    with pytest.raises(AttributeError):
        ev.data = "changed"  # type: ignore[misc]
    assert repr(ev) == "Event(event='message', data='hi', id='1', retry=None)"
