"""HTTP/1.1 without I/O: request heads out, response heads and bodies in.

The lab's measuring clients count every byte that crosses the wire (a token
costs its text *plus* the chunked framing *plus* its share of the head), so
they speak HTTP/1.1 themselves instead of going through a library that hides
the framing. This module is the one place that knows the format; it never
touches a socket (like `h11 <https://h11.readthedocs.io>`_, against which
``tests/test_http1.py`` cross-checks it):

* :func:`build_request` -- a request head as bytes, refusing header names and
  values that would inject a line break.
* :class:`HeadParser` -- a response head, fed in pieces of any size, with
  limits on its size and number of header lines.
* :func:`body_decoder` -- the body's framing (``Content-Length``,
  ``chunked`` with extensions and trailers, or "until the connection
  closes"), each a :class:`BodyDecoder`: bytes in, payload out, with
  **byte accounting** (framing bytes and payload bytes kept apart).
* :class:`ResponseParser` -- all of it in one object that turns bytes into
  events (:class:`ResponseHead`, :class:`Data`, :class:`EndOfMessage`).

Example::

    parser = ResponseParser()
    for event in parser.feed(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nhi"):
        print(event)
    parser.head_bytes, parser.framing_bytes, parser.payload_bytes  # (38, 0, 2)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

__all__ = [
    "MAX_HEAD_BYTES",
    "MAX_HEADERS",
    "BodyDecoder",
    "ChunkedDecoder",
    "ContentLengthDecoder",
    "Data",
    "EndOfMessage",
    "Event",
    "HeadParser",
    "IncompleteMessage",
    "LimitExceeded",
    "Origin",
    "ProtocolError",
    "ResponseHead",
    "ResponseParser",
    "UntilCloseDecoder",
    "body_decoder",
    "build_request",
    "split_url",
]

#: Default ceiling on a response head (status line + headers), in bytes.
MAX_HEAD_BYTES = 64 * 1024
#: Default ceiling on the number of header lines in a head or trailer.
MAX_HEADERS = 100
# A chunk-size line longer than this is garbage, not a chunk header.
_MAX_CHUNK_LINE = 4096

# The grammar of RFC 9110/9112, in the same spelling as h11's, so both accept
# and refuse the same heads (tests/test_http1.py checks that they do).
_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
_FIELD_VCHAR = rb"[^\x00\s]"
_FIELD_CONTENT = rb"%s+(?:[ \t]+%s+)*" % (_FIELD_VCHAR, _FIELD_VCHAR)
_HEADER_RE = re.compile(rb"(?P<name>%s):[ \t]*(?P<value>(?:%s)?)[ \t]*" % (_TOKEN, _FIELD_CONTENT))
_STATUS_RE = re.compile(
    rb"HTTP/(?P<version>[0-9]\.[0-9]) (?P<status>[0-9]{3})(?: (?P<reason>(?:[ \t]|[^\x00\s])*))?"
)
_CHUNK_RE = re.compile(rb"(?P<size>[0-9A-Fa-f]{1,20})(?P<ext>;.*)?[ \t]*")
_TOKEN_RE = re.compile(_TOKEN.decode())
_VALUE_RE = re.compile(r"[^\x00\r\n]*")
_TARGET_RE = re.compile(r"[\x21-\x7e]+")
_BLANK_LINE = re.compile(rb"\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")


class ProtocolError(ValueError):
    """The bytes are not valid HTTP/1.1 (or a request cannot be written safely)."""


class LimitExceeded(ProtocolError):
    """A head, a header count or a chunk-size line went past its limit."""


class IncompleteMessage(ProtocolError):
    """The connection ended before the framing said the body was complete."""


# -- requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where a URL's request goes, split out by :func:`split_url`.

    Attributes:
        scheme: ``http`` or ``https``.
        host: The host name to connect to.
        port: The TCP port (80/443 when the URL names none).
        netloc: The ``Host`` header value (``host[:port]``, no credentials).
        target: The request target: percent-encoded path and query.
    """

    scheme: str
    host: str
    port: int
    netloc: str
    target: str

    @property
    def secure(self) -> bool:
        """True for ``https``."""
        return self.scheme == "https"


# Percent-encode what may not appear raw in a request line (spaces, CJK text in
# a prompt); already-encoded sequences and URL delimiters stay as they are.
_SAFE = "/?&=%+:@!$'()*,;~-._"


def split_url(url: str) -> Origin:
    """Split an ``http(s)://`` URL into connection address, Host and target.

    Raises:
        ProtocolError: Not an ``http`` or ``https`` URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ProtocolError(f"an http(s):// URL is needed, got {url!r}")
    secure = parts.scheme == "https"
    target = quote(parts.path or "/", safe=_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_SAFE)
    return Origin(
        scheme=parts.scheme,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (443 if secure else 80),
        netloc=parts.netloc.rsplit("@", 1)[-1],
        target=target,
    )


def build_request(
    method: str,
    target: str,
    host: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
) -> bytes:
    """The bytes of a request head: request line, ``Host``, headers, blank line.

    Headers are written in the order given, after ``Host``. The body (if any)
    is not part of the head; give its ``Content-Length`` in ``headers``.

    Raises:
        ProtocolError: The method or a header name is not a token, the target
            has spaces or control characters, or a value contains CR, LF or
            NUL (which would let a value smuggle in a header of its own).
    """
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    if not _TOKEN_RE.fullmatch(method):
        raise ProtocolError(f"illegal method {method!r}")
    if not _TARGET_RE.fullmatch(target):
        raise ProtocolError(f"illegal request target {target!r}")
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in [("Host", host), *items]:
        value = str(value)
        if not _TOKEN_RE.fullmatch(name):
            raise ProtocolError(f"illegal header name {name!r}")
        if not _VALUE_RE.fullmatch(value):
            raise ProtocolError(f"header {name} must not contain CR, LF or NUL")
        lines.append(f"{name}: {value.strip()}")
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        raise ProtocolError("request heads are latin-1; percent-encode the text") from None


# -- response heads ------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseHead:
    """A parsed response head (an event of :class:`ResponseParser`).

    Attributes:
        status: The status code.
        reason: The reason phrase (may be empty).
        http_version: ``"1.1"`` or ``"1.0"``.
        raw_headers: ``(name, value)`` pairs in order, names as sent.
        headers: Names in ``Title-Case`` (``Content-Type``), repeated headers
            joined with ``", "``: the convenient view.
        size: Bytes of the head on the wire, blank line included.
    """

    status: int
    reason: str
    http_version: str = "1.1"
    raw_headers: tuple[tuple[str, str], ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    size: int = 0

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may carry another request after this response."""
        tokens = {t.strip().lower() for t in self.headers.get("Connection", "").split(",")}
        if "close" in tokens:
            return False
        return self.http_version != "1.0" or "keep-alive" in tokens


def _header_lines(lines: list[bytes], max_headers: int) -> list[tuple[str, str]]:
    """Decode header lines (obs-fold joined with one space, as h11 does)."""
    folded: list[bytearray] = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if not folded:
                raise ProtocolError("a continuation line before the first header")
            folded[-1] += b" " + line.lstrip(b" \t")
        else:
            folded.append(bytearray(line))
    if len(folded) > max_headers:
        raise LimitExceeded(f"more than {max_headers} header lines")
    out = []
    for line in folded:
        match = _HEADER_RE.fullmatch(line)
        if match is None:
            raise ProtocolError(f"illegal header line {bytes(line)[:80]!r}")
        out.append((match["name"].decode("ascii"), match["value"].decode("latin-1")))
    return out


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in pairs:
        key = name.title()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _split_lines(buf: bytes, start: int = 0) -> tuple[list[bytes], int] | None:
    """The lines of a head in ``buf`` and the bytes it took, or None if incomplete.

    ``start``: where to begin looking for the blank line (bytes before it were
    searched already), so a head fed byte by byte is not rescanned each time.
    """
    if buf[:1] == b"\n":
        return [], 1
    if buf[:2] == b"\r\n":
        return [], 2
    match = _BLANK_LINE.search(buf, start)
    if match is None:
        return None
    text = buf[: match.start()]
    if text.endswith(b"\r"):  # the CR of the last line's CRLF (the match took its LF)
        text = text[:-1]
    return _LINE_END.split(text), match.end()


class HeadParser:
    """Reads one response head from bytes fed in pieces of any size.

    Args:
        max_size: Refuse a head longer than this many bytes.
        max_headers: Refuse more header lines than this.

    After :meth:`feed` returned the head, :attr:`unused` holds the bytes that
    followed it (the start of the body).
    """

    def __init__(self, max_size: int = MAX_HEAD_BYTES, max_headers: int = MAX_HEADERS) -> None:
        self.max_size = max_size
        self.max_headers = max_headers
        self.unused = b""
        self._buf = bytearray()
        self._searched = 0

    def feed(self, data: bytes) -> ResponseHead | None:
        """Add bytes; return the :class:`ResponseHead` once it is complete.

        Raises:
            ProtocolError: Not a valid status line or header line.
            LimitExceeded: The head is too long or has too many headers.
        """
        self._buf += data
        # The blank line ("\n\r\n" at most 3 bytes) may straddle two feeds.
        found = _split_lines(bytes(self._buf), max(0, self._searched - 2))
        if found is None:
            self._searched = len(self._buf)
            if len(self._buf) > self.max_size:
                raise LimitExceeded(f"response head longer than {self.max_size} bytes")
            return None
        lines, size = found
        if size > self.max_size:
            raise LimitExceeded(f"response head longer than {self.max_size} bytes")
        self.unused = bytes(self._buf[size:])
        self._buf = bytearray()
        if not lines:
            raise ProtocolError("no status line before the blank line")
        match = _STATUS_RE.fullmatch(lines[0])
        if match is None:
            raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(match["status"])
        if status < 100:
            raise ProtocolError(f"status {status} is below 100")
        pairs = _header_lines(lines[1:], self.max_headers)
        return ResponseHead(
            status=status,
            reason=(match["reason"] or b"").decode("latin-1").strip(),
            http_version=match["version"].decode("ascii"),
            raw_headers=tuple(pairs),
            headers=_joined(pairs),
            size=size,
        )


# -- bodies --------------------------------------------------------------------------


class BodyDecoder:
    """Removes one body's framing: bytes in, payload out, bytes counted.

    Attributes:
        framing_bytes: Bytes of framing consumed so far (chunk-size lines,
            CRLFs after chunks, the last chunk, trailers).
        payload_bytes: Bytes of payload returned so far.
        done: The body is complete (later bytes go to :attr:`unused`).
        trailers: Trailer fields of a chunked body, in order.
        unused: Bytes fed after the body ended (the next response's).
    """

    def __init__(self) -> None:
        self.framing_bytes = 0
        self.payload_bytes = 0
        self.done = False
        self.trailers: list[tuple[str, str]] = []
        self.unused = b""

    @property
    def wire_bytes(self) -> int:
        """Framing plus payload: every body byte this decoder consumed."""
        return self.framing_bytes + self.payload_bytes

    def feed(self, data: bytes) -> bytes:
        """Consume ``data``; return the payload found in it (maybe ``b""``)."""
        raise NotImplementedError

    def feed_eof(self) -> None:
        """The connection closed. Raises :class:`IncompleteMessage` if the body
        needed more bytes."""
        if not self.done:
            raise IncompleteMessage("the connection closed in the middle of the body")


class ContentLengthDecoder(BodyDecoder):
    """A body of exactly ``length`` bytes (no framing bytes at all)."""

    def __init__(self, length: int) -> None:
        super().__init__()
        self.remaining = length
        self.done = length == 0

    def feed(self, data: bytes) -> bytes:
        if self.done:
            self.unused += data
            return b""
        piece, rest = data[: self.remaining], data[self.remaining :]
        self.remaining -= len(piece)
        self.payload_bytes += len(piece)
        if self.remaining == 0:
            self.done = True
            self.unused += rest
        return piece


class UntilCloseDecoder(BodyDecoder):
    """A body that runs until the server closes the connection."""

    def feed(self, data: bytes) -> bytes:
        self.payload_bytes += len(data)
        return data

    def feed_eof(self) -> None:
        self.done = True


class ChunkedDecoder(BodyDecoder):
    """``Transfer-Encoding: chunked``: size lines (extensions ignored), data, trailers.

    Args:
        max_headers: Refuse more trailer lines than this.
        max_trailer_size: Refuse a trailer section longer than this.
    """

    def __init__(
        self, max_headers: int = MAX_HEADERS, max_trailer_size: int = MAX_HEAD_BYTES
    ) -> None:
        super().__init__()
        self.max_headers = max_headers
        self.max_trailer_size = max_trailer_size
        self._buf = b""
        self._left = 0  # data bytes left in the current chunk
        self._crlf = b""  # what is left to check of the CRLF after a chunk's data
        self._trailer = False

    def feed(self, data: bytes) -> bytes:
        if self.done:
            self.unused += data
            return b""
        buf = self._buf + data
        out = bytearray()
        pos = 0
        while pos < len(buf) and not self.done:
            if self._left:
                piece = buf[pos : pos + self._left]
                out += piece
                pos += len(piece)
                self._left -= len(piece)
                self.payload_bytes += len(piece)
                if not self._left:
                    self._crlf = b"\r\n"
            elif self._crlf:
                got = buf[pos : pos + len(self._crlf)]
                if got != self._crlf[: len(got)]:
                    raise ProtocolError(f"malformed chunk: {got!r} where CRLF belongs")
                self._crlf = self._crlf[len(got) :]
                pos += len(got)
                self.framing_bytes += len(got)
            elif self._trailer:
                found = _split_lines(buf[pos:])
                if found is None:
                    if len(buf) - pos > self.max_trailer_size:
                        raise LimitExceeded("chunked trailers too long")
                    break
                lines, size = found
                self.trailers = _header_lines(lines, self.max_headers)
                pos += size
                self.framing_bytes += size
                self.done = True
            else:
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    if len(buf) - pos > _MAX_CHUNK_LINE:
                        raise LimitExceeded("chunk-size line too long")
                    break
                match = _CHUNK_RE.fullmatch(buf, pos, end)
                if match is None:
                    raise ProtocolError(f"illegal chunk header {buf[pos:end][:80]!r}")
                self.framing_bytes += end + 2 - pos
                pos = end + 2
                self._left = int(match["size"], 16)
                self._trailer = self._left == 0
        if self.done:
            self.unused += buf[pos:]
            self._buf = b""
        else:
            self._buf = buf[pos:]
        return bytes(out)


def body_decoder(
    head: ResponseHead, request_method: str = "GET", *, max_headers: int = MAX_HEADERS
) -> BodyDecoder:
    """The :class:`BodyDecoder` the head calls for (RFC 9112 section 6.3).

    No body after ``HEAD``, 1xx, 204 and 304; ``chunked`` wins over
    ``Content-Length``; without either the body runs until the close.

    Raises:
        ProtocolError: A transfer coding other than ``chunked``, or a missing,
            malformed or conflicting ``Content-Length``.
    """
    # The framing headers are checked even where they are not used (h11 does
    # too): a malformed one means the peer cannot be trusted to frame at all.
    te = [v for k, v in head.raw_headers if k.lower() == "transfer-encoding"]
    if te and (len(te) > 1 or te[0].strip().lower() != "chunked"):
        raise ProtocolError(f"unsupported Transfer-Encoding {', '.join(te)!r}")
    lengths = {
        part.strip()
        for k, v in head.raw_headers
        if k.lower() == "content-length"
        for part in v.split(",")
    }
    if len(lengths) > 1:
        raise ProtocolError(f"conflicting Content-Length values {sorted(lengths)}")
    length = lengths.pop() if lengths else None
    if length is not None and not (length.isascii() and length.isdigit() and len(length) <= 20):
        raise ProtocolError(f"bad Content-Length {length!r}")
    if request_method.upper() == "HEAD" or head.status < 200 or head.status in (204, 304):
        return ContentLengthDecoder(0)
    if te:
        return ChunkedDecoder(max_headers=max_headers)
    if length is None:
        return UntilCloseDecoder()
    return ContentLengthDecoder(int(length))


# -- the whole response ----------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    """A piece of body payload (framing removed)."""

    data: bytes


@dataclass(frozen=True)
class EndOfMessage:
    """The response is complete; ``trailers`` holds a chunked body's trailer fields."""

    trailers: tuple[tuple[str, str], ...] = ()


#: What :meth:`ResponseParser.feed` returns: a head, a piece of body, or the end.
Event = ResponseHead | Data | EndOfMessage


class ResponseParser:
    """A whole response from bytes fed in pieces: head, body pieces, end.

    Informational (1xx) heads other than ``101`` come out as their own
    :class:`ResponseHead` events and the parser reads the next head; after
    ``101 Switching Protocols`` (or any end of message) the bytes that follow
    are left in :attr:`unused`.

    Attributes:
        head: The final response head once read.
        head_bytes: Bytes of all heads read (1xx included).
        framing_bytes, payload_bytes: From the body's :class:`BodyDecoder`.
    """

    def __init__(
        self,
        request_method: str = "GET",
        *,
        max_head_size: int = MAX_HEAD_BYTES,
        max_headers: int = MAX_HEADERS,
    ) -> None:
        self.request_method = request_method
        self.max_head_size = max_head_size
        self.max_headers = max_headers
        self.head: ResponseHead | None = None
        self.head_bytes = 0
        self.body: BodyDecoder | None = None
        self._head_parser = HeadParser(max_head_size, max_headers)
        self._ended = False

    @property
    def framing_bytes(self) -> int:
        """Bytes of body framing consumed so far."""
        return 0 if self.body is None else self.body.framing_bytes

    @property
    def payload_bytes(self) -> int:
        """Bytes of body payload returned so far."""
        return 0 if self.body is None else self.body.payload_bytes

    @property
    def done(self) -> bool:
        """The response (head and body) is complete."""
        return self._ended

    @property
    def unused(self) -> bytes:
        """Bytes fed after the end of the response."""
        if self.body is not None:
            return self.body.unused
        return self._head_parser.unused if self._ended else b""

    def feed(self, data: bytes) -> list[Event]:
        """Consume ``data``; return the events it completes, in order."""
        events: list[Event] = []
        if self._ended:
            if self.body is not None:
                self.body.unused += data
            else:
                self._head_parser.unused += data
            return events
        while self.body is None:
            head = self._head_parser.feed(data)
            if head is None:
                return events
            self.head_bytes += head.size
            events.append(head)
            data = self._head_parser.unused
            if 100 <= head.status < 200 and head.status != 101:
                self._head_parser = HeadParser(self.max_head_size, self.max_headers)
                continue
            self.head = head
            if head.status == 101:
                self._head_parser.unused = data
                self._ended = True
                events.append(EndOfMessage())
                return events
            self.body = body_decoder(head, self.request_method, max_headers=self.max_headers)
        self._body_events(data, events)
        return events

    def feed_eof(self) -> list[Event]:
        """The connection closed: the last events, or :class:`IncompleteMessage`."""
        if self._ended:
            return []
        if self.body is None:
            raise IncompleteMessage("the connection closed before the response head ended")
        self.body.feed_eof()
        self._ended = True
        return [EndOfMessage(tuple(self.body.trailers))]

    def _body_events(self, data: bytes, events: list[Event]) -> None:
        assert self.body is not None
        piece = self.body.feed(data) if data or self.body.done else b""
        if piece:
            events.append(Data(piece))
        if self.body.done and not self._ended:
            self._ended = True
            events.append(EndOfMessage(tuple(self.body.trailers)))
