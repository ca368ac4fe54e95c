"""Spec conformance cases for event-stream decoders, and a checker that runs them.

Every :class:`Case` is one byte stream with the events a conforming decoder
must dispatch for it, per the WHATWG HTML Living Standard §9.2.5 "Parsing an
event stream" and §9.2.6 "Interpreting an event stream". ``rule`` names the
sentence of the spec the case pins down.

The rules, in short (§9.2.6):

* The stream is UTF-8 decoded: invalid bytes become U+FFFD and exactly one
  leading BOM is stripped.
* A line ends at CRLF, at an LF, or at a CR not followed by LF; nothing else
  (not U+2028, VT, FF, NEL, ...) ends a line.
* A blank line dispatches the block; a line starting with ``:`` is a comment;
  otherwise the text before the first ``:`` is the field name and the text
  after it the value, minus one leading space; a line without ``:`` is a field
  name with an empty value. Field names are case-sensitive.
* ``data`` appends the value and an LF to the data buffer; ``event`` sets the
  event type buffer; ``id`` sets the last event ID buffer unless the value
  contains NUL; ``retry`` sets the reconnection time if the value is only ASCII
  digits; any other field is ignored.
* On dispatch the last event ID is set from its buffer (even without data);
  an empty data buffer dispatches nothing; one trailing LF is removed; the type
  is the event type buffer or ``"message"``. The data and type buffers reset,
  the last event ID buffer does not.
* At the end of the stream a block without its blank line is discarded.

Expected events follow :class:`sse_lab.protocol.Event`: ``id`` is the last
event ID at dispatch time (it persists across events), ``retry`` is the
reconnection time set by that block (else ``None``). ``Case.last_event_id``
and ``Case.retry`` are the decoder's state after the whole stream.

This module is pure data plus :func:`check_parser`; it imports nothing but
:class:`~sse_lab.protocol.Event`, so a notebook can grade a learner's decoder
with it and a benchmark can rate third-party decoders.
"""

from __future__ import annotations

from dataclasses import dataclass

from sse_lab.i18n import N_, tr
from sse_lab.protocol import Event

__all__ = ["CASES", "Case", "translated_rule"]


@dataclass(frozen=True)
class Case:
    """One conformance case: a byte stream and what it must decode to."""

    name: str
    stream: bytes
    events: tuple[Event, ...]
    last_event_id: str = ""
    retry: int | None = None
    rule: str = ""


def _ev(data: str, event: str = "message", *, id: str = "", retry: int | None = None) -> Event:
    return Event(event=event, data=data, id=id, retry=retry)


def _u(text: str) -> bytes:
    return text.encode("utf-8")


_CHAT = "我是你的AI助手,很高兴为您服务!"

_RETRY_RULE = N_(
    '§9.2.6 "retry": if the field value consists of only ASCII digits, set the reconnection '
    "time; otherwise, ignore the field"
)


def translated_rule(rule: str) -> str:
    """A case's ``rule`` in the current language (what a learner's checker shows).

    Rules are catalogue messages (marked ``N_`` below); the spec's section numbers,
    field names and quoted values stay as they are. A ``retry_ignored_*`` rule is the
    shared ``"retry"`` rule plus its case's reason, translated part by part.
    """
    head = _RETRY_RULE + " ("
    if rule.startswith(head) and rule.endswith(")"):
        return tr("{rule} ({why})", rule=tr(_RETRY_RULE), why=tr(rule[len(head):-1]))
    return tr(rule)


def _retry_ignored(name: str, line: bytes, why: str) -> Case:
    # A valid retry first, so "ignore the field" is told apart from "reset it".
    return Case(
        name=f"retry_ignored_{name}",
        stream=b"retry: 1000\n\n" + line + b"\ndata: x\n\n",
        events=(_ev("x"),),
        retry=1000,
        rule=f"{_RETRY_RULE} ({why})",
    )


CASES: list[Case] = [
    # -- the spec's own examples -------------------------------------------------
    Case(
        "spec_intro_three_messages",
        b"data: This is the first message.\n\n"
        b"data: This is the second message, it\n"
        b"data: has two lines.\n\n"
        b"data: This is the third message.\n\n",
        (
            _ev("This is the first message."),
            _ev("This is the second message, it\nhas two lines."),
            _ev("This is the third message."),
        ),
        rule=N_("§9.2.1 example: each blank line dispatches; data lines join with LF"),
    ),
    Case(
        "spec_intro_add_remove",
        b"event: add\ndata: 73857293\n\n"
        b"event: remove\ndata: 2153\n\n"
        b"event: add\ndata: 113411\n\n",
        (_ev("73857293", "add"), _ev("2153", "remove"), _ev("113411", "add")),
        rule=N_('§9.2.1 example: "event" sets the type of the event the block dispatches'),
    ),
    Case(
        "spec_test_stream_four_blocks",
        b": test stream\n\n"
        b"data: first event\nid: 1\n\n"
        b"data:second event\nid\n\n"
        b"data:  third event\n\n",
        (
            _ev("first event", id="1"),
            _ev("second event", id=""),
            _ev(" third event", id=""),
        ),
        rule=N_('§9.2.6 example: a comment block fires nothing; "id" with no value resets the '
        "last event ID; only one space after the colon is removed"),
    ),
    Case(
        "spec_test_stream_last_block_needs_blank_line",
        b": test stream\n\n"
        b"data: first event\nid: 1\n\n"
        b"data:second event\nid\n\n"
        b"data:  third event\n",
        (_ev("first event", id="1"), _ev("second event", id="")),
        rule=N_("§9.2.6 example: the last block still has to end with a blank line, the end "
        "of the stream is not enough to dispatch it"),
    ),
    Case(
        "spec_empty_data_blocks",
        b"data\n\ndata\ndata\n\ndata:",
        (_ev(""), _ev("\n")),
        rule=N_("§9.2.6 example: 'data' gives \"\", 'data\\ndata' gives \"\\n\"; the last block "
        "is discarded because no blank line follows it"),
    ),
    Case(
        "spec_space_after_colon",
        b"data:test\n\ndata: test\n\n",
        (_ev("test"), _ev("test")),
        rule=N_("§9.2.6 example: two identical events, the space after the colon is ignored "
        "if present"),
    ),
    Case(
        "id_only_block_updates_last_event_id",
        b"data: a\nid: 1\n\nid: 2\n\ndata: b\n\n",
        (_ev("a", id="1"), _ev("b", id="2")),
        last_event_id="2",
        rule=N_("§9.2.6 dispatch step 1: set the last event ID string from its buffer, before "
        "step 2 returns for an empty data buffer"),
    ),
    Case(
        "id_only_block_at_end",
        b"data: a\n\nid: 9\n\n",
        (_ev("a"),),
        last_event_id="9",
        rule=N_("§9.2.6: a block with only an id dispatches no event but sets the last event ID"),
    ),
    # -- line endings ----------------------------------------------------------------
    Case(
        "line_endings_lf",
        b"event: e\ndata: a\ndata: b\n\n",
        (_ev("a\nb", "e"),),
        rule=N_("§9.2.6: a single LF ends a line"),
    ),
    Case(
        "line_endings_crlf",
        b"event: e\r\ndata: a\r\ndata: b\r\n\r\n",
        (_ev("a\nb", "e"),),
        rule=N_("§9.2.6: a CRLF pair ends a line"),
    ),
    Case(
        "line_endings_cr",
        b"event: e\rdata: a\rdata: b\r\r",
        (_ev("a\nb", "e"),),
        rule=N_("§9.2.6: a single CR not followed by LF ends a line"),
    ),
    Case(
        "line_endings_mixed",
        b"data: a\r\ndata: b\rdata: c\n\r\n",
        (_ev("a\nb\nc"),),
        rule=N_("§9.2.5: end-of-line = ( cr lf / cr / lf ), freely mixed in one stream"),
    ),
    Case(
        "lf_cr_is_two_line_endings",
        b"data: a\n\rdata: b\r\n\n",
        (_ev("a"), _ev("b")),
        rule=N_("§9.2.6: LF then CR is two line endings (only CR LF is a pair)"),
    ),
    Case(
        "cr_cr_lf_lf_is_three_line_endings",
        b"data: a\r\r\n\ndata: b\n\n",
        (_ev("a"), _ev("b")),
        rule=N_("§9.2.6: CR, CRLF, LF: the second and third are blank lines, the third "
        "dispatches nothing"),
    ),
    Case(
        "crlf_split_across_chunks",
        b"data: a\r\ndata: b\r\n\r\n",
        (_ev("a\nb"),),
        rule=N_("§9.2.6: CRLF is one line ending even when CR and LF arrive in different "
        "chunks (bytewise mode splits every pair)"),
    ),
    Case(
        "trailing_cr_dispatches_immediately",
        b"data: x\r\r",
        (_ev("x"),),
        rule=N_("§9.2.6: a CR ends its line at once; a blank line ended by CR dispatches "
        "without waiting for a possible LF"),
    ),
    Case(
        "trailing_crlf_then_cr_dispatches",
        b"data: x\r\n\r",
        (_ev("x"),),
        rule=N_("§9.2.6: the blank line ended by the final CR dispatches the block"),
    ),
    Case(
        "line_ended_by_cr_without_blank_line",
        b"data: x\r",
        (),
        rule=N_("§9.2.6: a line ended by CR is not a blank line; the block is not dispatched"),
    ),
    # -- byte order mark ---------------------------------------------------------------
    Case(
        "bom_stripped",
        b"\xef\xbb\xbfdata: a\n\n",
        (_ev("a"),),
        rule=N_("§9.2.6: streams are decoded with UTF-8 decode, which strips one leading BOM"),
    ),
    Case(
        "bom_split_across_chunks",
        b"\xef\xbb\xbfevent: bom\ndata: x\n\n",
        (_ev("x", "bom"),),
        rule=N_("§9.2.6: the leading BOM is stripped even when its three bytes arrive in "
        "separate chunks"),
    ),
    Case(
        "bom_stripped_only_once",
        b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n",
        (_ev("b"),),
        rule=N_("§9.2.6: only one BOM is stripped; the second makes the field name "
        "'\\ufeffdata', which is ignored"),
    ),
    Case(
        "bom_not_at_start_kept",
        b"data: a\n\n\xef\xbb\xbfdata: b\n\ndata: c\n\n",
        (_ev("a"), _ev("c")),
        rule=N_("§9.2.6: a BOM later in the stream is an ordinary character ('\\ufeffdata' "
        "is an unknown field)"),
    ),
    Case(
        "bom_inside_data_kept",
        b"\xef\xbb\xbfdata: \xef\xbb\xbfx\n\n",
        (_ev("\ufeffx"),),
        rule=N_("§9.2.6: only the BOM at the very start of the stream is stripped"),
    ),
    Case(
        "bom_then_blank_line",
        b"\xef\xbb\xbf\ndata: a\n\n",
        (_ev("a"),),
        rule=N_("§9.2.6: after the BOM the first line is blank and dispatches nothing"),
    ),
    Case(
        "utf16_bom_not_stripped",
        b"\xff\xfedata: 1\n\ndata: 2\n\n",
        (_ev("2"),),
        rule=N_("§9.2.6: streams are always UTF-8; a UTF-16 BOM decodes to U+FFFD U+FFFD and "
        "the field name '\\ufffd\\ufffddata' is ignored"),
    ),
    # -- UTF-8 decoding ------------------------------------------------------------------
    Case(
        "invalid_utf8_replaced",
        b"data: a\xffb\n\n",
        (_ev("a\ufffdb"),),
        rule=N_("§9.2.6 UTF-8 decode: an invalid byte becomes U+FFFD"),
    ),
    Case(
        "truncated_utf8_sequence_replaced",
        b"data: \xe6\x88\n\n",
        (_ev("\ufffd"),),
        rule=N_("UTF-8 decode: a truncated sequence is one U+FFFD, and the LF after it still "
        "ends the line"),
    ),
    Case(
        "overlong_and_surrogate_utf8_replaced",
        b"data: \xc0\xaf|\xed\xa0\x80\n\n",
        (_ev("\ufffd\ufffd|\ufffd\ufffd\ufffd"),),
        rule=N_("UTF-8 decode (Encoding Standard): one U+FFFD per invalid byte of an overlong "
        "form or an encoded surrogate"),
    ),
    Case(
        "invalid_utf8_in_field_name",
        b"d\xffata: x\n\ndata: y\n\n",
        (_ev("y"),),
        rule=N_("§9.2.6: 'd\\ufffdata' is an unknown field name and is ignored"),
    ),
    Case(
        "utf8_split_across_chunks",
        _u(f"data: {_CHAT}\n\n"),
        (_ev(_CHAT),),
        rule=N_("§9.2.6: the stream is decoded as one UTF-8 text, so a character split "
        "across chunks is kept whole"),
    ),
    Case(
        "utf8_four_byte_characters",
        _u("data: 😀🚀\nevent: 火箭\n\n"),
        (_ev("😀🚀", "火箭"),),
        rule=N_("§9.2.6: any Unicode scalar value is allowed in fields and values"),
    ),
    Case(
        "truncated_utf8_at_end_of_stream",
        b"data: a\n\ndata: \xe6\x88",
        (_ev("a"),),
        rule=N_("§9.2.6: an incomplete final block (here ending in a truncated character) is "
        "discarded"),
    ),
    # -- data ----------------------------------------------------------------------------
    Case(
        "data_colon_empty_value",
        b"data:\n\n",
        (_ev(""),),
        rule=N_('§9.2.6: "data" appends the (empty) value and an LF, so an event with data '
        '"" is dispatched'),
    ),
    Case(
        "data_without_colon",
        b"data\n\n",
        (_ev(""),),
        rule=N_("§9.2.6: a line without a colon is a field name with the empty string as value"),
    ),
    Case(
        "data_single_space_value",
        b"data: \n\n",
        (_ev(""),),
        rule=N_("§9.2.6: the one space after the colon is removed, leaving an empty value"),
    ),
    Case(
        "data_three_empty_lines",
        b"data\ndata\ndata\n\n",
        (_ev("\n\n"),),
        rule=N_("§9.2.6: each data line appends value + LF; only the final LF is removed"),
    ),
    Case(
        "data_trailing_empty_line_kept",
        b"data: a\ndata:\n\n",
        (_ev("a\n"),),
        rule=N_("§9.2.6 dispatch step 3: only the last LF of the data buffer is removed"),
    ),
    Case(
        "data_leading_empty_line_kept",
        b"data:\ndata: a\n\n",
        (_ev("\na"),),
        rule=N_("§9.2.6: an empty data line still contributes its LF"),
    ),
    Case(
        "nul_in_data_kept",
        b"data: a\x00b\n\n",
        (_ev("a\x00b"),),
        rule=N_("§9.2.5: any-char excludes only CR and LF; NUL in data is kept"),
    ),
    Case(
        "nul_in_event_type_kept",
        b"event: a\x00b\ndata: x\n\n",
        (_ev("x", "a\x00b"),),
        rule=N_('§9.2.6: "event" sets the buffer to the value as is (only "id" rejects NUL)'),
    ),
    Case(
        "openai_style_stream",
        b'data: {"delta": "Hi"}\n\ndata: {"delta": "!"}\n\ndata: [DONE]\n\n',
        (_ev('{"delta": "Hi"}'), _ev('{"delta": "!"}'), _ev("[DONE]")),
        rule=N_("§9.2.6: each block is one message event; the data is opaque text"),
    ),
    # -- blocks without data -------------------------------------------------------------
    Case(
        "block_without_data_dispatches_nothing",
        b"event: foo\nid: 1\nretry: 5\n\n",
        (),
        last_event_id="1",
        retry=5,
        rule=N_("§9.2.6 dispatch step 2: an empty data buffer dispatches no event (id and "
        "retry still take effect)"),
    ),
    Case(
        "event_type_reset_by_dataless_block",
        b"event: foo\n\ndata: x\n\n",
        (_ev("x"),),
        rule=N_("§9.2.6 dispatch step 2: with no data, the event type buffer is reset too"),
    ),
    Case(
        "comment_only_block",
        b": hello\n\n",
        (),
        rule=N_("§9.2.6: a line starting with a colon is ignored"),
    ),
    Case(
        "blank_lines_only",
        b"\n\n\r\n\r\r",
        (),
        rule=N_("§9.2.6: blank lines with an empty data buffer dispatch nothing"),
    ),
    Case("empty_stream", b"", (), rule=N_("§9.2.5: stream = [ bom ] *event; nothing, no events")),
    Case(
        "leading_blank_lines",
        b"\n\n\ndata: x\n\n",
        (_ev("x"),),
        rule=N_("§9.2.6: leading blank lines dispatch nothing"),
    ),
    # -- id --------------------------------------------------------------------------------
    Case(
        "id_persists_across_events",
        b"id: 1\ndata: a\n\ndata: b\n\n",
        (_ev("a", id="1"), _ev("b", id="1")),
        last_event_id="1",
        rule=N_("§9.2.6: the last event ID buffer is not reset, so later events keep the "
        "last seen id"),
    ),
    Case(
        "id_empty_value_resets",
        b"id: 1\ndata: a\n\nid:\ndata: b\n\n",
        (_ev("a", id="1"), _ev("b", id="")),
        rule=N_('§9.2.6: "id:" with an empty value sets the last event ID buffer to ""'),
    ),
    Case(
        "id_without_colon_resets",
        b"id: 1\ndata: a\n\nid\ndata: b\n\n",
        (_ev("a", id="1"), _ev("b", id="")),
        rule=N_("§9.2.6: a bare 'id' line is the field id with an empty value"),
    ),
    Case(
        "id_with_nul_ignored",
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
        (_ev("a", id="1"), _ev("b", id="1")),
        last_event_id="1",
        rule=N_('§9.2.6 "id": if the field value does not contain U+0000 NULL, set the buffer; '
        "otherwise, ignore the field"),
    ),
    Case(
        "id_only_nul_ignored",
        b"id: \x00\ndata: a\n\n",
        (_ev("a"),),
        rule=N_('§9.2.6 "id": a value containing NUL is ignored'),
    ),
    Case(
        "id_after_data_in_block",
        b"data: a\nid: 7\n\n",
        (_ev("a", id="7"),),
        last_event_id="7",
        rule=N_("§9.2.6: field order within a block does not matter; the id applies at dispatch"),
    ),
    Case(
        "id_last_one_wins",
        b"id: 1\nid: 2\ndata: a\n\n",
        (_ev("a", id="2"),),
        last_event_id="2",
        rule=N_('§9.2.6 "id": each id field overwrites the last event ID buffer'),
    ),
    Case(
        "id_from_unterminated_block_not_applied",
        b"data: a\nid: 1\n\nid: 2\ndata: b\n",
        (_ev("a", id="1"),),
        last_event_id="1",
        rule=N_("§9.2.6: the last event ID string is only set on dispatch; an unterminated "
        "final block is discarded"),
    ),
    Case(
        "id_leading_space_stripped_once",
        b"id:  x\ndata: a\n\n",
        (_ev("a", id=" x"),),
        last_event_id=" x",
        rule=N_("§9.2.6: only one leading space is removed from any field value"),
    ),
    # -- retry ---------------------------------------------------------------------------
    Case(
        "retry_valid",
        b"retry: 1000\ndata: x\n\n",
        (_ev("x", retry=1000),),
        retry=1000,
        rule=_RETRY_RULE,
    ),
    Case(
        "retry_without_space",
        b"retry:2500\ndata: x\n\n",
        (_ev("x", retry=2500),),
        retry=2500,
        rule=_RETRY_RULE + " (the space after the colon is optional)",
    ),
    Case(
        "retry_zero",
        b"retry: 0\ndata: x\n\n",
        (_ev("x", retry=0),),
        retry=0,
        rule=_RETRY_RULE + " (0 is all digits)",
    ),
    Case(
        "retry_leading_zeros",
        b"retry: 007\ndata: x\n\n",
        (_ev("x", retry=7),),
        retry=7,
        rule=_RETRY_RULE + " (interpreted as an integer in base ten)",
    ),
    Case(
        "retry_only_on_its_block",
        b"retry: 5\ndata: a\n\ndata: b\n\n",
        (_ev("a", retry=5), _ev("b")),
        retry=5,
        rule=N_("Event.retry is the retry set by that block; the reconnection time stays in force"),
    ),
    Case(
        "retry_without_data",
        b"retry: 5\n\n",
        (),
        retry=5,
        rule=_RETRY_RULE + " (takes effect though the block dispatches no event)",
    ),
    Case(
        "retry_in_unterminated_block_applies",
        b"retry: 5\n",
        (),
        retry=5,
        rule=N_("§9.2.6: the reconnection time is set when the retry line is processed, not "
        "on dispatch"),
    ),
    Case(
        "retry_last_valid_wins",
        b"retry: 5\nretry: x\ndata: a\n\n",
        (_ev("a", retry=5),),
        retry=5,
        rule=_RETRY_RULE + " (an invalid later retry does not undo a valid one)",
    ),
    _retry_ignored("negative", b"retry: -1", N_("'-1' has a minus sign")),
    _retry_ignored("plus_sign", b"retry: +5", N_("'+5' has a plus sign")),
    _retry_ignored("two_spaces", b"retry:  5", N_("only one space is stripped, ' 5' remains")),
    _retry_ignored("trailing_space", b"retry: 5 ", N_("'5 ' has a space")),
    _retry_ignored("underscore", b"retry: 1_000", N_("'1_000' has an underscore")),
    _retry_ignored("arabic_indic_digits", _u("retry: ١٢"), N_("'١٢' are not ASCII digits")),
    _retry_ignored("fullwidth_digit", _u("retry: ５"), N_("'５' is not an ASCII digit")),
    _retry_ignored("superscript_digit", _u("retry: ²"), N_("'²' is not an ASCII digit")),
    _retry_ignored("unit_suffix", b"retry: 5ms", N_("'5ms' has letters")),
    _retry_ignored("decimal_point", b"retry: 5.0", N_("'5.0' has a dot")),
    _retry_ignored("exponent", b"retry: 1e3", N_("'1e3' has a letter")),
    _retry_ignored("hex", b"retry: 0x10", N_("'0x10' has letters")),
    _retry_ignored("empty_value", b"retry:", N_("the empty value has no digits")),
    _retry_ignored("space_only", b"retry: ", N_("the value is empty after the space")),
    _retry_ignored("no_colon", b"retry", N_("a bare 'retry' has the empty value")),
    # -- event -------------------------------------------------------------------------
    Case(
        "event_empty_is_message",
        b"event:\ndata: x\n\n",
        (_ev("x"),),
        rule=N_("§9.2.6 dispatch: the type is 'message' unless the event type buffer is non-empty"),
    ),
    Case(
        "event_space_only_is_message",
        b"event: \ndata: x\n\n",
        (_ev("x"),),
        rule=N_("§9.2.6: 'event: ' has the empty value, so the type is 'message'"),
    ),
    Case(
        "event_without_colon_resets_type",
        b"event: add\nevent\ndata: x\n\n",
        (_ev("x"),),
        rule=N_("§9.2.6: a bare 'event' line sets the event type buffer to \"\""),
    ),
    Case(
        "event_type_does_not_persist",
        b"event: add\ndata: a\n\ndata: b\n\n",
        (_ev("a", "add"), _ev("b")),
        rule=N_("§9.2.6 dispatch step 7: the event type buffer is reset after each event"),
    ),
    Case(
        "event_last_one_wins",
        b"event: a\nevent: b\ndata: x\n\n",
        (_ev("x", "b"),),
        rule=N_('§9.2.6 "event": set the event type buffer to the field value'),
    ),
    Case(
        "event_after_data_in_block",
        b"data: x\nevent: add\n\n",
        (_ev("x", "add"),),
        rule=N_("§9.2.6: field order within a block does not matter"),
    ),
    Case(
        "event_leading_space_stripped_once",
        b"event:  add\ndata: x\n\n",
        (_ev("x", " add"),),
        rule=N_("§9.2.6: if value starts with a space, remove it (one space only)"),
    ),
    # -- field syntax --------------------------------------------------------------------
    Case(
        "unknown_fields_ignored",
        b"foo: bar\nfoo\ndata: x\nid2: 3\n\n",
        (_ev("x"),),
        rule=N_("§9.2.6: any other field name: the field is ignored"),
    ),
    Case(
        "field_names_case_sensitive",
        b"Data: a\nDATA: b\nEvent: e\nID: 1\nRetry: 5\ndata: x\n\n",
        (_ev("x"),),
        rule=N_('§9.2.6: field names are compared exactly ("data", "event", "id", "retry")'),
    ),
    Case(
        "field_name_with_whitespace_ignored",
        b"data : a\n data: b\n\tdata: c\ndata: d\n\n",
        (_ev("d"),),
        rule=N_("§9.2.6: 'data ' and ' data' are other field names; no whitespace is trimmed "
        "from names"),
    ),
    Case(
        "nul_in_field_name_ignored",
        b"data\x00: x\ndata: y\n\n",
        (_ev("y"),),
        rule=N_("§9.2.6: 'data\\x00' is not the field name 'data'"),
    ),
    Case(
        "comments_ignored",
        b": comment\ndata: a\n: data: b\n:\ndata: c\n\n",
        (_ev("a\nc"),),
        rule=N_("§9.2.6: if the line starts with a colon, ignore the line"),
    ),
    Case(
        "colon_less_line_is_field_name",
        b"dataz\ndata\n\n",
        (_ev(""),),
        rule=N_("§9.2.6: a line without a colon is a whole field name with an empty value"),
    ),
    Case(
        "only_first_colon_splits",
        b"data: a: b:c\nevent:x:y\n\n",
        (_ev("a: b:c", "x:y"),),
        rule=N_("§9.2.6: the field is the text before the first colon, the value the text "
        "after it"),
    ),
    Case(
        "value_starting_with_colon",
        b"data::x\n\n",
        (_ev(":x"),),
        rule=N_("§9.2.6: only the first colon separates; the value keeps the second"),
    ),
    Case(
        "only_one_leading_space_stripped",
        b"data:  a\ndata:   \n\n",
        (_ev(" a\n  "),),
        rule=N_("§9.2.6: if value starts with a U+0020 SPACE, remove it (just that one)"),
    ),
    Case(
        "tab_not_stripped",
        b"data:\ta\n\n",
        (_ev("\ta"),),
        rule=N_("§9.2.6: only U+0020 SPACE is removed after the colon, not a tab"),
    ),
    Case(
        "trailing_whitespace_kept",
        b"data: a \t\n\n",
        (_ev("a \t"),),
        rule=N_("§9.2.6: nothing is trimmed from the end of a value"),
    ),
    Case(
        "mixed_field_parsing",
        b"data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\n"
        b"data:3\rdata:\r\n data:32\ndata:4\n\n",
        (_ev("\x00\n 2\n1\n3\n\n4"),),
        rule=N_("§9.2.6: field parsing with NULs, mixed line endings and look-alike names "
        "(in the style of the web-platform-tests)"),
    ),
    # -- end of stream ---------------------------------------------------------------------
    Case(
        "unterminated_block_discarded",
        b"data: x",
        (),
        rule=N_("§9.2.6: once the end of the file is reached, any pending data is discarded"),
    ),
    Case(
        "unterminated_block_after_line_end_discarded",
        b"data: a\n\ndata: b\n",
        (_ev("a"),),
        rule=N_("§9.2.6: a final block without its blank line is not dispatched"),
    ),
    Case(
        "unterminated_crlf_block_discarded",
        b"data: a\r\n\r\ndata: b\r\n",
        (_ev("a"),),
        rule=N_("§9.2.6: a final block without its blank line is not dispatched"),
    ),
    # -- characters that are not line breaks -----------------------------------------------
    Case(
        "u2028_u2029_not_line_breaks",
        _u("data: a\u2028data: b\u2029c\n\n"),
        (_ev("a\u2028data: b\u2029c"),),
        rule=N_("§9.2.6: only CRLF, LF and CR end lines (not U+2028 / U+2029, unlike "
        "str.splitlines)"),
    ),
    Case(
        "vt_ff_not_line_breaks",
        b"data: a\x0bdata: b\x0cc\n\n",
        (_ev("a\x0bdata: b\x0cc"),),
        rule=N_("§9.2.6: VT (\\x0b) and FF (\\x0c) do not end lines"),
    ),
    Case(
        "nel_not_line_break",
        _u("data: a\x85data: b\n\n"),
        (_ev("a\x85data: b"),),
        rule=N_("§9.2.6: NEL (U+0085) does not end a line"),
    ),
    Case(
        "fs_gs_rs_not_line_breaks",
        b"data: a\x1cb\x1dc\x1ed\n\n",
        (_ev("a\x1cb\x1dc\x1ed"),),
        rule=N_("§9.2.6: \\x1c, \\x1d, \\x1e do not end lines"),
    ),
    Case(
        "raw_0x85_byte_is_replaced_not_a_break",
        b"data: a\x85b\n\n",
        (_ev("a\ufffdb"),),
        rule=N_("§9.2.6: a lone 0x85 byte is invalid UTF-8 (U+FFFD), not NEL and not a break"),
    ),
]

