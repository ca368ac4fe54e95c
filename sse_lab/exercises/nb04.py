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
from sse_lab.i18n import N_, tr
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
            N_("an SSE answer of 10 tokens and `[DONE]` (1000 bytes received, 240 of them "
               "the head)"),
            _wire(_tokens(list("我是你的AI助手很高兴")) + [done], bytes_received=1000,
                  header_bytes=240),
        ),
        (
            N_("a poll answer: 12 requests, 6 tokens and `[DONE]`, 2460 bytes"),
            _wire(_tokens([" stre", "aming", " is", " fun", "!", " :)"]) + [done],
                  bytes_received=2460, header_bytes=1800, requests=12, transport="poll"),
        ),
        (
            N_("a stream that opens with a `status` event, then 4 tokens and `[DONE]`, 300 bytes"),
            _wire([Event(event="status", data="thinking")] + _tokens(["Hel", "lo", " wor", "ld"])
                  + [done], bytes_received=300, header_bytes=150),
        ),
        (
            N_("a stream of 5 long tokens, no `[DONE]` (cut short), 550 bytes"),
            _wire(_tokens([" Server", "-Sent", " Events", " stream", " well"]),
                  bytes_received=550, header_bytes=200),
        ),
        (
            N_("a stream that said nothing: only `[DONE]`, 280 bytes"),
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
            return (tr("On {case} you returned {got}: you divided by one although no token "
                       "arrived (`[DONE]` is not a token). Return None.",
                       case=tr(case.name), got=repr(got)))
        return tr("On {case} you returned {got}; expected None (no token arrived).",
                  case=tr(case.name), got=repr(got))
    if got is None:
        return tr("On {case} you returned None; expected {exp:.4g} (tokens did arrive).",
                  case=tr(case.name), exp=exp)
    if not _is_number(got):
        return tr("On {case} you returned {got}; expected a number of bytes ({exp:.4g}).",
                  case=tr(case.name), got=repr(got), exp=exp)
    if math.isclose(got, exp, rel_tol=1e-9):
        return None
    msg = tr("On {case} you returned {got:.4g}; expected {exp:.4g}", case=tr(case.name),
             got=got, exp=exp)
    n_tokens = len(rec.tokens)
    slips = [
        (rec.bytes_received / len(rec.arrivals),
         N_("you divided by every arrival: `[DONE]` and other event types are not tokens")),
        ((rec.bytes_received + rec.header_bytes) / n_tokens,
         N_("you added `header_bytes`, but these recordings' `bytes_received` already counts "
         "the heads (they are WireRecordings)")),
        ((rec.bytes_received - rec.header_bytes) / n_tokens,
         N_("you took the heads off; the point is what the whole exchange costs, heads included")),
        (rec.bytes_received / max(len(rec.text), 1),
         N_("you divided by characters of text; divide by tokens")),
        (rec.bytes_received / max(rec.requests, 1),
         N_("that is bytes per request; divide by tokens")),
    ]
    for value, hint in slips:
        if math.isclose(got, value, rel_tol=1e-9):
            return tr("{msg}: {hint}.", msg=msg, hint=tr(hint))
    return tr("{msg}.", msg=msg)


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
    name = tr("Exercise 1: bytes_per_token(rec)")
    if not callable(fn):
        return result(name, [tr("Expected a function, got {fn}.", fn=repr(fn))])
    cases = bytes_cases()
    for label, rec in (recs or {}).items():
        if isinstance(rec, WireRecording):
            cases.append(BytesCase(tr("your live `{label}` recording", label=label), rec,
                                   _expected(rec)))
    g = grade(
        fn, cases, lambda case: (copy.deepcopy(case.recording),), _judge_bytes,
        timeout=timeout,
        hint=lambda case, exc: (
            tr(" When no token arrived there is nothing to divide by: return None.")
            if isinstance(exc, ZeroDivisionError) else ""
        ),
    )
    if g.stub:
        return result(name, [tr("`bytes_per_token` is still the stub: fill in its body.")])
    problems, passed = g.problems, g.passed
    if g.all_none:
        return result(name, [
            tr("Your function returns None for every recording (still the stub?): divide "
               "`rec.bytes_received` by the number of tokens.")
        ])
    notes = [tr("{passed} of {total} recordings measured correctly.", passed=passed,
                total=len(cases))]
    if not problems:
        notes.append(
            tr("Per token, SSE and WebSocket cost about the same; polling pays a response "
               "head for every request.")
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
        return tr(self.text)


#: ``{key: Scenario}``: situations to pick a transport for.
TRANSPORT_SCENARIOS: dict[str, Scenario] = {
    "chat-answer": Scenario(
        N_("Show an AI chat answer in a web page, token by token, as it is generated."),
        ("sse",),
        N_("the answer only flows server → client; SSE is plain HTTP, one request per answer, "
        "and resumes by itself with `Last-Event-ID` when the connection drops"),
    ),
    "post-prompt": Scenario(
        N_("The page sends a long prompt as a JSON POST body and shows the reply as it streams."),
        ("sse",),
        N_("that is SSE over `fetch` (as the OpenAI API streams): `EventSource` cannot `POST`, "
        "but the response is still an ordinary event stream, one-way"),
    ),
    "multiplayer-game": Scenario(
        N_("A browser game sends the player's moves many times a second and receives everyone "
        "else's moves."),
        ("websocket",),
        N_("both sides send all the time: that is what WebSocket's two-way channel is for "
        "(one request per message would cost a head each, and SSE only goes one way)"),
    ),
    "collab-editor": Scenario(
        N_("A collaborative editor: every keystroke goes up, the others' edits come down."),
        ("websocket",),
        N_("a steady flow in both directions, at keystroke rate: a WebSocket"),
    ),
    "build-status": Scenario(
        N_("A badge shows whether the nightly build passed; it changes a few times a day."),
        ("poll", "sse"),
        N_("updates are rare, so asking now and then is simplest: a poll every minute costs "
        "almost nothing and holds no connection open"),
        {"sse": N_("An event stream works too, but it holds a connection open all day for a few "
                "updates; a poll every minute would be simpler.")},
    ),
    "buffering-proxy": Scenario(
        N_("Notifications for users behind a company proxy that holds back every response "
        "until it is complete."),
        ("longpoll",),
        N_("a long poll answers with one complete response as soon as there is news, so even a "
        "buffering proxy passes it at once, without a short poll's fixed delay"),
    ),
    "live-scores": Scenario(
        N_("Push live scores to thousands of phones; they only read, and one that loses its "
        "network must catch up by itself."),
        ("sse",),
        N_("one-way push to many readers, with automatic reconnection and `Last-Event-ID` "
        "resume built into `EventSource`"),
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
    name = tr("Exercise 2: pick the transport")
    if not isinstance(choices, Mapping):
        return result(name, [
            tr("Expected a dict {{scenario: transport}}, got {kind}.", kind=type(choices).__name__)
        ])
    if all(choices.get(k) in (None, ..., "") for k in TRANSPORT_SCENARIOS):
        return result(name, [
            tr("No scenario answered yet: set each value to 'sse', 'websocket', 'poll' or "
               "'longpoll'.")
        ])
    problems: list[str] = []
    notes: list[str] = []
    right = 0
    for key, scenario in TRANSPORT_SCENARIOS.items():
        raw = choices.get(key)
        if raw in (None, ..., ""):
            problems.append(tr("`{key}` is not answered yet.", key=key))
            continue
        got = _normalize(raw)
        if got is None:
            problems.append(
                tr("`{key}`: {raw} is not one of 'sse', 'websocket', 'poll', 'longpoll'.",
                   key=key, raw=repr(raw))
            )
            continue
        if got in scenario.accepted:
            right += 1
            if scenario.notes and got in scenario.notes:
                notes.append(tr("`{key}`: {note}", key=key, note=tr(scenario.notes[got])))
            continue
        best = scenario.accepted[0]
        problems.append(tr("`{key}`: not {got}. Think {best}: {why}.", key=key, got=got,
                           best=best, why=tr(scenario.why)))
    unknown = [k for k in choices if k not in TRANSPORT_SCENARIOS]
    if unknown:
        notes.append(tr("Ignored unknown keys: {keys}.", keys=", ".join(map(str, unknown))))
    notes.insert(0, tr("{right} of {total} scenarios matched.", right=right,
                       total=len(TRANSPORT_SCENARIOS)))
    return result(name, problems, notes)
