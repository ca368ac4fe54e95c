"""sse_lab.http1 against h11: the same bytes give the same response, or both refuse them."""

from __future__ import annotations

import random

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sse_lab import http1
from sse_lab.http1 import (
    Data,
    EndOfMessage,
    IncompleteMessage,
    LimitExceeded,
    ProtocolError,
    ResponseHead,
    ResponseParser,
    build_request,
    split_url,
)

# -- the two parsers, reduced to one comparable result ---------------------------------


def via_h11(pieces: list[bytes], method: str = "GET") -> tuple:
    """(status, reason, headers, body, trailers) from h11, or "error"."""
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
    conn.send(h11.EndOfMessage())
    status = reason = None
    headers: list = []
    body = b""
    trailers: list = []
    try:
        for piece in [*pieces, b""]:  # b"" = the connection closed
            conn.receive_data(piece)
            while True:
                event = conn.next_event()
                if event in (h11.NEED_DATA, h11.PAUSED):
                    break
                if isinstance(event, h11.InformationalResponse):
                    continue
                if isinstance(event, h11.Response):
                    status, reason = event.status_code, event.reason.decode("latin-1")
                    headers = [(k.decode().lower(), v.decode("latin-1")) for k, v in event.headers]
                elif isinstance(event, h11.Data):
                    body += bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    trailers = [(k.decode().lower(), v.decode("latin-1")) for k, v in event.headers]
                    return status, reason, normalize(headers), body, normalize(trailers)
                elif isinstance(event, h11.ConnectionClosed):
                    return "error"
    except h11.RemoteProtocolError:
        return "error"
    return "error"


def via_http1(pieces: list[bytes], method: str = "GET") -> tuple:
    """The same result from sse_lab.http1, or "error"."""
    parser = ResponseParser(method)
    head = None
    body = b""
    try:
        events: list = []
        for piece in pieces:
            events += parser.feed(piece)
        if not parser.done:
            events += parser.feed_eof()
    except ProtocolError:
        return "error"
    for event in events:
        if isinstance(event, ResponseHead) and event.status >= 200:
            head = event
        elif isinstance(event, Data):
            body += event.data
        elif isinstance(event, EndOfMessage):
            assert head is not None
            headers = [(k.lower(), v) for k, v in head.raw_headers]
            trailers = [(k.lower(), v) for k, v in event.trailers]
            return head.status, head.reason, normalize(headers), body, normalize(trailers)
    return "error"


def normalize(headers: list) -> tuple:
    # h11 collapses repeated identical Content-Length values and lowercases the
    # transfer coding; compare the meaning, not that bookkeeping.
    out, seen_cl = [], False
    for k, v in headers:
        if k == "content-length":
            if seen_cl:
                continue
            seen_cl, v = True, v.split(",")[0].strip()
        if k == "transfer-encoding":
            v = v.lower()
        out.append((k, v))
    return tuple(out)


def splits(data: bytes, rng: random.Random) -> list[list[bytes]]:
    """Whole, byte by byte, and a few random cuts."""
    ways = [[data], [data[i : i + 1] for i in range(len(data))]]
    for _ in range(5):
        cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 6))))
        ways.append([data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)])
    return ways


def same(data: bytes, method: str = "GET", seed: int = 0) -> tuple:
    results = set()
    expected = via_h11([data], method)
    for pieces in splits(data, random.Random(seed)):
        got_h11, got = via_h11(pieces, method), via_http1(pieces, method)
        assert got == got_h11 == expected, (pieces, got, got_h11)
        results.add(got)
    assert len(results) == 1
    return expected


# -- responses both accept, and the ones both refuse -----------------------------------

OK = b"HTTP/1.1 200 OK\r\n"
CH = OK + b"Transfer-Encoding: chunked\r\n"

GOOD = {
    "length": OK + b"Content-Length: 5\r\nX-A: 1\r\n\r\nhello",
    "chunked": CH + b"\r\n5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n",
    "chunk extensions": (CH + b'\r\n5;name=value;q="x;y"\r\nhello\r\n0;last\r\n\r\n'),
    "trailers": (
        CH + b"Trailer: X-Sum\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 42\r\nX-Other:  two words  \r\n\r\n"
    ),
    "upper hex and trailing space": (
        OK + b"Transfer-Encoding: Chunked\r\n\r\nA  \r\n0123456789\r\n0\r\n\r\n"
    ),
    "until close": OK + b"Content-Type: text/plain\r\n\r\nall of it",
    "http/1.0": b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nbody",
    "no reason": b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    "empty reason": b"HTTP/1.1 404 \r\nContent-Length: 3\r\n\r\nnah",
    "bare LF": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    "obs-fold": OK + b"X-Long: one\r\n  two\r\n\tthree\r\nContent-Length: 0\r\n\r\n",
    "empty value and odd spacing": OK + b"X-E:\r\nX-S:\t a b \t\r\nContent-Length: 0\r\n\r\n",
    "repeated headers": OK + b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n",
    "same content-length twice": OK + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\nok",
    "content-length list": OK + b"Content-Length: 2, 2\r\n\r\nok",
    "chunked wins over length": (
        OK + b"Content-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    ),
    "204 has no body": b"HTTP/1.1 204 No Content\r\nX: y\r\n\r\n",
    "304 has no body": b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
    "100 continue first": b"HTTP/1.1 100 Continue\r\n\r\n" + OK + b"Content-Length: 1\r\n\r\nx",
    "latin-1 value": OK + b"X-L: caf\xe9\r\nContent-Length: 0\r\n\r\n",
    "empty chunked": CH + b"\r\n0\r\n\r\n",
}

BAD = {
    "not http": b"ICY 200 OK\r\n\r\n",
    "status of two digits": b"HTTP/1.1 20 OK\r\n\r\n",
    "space before colon": OK + b"X-A : 1\r\nContent-Length: 0\r\n\r\n",
    "no colon": OK + b"NoColon\r\nContent-Length: 0\r\n\r\n",
    "bad name": OK + b"X(A): 1\r\nContent-Length: 0\r\n\r\n",
    "fold before any header": OK + b"  x\r\nContent-Length: 0\r\n\r\n",
    "NUL in value": OK + b"X: a\x00b\r\nContent-Length: 0\r\n\r\n",
    "CR in value": OK + b"X: a\rb\r\nContent-Length: 0\r\n\r\n",
    "conflicting lengths": OK + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
    "negative length": OK + b"Content-Length: -1\r\n\r\n",
    "gzip coding": OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "two TE headers": (CH + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "chunk size not hex": CH + b"\r\nzz\r\n",
    "chunk without CRLF": CH + b"\r\n2\r\nokXX0\r\n\r\n",
    "short length body": OK + b"Content-Length: 10\r\n\r\nshort",
    "chunked cut off": CH + b"\r\n5\r\nhel",
    "head cut off": OK + b"Content-Le",
    "bad trailer": CH + b"\r\n0\r\nBad Trailer\r\n\r\n",
}


@pytest.mark.parametrize("name", list(GOOD))
def test_accepted_like_h11(name: str) -> None:
    assert same(GOOD[name]) != "error", name


@pytest.mark.parametrize("name", list(BAD))
def test_refused_like_h11(name: str) -> None:
    assert same(BAD[name]) == "error", name


def test_head_request_has_no_body() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    assert same(data, method="HEAD") == (200, "OK", (("content-length", "5"),), b"", ())


def test_values_and_trailers_as_expected() -> None:
    status, reason, headers, body, trailers = same(GOOD["trailers"])
    assert (status, reason, body) == (200, "OK", b"abc")
    assert trailers == (("x-sum", "42"), ("x-other", "two words"))
    assert same(GOOD["obs-fold"])[2][0] == ("x-long", "one two three")


# -- byte accounting -------------------------------------------------------------------


def test_byte_accounting_adds_up_to_the_wire() -> None:
    data = GOOD["trailers"]
    parser = ResponseParser()
    for i in range(len(data)):
        parser.feed(data[i : i + 1])
    assert parser.done and parser.head is not None
    head_len = data.index(b"\r\n\r\n") + 4
    assert parser.head_bytes == parser.head.size == head_len
    assert parser.payload_bytes == 3
    assert parser.head_bytes + parser.framing_bytes + parser.payload_bytes == len(data)
    assert parser.body is not None and parser.body.wire_bytes == len(data) - head_len


def test_bytes_after_the_message_are_left_unused() -> None:
    second = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    for first in (GOOD["length"], GOOD["chunked"]):
        parser = ResponseParser()
        events = parser.feed(first + second)
        assert isinstance(events[-1], EndOfMessage)
        assert parser.unused == second
        assert parser.head_bytes + parser.framing_bytes + parser.payload_bytes == len(first)


def test_switching_protocols_leaves_the_rest() -> None:
    parser = ResponseParser()
    events = parser.feed(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: ws\r\n\r\n\x81\x02hi")
    assert [type(e) for e in events] == [ResponseHead, EndOfMessage]
    assert parser.unused == b"\x81\x02hi"


def test_limits() -> None:
    with pytest.raises(LimitExceeded):
        ResponseParser(max_head_size=100).feed(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 200)
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(20))
    with pytest.raises(LimitExceeded):
        ResponseParser(max_headers=10).feed(b"HTTP/1.1 200 OK\r\n" + many + b"\r\n")
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    with pytest.raises(LimitExceeded):
        ResponseParser().feed(chunked + b"1" * 5000)
    with pytest.raises(IncompleteMessage):
        parser = ResponseParser()
        parser.feed(chunked + b"5\r\nab")
        parser.feed_eof()


# -- random chunked bodies at random split points (hypothesis) -------------------------


@st.composite
def chunked_response(draw: st.DrawFn) -> tuple[bytes, bytes, list[int]]:
    chunks = draw(st.lists(st.binary(min_size=1, max_size=40), max_size=8))
    wire = bytearray(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    for chunk in chunks:
        size = f"{len(chunk):x}"
        if draw(st.booleans()):
            size = size.upper()
        ext = draw(st.sampled_from(["", ";a", ";a=b", ';n="v;w"', ";x=1 "]))
        wire += f"{size}{ext}\r\n".encode() + chunk + b"\r\n"
    wire += b"0\r\n"
    if draw(st.booleans()):
        wire += b"X-T: t\r\n"
    wire += b"\r\n"
    data = bytes(wire)
    # Distinct cuts: an empty piece would mean "the connection closed" to h11.
    cuts = sorted(set(draw(st.lists(st.integers(1, len(data) - 1), max_size=10))))
    return data, b"".join(chunks), cuts


@settings(max_examples=300, deadline=None)
@given(chunked_response())
def test_random_chunked_bodies_match_h11(case: tuple[bytes, bytes, list[int]]) -> None:
    data, body, cuts = case
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    got = via_http1(pieces)
    assert got == via_h11(pieces)
    assert got != "error" and got[3] == body
    parser = ResponseParser()
    for piece in pieces:
        parser.feed(piece)
    assert parser.payload_bytes == len(body)
    assert parser.head_bytes + parser.framing_bytes + parser.payload_bytes == len(data)


# -- requests --------------------------------------------------------------------------


def test_build_request_is_what_h11_writes() -> None:
    head = build_request("POST", "/v1/x?a=1", "127.0.0.1:8000", {"Content-Length": "2", "X-A": "b"})
    conn = h11.Connection(h11.CLIENT)
    expected = conn.send(
        h11.Request(
            method="POST",
            target="/v1/x?a=1",
            headers=[("Host", "127.0.0.1:8000"), ("Content-Length", "2"), ("X-A", "b")],
        )
    )
    assert head.lower() == expected.lower()
    server = h11.Connection(h11.SERVER)
    server.receive_data(head + b"ok")
    request = server.next_event()
    assert isinstance(request, h11.Request) and request.target == b"/v1/x?a=1"


@pytest.mark.parametrize(
    "name,value",
    [("X", "a\r\nInjected: 1"), ("X", "a\nb"), ("X", "a\x00"), ("Bad Name", "v"), ("X:Y", "v")],
)
def test_build_request_refuses_injection(name: str, value: str) -> None:
    with pytest.raises(ProtocolError):
        build_request("GET", "/", "h", [(name, value)])


def test_build_request_refuses_a_bad_line() -> None:
    with pytest.raises(ProtocolError):
        build_request("GET", "/a b", "h")
    with pytest.raises(ProtocolError):
        build_request("G T", "/", "h")
    with pytest.raises(ProtocolError):
        build_request("GET", "/", "h\r\nX: 1")


def test_split_url_encodes_the_target() -> None:
    origin = split_url("http://user:pw@127.0.0.1:8123/chat?prompt=你好 x&seed=1")
    assert (origin.host, origin.port, origin.netloc) == ("127.0.0.1", 8123, "127.0.0.1:8123")
    assert origin.target == "/chat?prompt=%E4%BD%A0%E5%A5%BD%20x&seed=1"
    assert split_url("https://example.org").port == 443 and split_url("https://e.org").secure
    with pytest.raises(ProtocolError):
        split_url("ftp://example.org/")


def test_public_names_are_documented() -> None:
    for name in http1.__all__:
        obj = getattr(http1, name)
        if callable(obj):
            assert obj.__doc__, name


@st.composite
def odd_head(draw: st.DrawFn) -> bytes:
    """Heads from tricky pieces: odd names, spacing, folds, lengths and codings."""
    status = draw(
        st.sampled_from([b"HTTP/1.1 200 OK", b"HTTP/1.0 200", b"HTTP/1.1 204 ", b"HTTP/1.1 99 x"])
    )
    names = st.sampled_from([b"X-A", b"Content-Length", b"Transfer-Encoding", b"X A", b"", b"\xe9"])
    values = st.lists(
        st.sampled_from(
            [b"a", b" ", b"\t", b",", b"1", b"3", b"chunked", b"gzip", b"\x00", b"\xff"]
        ),
        max_size=4,
    )
    lines = [status]
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.integers(0, 5)) == 0:
            lines.append(b" " + b"".join(draw(values)))  # an obs-fold continuation
        else:
            lines.append(
                draw(names) + draw(st.sampled_from([b":", b" :", b""])) + b"".join(draw(values))
            )
    end = draw(st.sampled_from([b"\r\n", b"\n"]))
    body = draw(st.sampled_from([b"", b"abc", b"3\r\nabc\r\n0\r\n\r\n"]))
    return end.join(lines) + end + end + body


@settings(max_examples=400, deadline=None)
@given(odd_head(), st.integers(1, 7))
def test_odd_heads_are_judged_like_h11(data: bytes, step: int) -> None:
    pieces = [data[i : i + step] for i in range(0, len(data), step)]
    assert via_http1(pieces) == via_h11(pieces)
