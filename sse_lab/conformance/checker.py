"""Grade any SSE parser against the spec cases."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sse_lab.conformance.cases import CASES, Case, translated_rule
from sse_lab.i18n import N_, tr
from sse_lab.protocol import Event

#: The feeding modes :func:`check_parser` knows.
MODES = ("whole", "bytewise", "prompt")


@dataclass(frozen=True)
class Failure:
    """One case a parser got wrong in one feeding mode.

    ``expected`` and ``got`` are tuples of events (``got`` normalised to
    :class:`Event`), ``{"last_event_id": ...}``/``{"retry": ...}`` when only
    the parser's final state is wrong, or ``got`` is ``"<raised ...>"`` when
    the parser raised. ``explanation`` says what differs first and quotes the
    case's rule, in the language current when the check ran (the spec's names and
    the values stay as they are).
    """

    case: str
    mode: str
    expected: object
    got: object
    explanation: str

    def __str__(self) -> str:
        return f"[{self.mode}] {self.case}: {self.explanation}"


class _Unreported:
    """Marks an event field the parser under test does not expose."""

    def __repr__(self) -> str:
        return "<not reported>"


_UNREPORTED = _Unreported()


def _get(obj: object, *names: str) -> object:
    for name in names:
        if isinstance(obj, dict):
            if name in obj:
                return obj[name]
        elif hasattr(obj, name):
            return getattr(obj, name)
    return _UNREPORTED


def _norm_retry(value: object) -> object:
    if value is None or value is _UNREPORTED:
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, timedelta):
        return round(value.total_seconds() * 1000)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value  # e.g. "-1": kept as is, so it will not match


def _norm_event(obj: object) -> tuple[Event, bool]:
    """Return ``obj`` as an Event, and whether it reports ``retry`` at all."""
    if isinstance(obj, Event):
        return obj, True
    data = _get(obj, "data")
    if data is _UNREPORTED:
        raise TypeError(f"event {obj!r} has no 'data'")
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data).decode("utf-8", "replace")
    event = _get(obj, "event", "type")
    id_ = _get(obj, "id", "last_event_id", "lastEventId")
    retry = _norm_retry(_get(obj, "retry"))
    reports_retry = retry is not _UNREPORTED
    return (
        Event(
            event=event if event not in (None, "", _UNREPORTED) else "message",  # type: ignore[arg-type]
            data=data,  # type: ignore[arg-type]
            id="" if id_ in (None, _UNREPORTED) else id_,  # type: ignore[arg-type]
            retry=retry if reports_retry else None,  # type: ignore[arg-type]
        ),
        reports_retry,
    )


def as_event(obj: object) -> Event:
    """Normalise one decoded event to an :class:`Event` (see :func:`check_parser`)."""
    return _norm_event(obj)[0]


def _describe_difference(
    expected: Sequence[Event], got: Sequence[Event], retry_known: Sequence[bool]
) -> str | None:
    pairs = zip(expected, got, retry_known, strict=False)  # lengths may differ
    for index, (want, have, known) in enumerate(pairs, start=1):
        for field in ("data", "event", "id", "retry"):
            if field == "retry" and not known:
                continue
            a, b = getattr(want, field), getattr(have, field)
            if a != b:
                return tr("event #{index}: {field} is {got}, expected {want}",
                          index=index, field=field, got=repr(b), want=repr(a))
    if len(got) != len(expected):
        extra = got[len(expected) :] or expected[len(got) :]
        what = N_("extra") if len(got) > len(expected) else N_("missing")
        return tr("got {n} event(s), expected {want}; {what}: {items}", n=len(got),
                  want=len(expected), what=tr(what), items=", ".join(repr(e.data) for e in extra))
    return None


def _kind(factory: Callable[..., object]) -> str:
    """'factory' (call with no arguments for a fresh parser) or 'function' (parse(bytes))."""
    if inspect.isclass(factory):
        return "factory"
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return "factory"
    try:
        signature.bind()
    except TypeError:
        return "function"
    return "factory"


def _collect(result: object, where: str) -> list[object]:
    if result is None:
        return []
    if isinstance(result, (str, bytes, dict)) or not isinstance(result, Iterable):
        raise TypeError(f"{where} returned {result!r}, expected a list of events")
    return list(result)


def _run(factory: Callable[..., object], kind: str, stream: bytes, mode: str):
    """Feed ``stream``; return (events on time, events from close(), parser or None)."""
    if kind == "function":
        return _collect(factory(stream), "parse()"), [], None
    parser = factory()
    if not hasattr(parser, "feed"):
        if callable(parser):  # the factory returned a parse function
            return _collect(parser(stream), "parse()"), [], None
        raise TypeError(f"{parser!r} has no feed() method")
    events: list[object] = []
    if mode == "bytewise":
        for i in range(len(stream)):
            events += _collect(parser.feed(stream[i : i + 1]), "feed()")
    else:
        events += _collect(parser.feed(stream), "feed()")
    close = getattr(parser, "close", None)
    late = _collect(close(), "close()") if callable(close) else []
    return events, late, parser


def _check_one(factory: Callable[..., object], kind: str, case: Case, mode: str) -> Failure | None:
    def fail(expected: object, got: object, why: str) -> Failure:
        rule = tr(" — rule: {rule}", rule=translated_rule(case.rule)) if case.rule else ""
        return Failure(case.name, mode, expected, got, why + rule)

    expected = case.events
    try:
        on_time, late, parser = _run(factory, kind, case.stream, mode)
        raw = on_time if mode == "prompt" else on_time + late
        normalised = [_norm_event(e) for e in raw]
    except Exception as exc:  # a parser that raises fails the case, never the checker
        return fail(expected, f"<raised {type(exc).__name__}: {exc}>",
                    tr("raised {error}", error=repr(exc)))
    got = tuple(e for e, _ in normalised)
    problem = _describe_difference(expected, got, [known for _, known in normalised])
    if problem:
        if mode == "prompt" and late:
            problem += tr(" ({n} more only arrived at close())", n=len(late))
        return fail(expected, got, problem)
    if mode == "prompt" and late:
        return fail((), late, tr("close() dispatched {n} event(s) from an unfinished block",
                                 n=len(late)))
    if parser is not None:
        for attr, want in (("last_event_id", case.last_event_id), ("retry", case.retry)):
            value = getattr(parser, attr, _UNREPORTED)
            if value is _UNREPORTED or callable(value):
                continue
            if attr == "retry":
                value = _norm_retry(value)
            elif value is None:
                value = ""
            if value != want:
                return fail({attr: want}, {attr: value},
                            tr("{attr} is {got}, expected {want}", attr=attr, got=repr(value),
                               want=repr(want)))
    return None


def check_parser(
    factory: Callable[..., object],
    cases: Iterable[Case] = CASES,
    modes: Sequence[str] = ("whole", "bytewise"),
) -> list[Failure]:
    """Run a decoder over ``cases`` and return what it got wrong (``[]`` if nothing).

    ``factory`` is one of:

    * a class or zero-argument callable returning a fresh parser object with
      ``feed(chunk: bytes) -> list`` and, optionally, ``close() -> list``
      (e.g. :class:`sse_lab.protocol.EventParser`); a new parser is made for
      every case and mode;
    * a plain function ``parse(stream: bytes) -> list`` (any callable that
      needs one argument, e.g. :func:`sse_lab.protocol.parse`). It only ever
      sees whole streams, so the chunked modes do not apply and are skipped.

    ``modes``:

    * ``"whole"``: ``feed(stream)`` once, then ``close()``;
    * ``"bytewise"``: ``feed()`` one byte at a time, then ``close()`` (splits
      every CRLF pair, BOM and multi-byte character);
    * ``"prompt"``: ``feed(stream)`` once; every event must come back from that
      ``feed()`` (a complete event must not wait for more input or for
      ``close()``), and ``close()`` must return nothing.

    Events may be :class:`~sse_lab.protocol.Event` objects or any object or
    dict with ``data`` and optionally ``event`` (or ``type``), ``id`` (or
    ``last_event_id``/``lastEventId``) and ``retry``. ``None``/``""``/absent
    event means ``"message"``; ``None``/absent id means ``""``; bytes data is
    UTF-8 decoded; retry may be an int, a digit string or a ``timedelta``, and
    is not compared if the event has no ``retry`` at all. ``id`` must be the
    last event ID at dispatch time (it persists across events), and ``retry``
    the value set by that block, else ``None``. If the parser object has
    ``last_event_id`` or ``retry`` attributes they are compared with the
    case's final state after ``close()``.

    A parser (or factory) that raises, or returns something that is not a
    list of events, fails that case and mode; the checker itself never raises
    because of the parser under test.

    Adapters for third-party decoders wrap them in this ``feed``/``close``
    shape, exposing the library's own events unchanged:
    :class:`HttpxSSEAdapter` (httpx-sse's ``SSELineDecoder`` and ``SSEDecoder``
    over incrementally decoded UTF-8 text, as httpx hands it over, BOM kept)
    and :class:`SSEClientPyAdapter` (sseclient-py pulls chunks from an
    iterable, so it parses at ``close()`` and cannot pass ``"prompt"``).

    Args:
        factory: The parser class/factory, or a ``parse(bytes)`` function.
        cases: The cases to run; defaults to :data:`CASES`.
        modes: Any of :data:`MODES`.

    Returns:
        One :class:`Failure` per case and mode the parser got wrong.

    Raises:
        ValueError: An unknown mode.
        TypeError: ``factory`` is a parser instance rather than a factory.
    """
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode(s) {unknown!r}; choose from {MODES!r}")
    if not callable(factory):
        raise TypeError(
            f"pass the parser class or a zero-argument factory, not {factory!r}: "
            "each case needs a fresh parser"
        )
    kind = _kind(factory)
    if kind == "function":
        modes = [m for m in modes if m == "whole"]
    failures: list[Failure] = []
    for case in cases:
        for mode in modes:
            failure = _check_one(factory, kind, case, mode)
            if failure is not None:
                failures.append(failure)
    return failures


# -- adapters for third-party decoders ----------------------------------------------
# Feed-style wrappers so check_parser (and the benchmarks) can grade the parsers
# people use. Their packages are imported only when an adapter is created.


