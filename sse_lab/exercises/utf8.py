"""Checker for notebook 02's exercise 2: a UTF-8-safe token emitter.

A BPE token is bytes and may end inside a character (``助`` is the tokens
``b"\\xe5\\x8a"`` + ``b"\\xa9"``). The learner writes ``SafeEmitter``:
``feed(token) -> str`` returns the text that can be sent now (whole
characters only, ``""`` while half a character is held back) and
``close() -> str`` ends the stream. :func:`check_safe_emitter` feeds it real
``cl100k_base`` tokens and hand-cut byte streams and says, in plain words,
what went wrong: replacement characters, lost characters, an exception, or
text held back longer than needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sse_lab.exercises.result import CheckResult, result
from sse_lab.exercises.sandbox import Timeout as _Timeout
from sse_lab.exercises.sandbox import call_limited, describe_error
from sse_lab.model import SOURCE_ANSWER
from sse_lab.tokenizer import Utf8Stream, token_bytes

__all__ = ["check_safe_emitter"]

_REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class _Case:
    name: str
    pieces: tuple[bytes, ...]
    expected: tuple[str, ...]  # what feed() should return for each piece
    rest: str = ""  # what close() should return


def _case(name: str, pieces: list[bytes]) -> _Case:
    stream = Utf8Stream()
    expected = tuple(stream.feed(p) for p in pieces)
    return _Case(name, tuple(pieces), expected, stream.flush())


def _cases() -> list[_Case]:
    emoji = "🚀".encode()
    return [
        _case("the article's answer in real cl100k_base tokens", token_bytes(SOURCE_ANSWER)),
        _case("plain English tokens", token_bytes("Streaming keeps the reader busy.")),
        _case("an emoji cut into three tokens", [b"go ", emoji[:2], emoji[2:3], emoji[3:]]),
        _case("é cut between two tokens", [b"caf\xc3", b"\xa9 au lait"]),
        _case("every byte on its own", [bytes([b]) for b in "Grüße, 世界!".encode()]),
        _case("a stream that ends inside a character", [b"ok ", b"\xe5\x8a"]),
    ]


def _run(cls: Any, pieces: tuple[bytes, ...]) -> tuple[list[Any], Any]:
    emitter = cls()
    outs = [emitter.feed(p) for p in pieces]
    return outs, emitter.close()


def _diagnose(case: _Case, outs: list[Any], rest: Any) -> str | None:
    where = "On {case}"  # filled in by the caller, which groups cases with one diagnosis
    bad = [o for o in [*outs, rest] if not isinstance(o, str)]
    if bad:
        return (f"{where}, feed()/close() returned {bad[0]!r}; they must return str "
                "(\"\" when there is nothing to send yet).")
    sent = "".join(outs) + rest
    wanted = "".join(case.expected) + case.rest
    if sent == wanted and list(outs) == list(case.expected):
        return None
    if _REPLACEMENT in "".join(outs) and _REPLACEMENT not in "".join(case.expected):
        return (f"{where}, your events carry the replacement character �: each token was "
                "decoded on its own, so half a character became �. Keep the bytes of an "
                "unfinished character and put them in front of the next token.")
    if len(sent) < len(wanted) and sent == wanted.replace(_REPLACEMENT, "")[: len(sent)]:
        if case.rest and not rest:
            return (f"{where}, close() returned {rest!r}: the stream ended inside a character. "
                    "Do not drop those bytes silently; send U+FFFD (�), as a browser shows "
                    "a cut-off character (decode with errors=\"replace\", final=True).")
    if len(sent) < len(wanted):
        return (f"{where}, characters are missing: you sent {sent!r}, the text is {wanted!r}. "
                "errors=\"ignore\" throws the halves of a split character away.")
    if sent == wanted:
        late = next(i for i, (o, e) in enumerate(zip(outs, case.expected, strict=True))
                    if o != e)
        return (f"{where}, the text is right but it leaves late: after token {late} "
                f"({case.pieces[late]!r}) you returned {outs[late]!r} where {case.expected[late]!r}"
                " was complete. Send every whole character at once; hold back only an "
                "unfinished one.")
    return f"{where}, you sent {sent!r}, but the tokens spell {wanted!r}."


def _grouped(found: list[tuple[str, str]]) -> list[str]:
    """One problem per diagnosis, naming every case it applies to."""
    by_text: dict[str, list[str]] = {}
    for case, text in found:
        by_text.setdefault(text, []).append(case)
    out = []
    for text, cases in by_text.items():
        names = cases[0] if len(cases) == 1 else ", ".join(cases[:-1]) + " and " + cases[-1]
        out.append(text.replace("{case}", names, 1))
    return out


def check_safe_emitter(emitter_class: Callable[[], Any]) -> CheckResult:
    """Exercise 02.2: ``SafeEmitter`` sends whole characters only, and sends them at once.

    A fresh instance per case: ``feed(token: bytes) -> str`` for every token,
    then ``close() -> str``. The joined output must be the text, no event may
    carry a replacement character that the bytes did not force, and a
    character must leave with the token that completes it.
    """
    name = "Exercise 2: a UTF-8-safe token emitter"
    if not callable(emitter_class):
        return result(name, ["Pass the class itself: check_safe_emitter(SafeEmitter)."])
    problems: list[str] = []
    found: list[tuple[str, str]] = []
    passed = 0
    cases = _cases()
    for case in cases:
        try:
            outs, rest = call_limited(_run, emitter_class, case.pieces)
        except _Timeout:
            problems.append(f"On {case.name} your emitter did not finish within 2 s.")
            continue
        except UnicodeDecodeError as exc:
            problems.append(
                f"On {case.name} decoding raised {describe_error(exc)}: a token can end "
                "inside a character, so decoding it alone fails. Keep the unfinished bytes "
                "for the next token (codecs.getincrementaldecoder(\"utf-8\") does exactly that).")
            continue
        except Exception as exc:
            problems.append(f"On {case.name} your emitter raised {describe_error(exc)}.")
            continue
        if outs and all(o is None for o in outs) and rest is None:
            return result(name, ["feed() and close() return None: write their bodies."])
        if any(o is Ellipsis for o in [*outs, rest]):
            return result(name, ["feed() and close() still return `...`: write their bodies."])
        problem = _diagnose(case, outs, rest)
        if problem is None:
            passed += 1
        else:
            found.append((case.name, problem))
    problems += _grouped(found)
    notes = []
    if not problems:
        notes.append(f"All {passed} streams came out whole: every character left with the "
                     "token that completed it, and a cut-off one became �, not an exception.")
        notes.append("This is what the lab's model does (sse_lab.tokenizer.Utf8Stream), and "
                     "what real servers do before they put text into an SSE event.")
    return result(name, problems, notes)
