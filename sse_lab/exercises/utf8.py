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
from sse_lab.i18n import N_, tr
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
        _case(N_("the article's answer in real cl100k_base tokens"),
              token_bytes(SOURCE_ANSWER)),
        _case(N_("plain English tokens"), token_bytes("Streaming keeps the reader busy.")),
        _case(N_("an emoji cut into three tokens"), [b"go ", emoji[:2], emoji[2:3], emoji[3:]]),
        _case(N_("é cut between two tokens"), [b"caf\xc3", b"\xa9 au lait"]),
        _case(N_("every byte on its own"), [bytes([b]) for b in "Grüße, 世界!".encode()]),
        _case(N_("a stream that ends inside a character"), [b"ok ", b"\xe5\x8a"]),
    ]


def _run(cls: Any, pieces: tuple[bytes, ...]) -> tuple[list[Any], Any]:
    emitter = cls()
    outs = [emitter.feed(p) for p in pieces]
    return outs, emitter.close()


def _diagnose(case: _Case, outs: list[Any], rest: Any) -> str | None:
    # "{case}" stays in the text: the caller fills it in, grouping cases with one diagnosis.
    where = "{case}"
    bad = [o for o in [*outs, rest] if not isinstance(o, str)]
    if bad:
        return tr("On {case}, feed()/close() returned {got}; they must return str "
                  "(\"\" when there is nothing to send yet).", case=where, got=repr(bad[0]))
    sent = "".join(outs) + rest
    wanted = "".join(case.expected) + case.rest
    if sent == wanted and list(outs) == list(case.expected):
        return None
    if _REPLACEMENT in "".join(outs) and _REPLACEMENT not in "".join(case.expected):
        return tr("On {case}, your events carry the replacement character �: each token was "
                  "decoded on its own, so half a character became �. Keep the bytes of an "
                  "unfinished character and put them in front of the next token.", case=where)
    if len(sent) < len(wanted) and sent == wanted.replace(_REPLACEMENT, "")[: len(sent)]:
        if case.rest and not rest:
            return tr("On {case}, close() returned {got}: the stream ended inside a "
                      "character. Do not drop those bytes silently; send U+FFFD (�), as a "
                      "browser shows a cut-off character (decode with errors=\"replace\", "
                      "final=True).", case=where, got=repr(rest))
    if len(sent) < len(wanted):
        return tr("On {case}, characters are missing: you sent {sent}, the text is {wanted}. "
                  "errors=\"ignore\" throws the halves of a split character away.",
                  case=where, sent=repr(sent), wanted=repr(wanted))
    if sent == wanted:
        late = next(i for i, (o, e) in enumerate(zip(outs, case.expected, strict=True))
                    if o != e)
        return tr("On {case}, the text is right but it leaves late: after token {late} "
                  "({piece}) you returned {got} where {complete} was complete. Send every "
                  "whole character at once; hold back only an unfinished one.",
                  case=where, late=late, piece=repr(case.pieces[late]), got=repr(outs[late]),
                  complete=repr(case.expected[late]))
    return tr("On {case}, you sent {sent}, but the tokens spell {wanted}.",
              case=where, sent=repr(sent), wanted=repr(wanted))


def _grouped(found: list[tuple[str, str]]) -> list[str]:
    """One problem per diagnosis, naming every case it applies to."""
    by_text: dict[str, list[str]] = {}
    for case, text in found:
        by_text.setdefault(text, []).append(case)
    out = []
    for text, cases in by_text.items():
        shown = [tr(c) for c in cases]
        names = shown[0] if len(shown) == 1 else tr(
            "{first} and {last}", first=tr(", ").join(shown[:-1]), last=shown[-1])
        out.append(text.replace("{case}", names, 1))
    return out


def check_safe_emitter(emitter_class: Callable[[], Any]) -> CheckResult:
    """Exercise 02.2: ``SafeEmitter`` sends whole characters only, and sends them at once.

    A fresh instance per case: ``feed(token: bytes) -> str`` for every token,
    then ``close() -> str``. The joined output must be the text, no event may
    carry a replacement character that the bytes did not force, and a
    character must leave with the token that completes it.
    """
    name = tr("Exercise 2: a UTF-8-safe token emitter")
    if not callable(emitter_class):
        return result(name, [tr("Pass the class itself: check_safe_emitter(SafeEmitter).")])
    problems: list[str] = []
    found: list[tuple[str, str]] = []
    passed = 0
    cases = _cases()
    for case in cases:
        try:
            outs, rest = call_limited(_run, emitter_class, case.pieces)
        except _Timeout:
            problems.append(tr("On {case} your emitter did not finish within 2 s.",
                               case=tr(case.name)))
            continue
        except UnicodeDecodeError as exc:
            problems.append(tr(
                "On {case} decoding raised {error}: a token can end "
                "inside a character, so decoding it alone fails. Keep the unfinished bytes "
                "for the next token (codecs.getincrementaldecoder(\"utf-8\") does exactly "
                "that).", case=tr(case.name), error=describe_error(exc)))
            continue
        except Exception as exc:
            problems.append(tr("On {case} your emitter raised {error}.", case=tr(case.name),
                               error=describe_error(exc)))
            continue
        if outs and all(o is None for o in outs) and rest is None:
            return result(name, [tr("feed() and close() return None: write their bodies.")])
        if any(o is Ellipsis for o in [*outs, rest]):
            return result(name, [tr("feed() and close() still return `...`: write their "
                                    "bodies.")])
        problem = _diagnose(case, outs, rest)
        if problem is None:
            passed += 1
        else:
            found.append((case.name, problem))
    problems += _grouped(found)
    notes = []
    if not problems:
        notes.append(tr("All {passed} streams came out whole: every character left with the "
                        "token that completed it, and a cut-off one became �, not an "
                        "exception.", passed=passed))
        notes.append(tr("This is what the lab's model does (sse_lab.tokenizer.Utf8Stream), and "
                        "what real servers do before they put text into an SSE event."))
    return result(name, problems, notes)
