"""Checkers for notebook 04's exercises (bytes per token, picking a transport).

* :func:`check_bytes_per_token` -- the learner's ``bytes_per_token(rec)`` is
  run on made-up recordings (a ``[DONE]``, a ``status`` event, a stream with
  no token, multi-character tokens...) and on the live ones of the notebook.
* :func:`check_transport_choices` -- the learner's ``{scenario: transport}``
  answers for :data:`TRANSPORT_SCENARIOS`, each wrong one explained.

The learner's function runs in a helper thread with a time limit, so code that
raises, hangs or returns junk gets a NOT YET verdict, never an error.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sse_lab.exercises.result import CheckResult, result
from sse_lab.exercises.sandbox import TIME_LIMIT, grade
from sse_lab.exercises.sandbox import is_number as _is_number
from sse_lab.protocol import DONE, Event
from sse_lab.recording import Arrival, Recording, WireRecording, bytes_per_token

__all__ = [
    "TRANSPORTS",
    "TRANSPORT_SCENARIOS",
    "bytes_cases",
    "check_bytes_per_token",
    "check_transport_choices",
]

# -- exercise 1: bytes per token ------------------------------------------------------


@dataclass(frozen=True)
class BytesCase:
    """One recording, the right answer, and what likely slips would return."""

    name: str
    recording: WireRecording
    expected: float | None


def _wire(
    events: list[Event],
    *,
    bytes_received: int,
    header_bytes: int,
    requests: int = 1,
    transport: str = "sse",
) -> WireRecording:
    rec = WireRecording(
        url="http://127.0.0.1/chat",
        transport=transport,
        status=200,
        bytes_received=bytes_received,
        header_bytes=header_bytes,
        requests=requests,
    )
    rec.arrivals.extend(Arrival(0.01 * (i + 1), ev) for i, ev in enumerate(events))
    rec.end_time = 0.01 * (len(events) + 1)
    return rec


def _tokens(texts: list[str]) -> list[Event]:
    return [Event(data=t, id=str(i)) for i, t in enumerate(texts)]


def bytes_cases() -> list[BytesCase]:
    """The recordings :func:`check_bytes_per_token` tries, fresh each call."""
    done = Event(data=DONE)
    cases = [
        (
            "an SSE answer of 10 tokens and `[DONE]` (1000 bytes received, 240 of them the head)",
            _wire(_tokens(list("我是你的AI助手很高兴")) + [done], bytes_received=1000,
                  header_bytes=240),
        ),
        (
            "a poll answer: 12 requests, 6 tokens and `[DONE]`, 2460 bytes",
            _wire(_tokens([" stre", "aming", " is", " fun", "!", " :)"]) + [done],
                  bytes_received=2460, header_bytes=1800, requests=12, transport="poll"),
        ),
        (
            "a stream that opens with a `status` event, then 4 tokens and `[DONE]`, 300 bytes",
            _wire([Event(event="status", data="thinking")] + _tokens(["Hel", "lo", " wor", "ld"])
                  + [done], bytes_received=300, header_bytes=150),
        ),
        (
            "a stream of 5 long tokens, no `[DONE]` (cut short), 550 bytes",
            _wire(_tokens([" Server", "-Sent", " Events", " stream", " well"]),
                  bytes_received=550, header_bytes=200),
        ),
        (
            "a stream that said nothing: only `[DONE]`, 280 bytes",
            _wire([done], bytes_received=280, header_bytes=250),
        ),
    ]
    return [BytesCase(name, rec, _expected(rec)) for name, rec in cases]


def _expected(rec: Recording) -> float | None:
    value = bytes_per_token(rec)
    return None if math.isnan(value) else value


def _judge_bytes(case: BytesCase, got: Any) -> str | None:
    rec, exp = case.recording, case.expected
    if exp is None:
        if got is None or (isinstance(got, float) and math.isnan(got)):
            return None
        if _is_number(got) and math.isclose(got, rec.bytes_received):
            return (f"On {case.name} you returned {got!r}: you divided by one although no "
                    "token arrived (`[DONE]` is not a token). Return None.")
        return f"On {case.name} you returned {got!r}; expected None (no token arrived)."
    if got is None:
        return f"On {case.name} you returned None; expected {exp:.4g} (tokens did arrive)."
    if not _is_number(got):
        return f"On {case.name} you returned {got!r}; expected a number of bytes ({exp:.4g})."
    if math.isclose(got, exp, rel_tol=1e-9):
        return None
    msg = f"On {case.name} you returned {got:.4g}; expected {exp:.4g}"
    n_tokens = len(rec.tokens)
    slips = [
        (rec.bytes_received / len(rec.arrivals),
         "you divided by every arrival: `[DONE]` and other event types are not tokens"),
        ((rec.bytes_received + rec.header_bytes) / n_tokens,
         "you added `header_bytes`, but these recordings' `bytes_received` already counts "
         "the heads (they are WireRecordings)"),
        ((rec.bytes_received - rec.header_bytes) / n_tokens,
         "you took the heads off; the point is what the whole exchange costs, heads included"),
        (rec.bytes_received / max(len(rec.text), 1),
         "you divided by characters of text; divide by tokens"),
        (rec.bytes_received / max(rec.requests, 1),
         "that is bytes per request; divide by tokens"),
    ]
    for value, hint in slips:
        if math.isclose(got, value, rel_tol=1e-9):
            return f"{msg}: {hint}."
    return msg + "."


def check_bytes_per_token(
    fn: Callable[[Recording], Any],
    recs: Mapping[str, Recording] | None = None,
    *,
    timeout: float = TIME_LIMIT,
) -> CheckResult:
    """Exercise 04.1: ``fn(rec)`` is bytes received per token, heads included.

    Args:
        fn: The learner's ``bytes_per_token(rec) -> float | None``.
        recs: Live recordings by name (``compare_transports``'s), which ``fn``
            must measure like :func:`sse_lab.transports.bytes_per_token`.
        timeout: Seconds allowed per call.
    """
    name = "Exercise 1: bytes_per_token(rec)"
    if not callable(fn):
        return result(name, [f"Expected a function, got {fn!r}."])
    cases = bytes_cases()
    for label, rec in (recs or {}).items():
        if isinstance(rec, WireRecording):
            cases.append(BytesCase(f"your live `{label}` recording", rec, _expected(rec)))
    g = grade(
        fn, cases, lambda case: (copy.deepcopy(case.recording),), _judge_bytes,
        timeout=timeout,
        hint=lambda case, exc: (
            " When no token arrived there is nothing to divide by: return None."
            if isinstance(exc, ZeroDivisionError) else ""
        ),
    )
    if g.stub:
        return result(name, ["`bytes_per_token` is still the stub: fill in its body."])
    problems, passed = g.problems, g.passed
    if g.all_none:
        return result(name, [
            "Your function returns None for every recording (still the stub?): divide "
            "`rec.bytes_received` by the number of tokens."
        ])
    notes = [f"{passed} of {len(cases)} recordings measured correctly."]
    if not problems:
        notes.append(
            "Per token, SSE and WebSocket cost about the same; polling pays a response "
            "head for every request."
        )
    return result(name, problems, notes)


# -- exercise 2: pick the transport ---------------------------------------------------------

#: The answers the checker understands.
TRANSPORTS = ("sse", "websocket", "poll", "longpoll")


@dataclass(frozen=True)
class Scenario:
    """A situation, the transports that fit it, and why."""

    text: str
    accepted: tuple[str, ...]
    why: str
    notes: Mapping[str, str] | None = None

    def __str__(self) -> str:
        return self.text


#: ``{key: Scenario}``: situations to pick a transport for.
TRANSPORT_SCENARIOS: dict[str, Scenario] = {
    "chat-answer": Scenario(
        "Show an AI chat answer in a web page, token by token, as it is generated.",
        ("sse",),
        "the answer only flows server → client; SSE is plain HTTP, one request per answer, "
        "and resumes by itself with `Last-Event-ID` when the connection drops",
    ),
    "post-prompt": Scenario(
        "The page sends a long prompt as a JSON POST body and shows the reply as it streams.",
        ("sse",),
        "that is SSE over `fetch` (as the OpenAI API streams): `EventSource` cannot `POST`, "
        "but the response is still an ordinary event stream, one-way",
    ),
    "multiplayer-game": Scenario(
        "A browser game sends the player's moves many times a second and receives everyone "
        "else's moves.",
        ("websocket",),
        "both sides send all the time: that is what WebSocket's two-way channel is for "
        "(one request per message would cost a head each, and SSE only goes one way)",
    ),
    "collab-editor": Scenario(
        "A collaborative editor: every keystroke goes up, the others' edits come down.",
        ("websocket",),
        "a steady flow in both directions, at keystroke rate: a WebSocket",
    ),
    "build-status": Scenario(
        "A badge shows whether the nightly build passed; it changes a few times a day.",
        ("poll", "sse"),
        "updates are rare, so asking now and then is simplest: a poll every minute costs "
        "almost nothing and holds no connection open",
        {"sse": "An event stream works too, but it holds a connection open all day for a few "
                "updates; a poll every minute would be simpler."},
    ),
    "buffering-proxy": Scenario(
        "Notifications for users behind a company proxy that holds back every response "
        "until it is complete.",
        ("longpoll",),
        "a long poll answers with one complete response as soon as there is news, so even a "
        "buffering proxy passes it at once, without a short poll's fixed delay",
    ),
    "live-scores": Scenario(
        "Push live scores to thousands of phones; they only read, and one that loses its "
        "network must catch up by itself.",
        ("sse",),
        "one-way push to many readers, with automatic reconnection and `Last-Event-ID` "
        "resume built into `EventSource`",
    ),
}


def _normalize(answer: Any) -> str | None:
    if not isinstance(answer, str):
        return None
    key = answer.strip().lower().replace(" ", "").replace("-", "").replace("_", "")
    aliases = {
        "sse": "sse", "serversentevents": "sse", "eventsource": "sse", "fetch": "sse",
        "websocket": "websocket", "websockets": "websocket", "ws": "websocket",
        "poll": "poll", "polling": "poll", "shortpoll": "poll", "shortpolling": "poll",
        "setinterval": "poll",
        "longpoll": "longpoll", "longpolling": "longpoll",
    }
    return aliases.get(key)


def check_transport_choices(choices: Any) -> CheckResult:
    """Exercise 04.2: ``choices`` maps each key of :data:`TRANSPORT_SCENARIOS` to a transport.

    Transports are ``"sse"``, ``"websocket"``, ``"poll"`` or ``"longpoll"``
    (common spellings such as ``"WebSocket"`` or ``"long polling"`` work too).
    """
    name = "Exercise 2: pick the transport"
    if not isinstance(choices, Mapping):
        return result(name, [
            f"Expected a dict {{scenario: transport}}, got {type(choices).__name__}."
        ])
    if all(choices.get(k) in (None, ..., "") for k in TRANSPORT_SCENARIOS):
        return result(name, [
            "No scenario answered yet: set each value to 'sse', 'websocket', 'poll' or "
            "'longpoll'."
        ])
    problems: list[str] = []
    notes: list[str] = []
    right = 0
    for key, scenario in TRANSPORT_SCENARIOS.items():
        raw = choices.get(key)
        if raw in (None, ..., ""):
            problems.append(f"`{key}` is not answered yet.")
            continue
        got = _normalize(raw)
        if got is None:
            problems.append(
                f"`{key}`: {raw!r} is not one of 'sse', 'websocket', 'poll', 'longpoll'."
            )
            continue
        if got in scenario.accepted:
            right += 1
            if scenario.notes and got in scenario.notes:
                notes.append(f"`{key}`: {scenario.notes[got]}")
            continue
        best = scenario.accepted[0]
        problems.append(f"`{key}`: not {got}. Think {best}: {scenario.why}.")
    unknown = [k for k in choices if k not in TRANSPORT_SCENARIOS]
    if unknown:
        notes.append(f"Ignored unknown keys: {', '.join(map(str, unknown))}.")
    notes.insert(0, f"{right} of {len(TRANSPORT_SCENARIOS)} scenarios matched.")
    return result(name, problems, notes)
