"""The store interface behind durable answers: a log per answer, a lease, a little state.

An *answer* is a log of entries with increasing offsets (token ``k`` is entry
``k``; the last entry says how the answer ended). One generator appends, any
number of readers tail it from an offset. The store is all the answer layer
(:mod:`sse_lab.server.answers`) knows about persistence, so the in-memory store
(one process) and the Redis store (many processes) are interchangeable and pass
one contract test suite (``tests/test_answers_contract.py``).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, fields
from typing import Literal

__all__ = [
    "AnswerSpec",
    "AnswerState",
    "AnswerStore",
    "AppendResult",
    "Entry",
    "EntryKind",
    "LogTruncated",
    "NotOwner",
    "StoreError",
    "TERMINAL",
]

#: ``token`` carries text; the others end the log (``done`` = complete answer).
EntryKind = Literal["token", "done", "error", "stopped", "cancelled"]
TERMINAL = frozenset({"done", "error", "stopped", "cancelled"})


class StoreError(RuntimeError):
    """The store is unreachable or failed (the message names its URL)."""


class LogTruncated(LookupError):
    """The entries a reader asked for were trimmed (``MAXLEN``) or expired."""


class NotOwner(RuntimeError):
    """An append lost the race: another generator already wrote that offset."""


@dataclass(frozen=True)
class Entry:
    """One log entry: token ``offset`` (or the end marker after the last token)."""

    offset: int
    kind: EntryKind
    text: str = ""

    @property
    def terminal(self) -> bool:
        """Whether this entry ends the answer."""
        return self.kind in TERMINAL


@dataclass(frozen=True)
class AnswerSpec:
    """What to generate: enough for any instance to (re)start the generation.

    ``start`` is the first offset of the log (non-zero only for an answer begun
    mid-way, e.g. an old-style numeric ``Last-Event-ID``); ``policy`` says what
    happens when every reader has left (``continue`` or ``cancel``).
    """

    prompt: str
    seed: int = 0
    speed: float = 1.0
    cadence: str = "steady"
    policy: str = "cancel"
    start: int = 0
    upstream: bool = False

    def to_fields(self) -> dict[str, str]:
        """Flat string fields (a Redis hash)."""
        return {f.name: str(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_fields(cls, raw: dict[str, str]) -> AnswerSpec:
        """Inverse of :meth:`to_fields`."""
        return cls(
            prompt=raw["prompt"],
            seed=int(raw["seed"]),
            speed=float(raw["speed"]),
            cadence=raw["cadence"],
            policy=raw["policy"],
            start=int(raw["start"]),
            upstream=raw["upstream"] == "True",
        )


@dataclass(frozen=True)
class AnswerState:
    """A snapshot: the spec, ``status``, readers, last offset, whether it ended.

    ``status`` is ``running``, ``stopping`` (a stop was requested), ``paused``
    (the ``cancel`` policy stopped generating; a reader restarts it) or the
    kind of the end entry (``done``, ``error``, ``stopped``).
    """

    spec: AnswerSpec
    status: str
    readers: int
    last: int  # offset of the newest entry, start - 1 when empty
    ended: bool


@dataclass(frozen=True)
class AppendResult:
    """What the generator learns with each append (one round trip in Redis)."""

    readers: int
    stop_requested: bool


class AnswerStore(abc.ABC):
    """Logs, leases and reader counts of answers. Every method is a coroutine.

    Args:
        ttl: Seconds an answer is kept after its last write (a finished log
            expires ``ttl`` after its end; an abandoned one too).
        max_entries: Longest log kept; older entries are trimmed and a reader
            that asks for them gets :class:`LogTruncated`.
    """

    url: str = ""

    def __init__(self, *, ttl: float = 600.0, max_entries: int = 10_000) -> None:
        if ttl <= 0 or max_entries < 1:
            raise ValueError("ttl must be > 0 and max_entries >= 1")
        self.ttl = ttl
        self.max_entries = max_entries

    async def connect(self) -> None:
        """Check the store is reachable; raise :class:`StoreError` naming the URL."""
        return None

    async def close(self) -> None:
        """Release connections."""
        return None

    @abc.abstractmethod
    async def create(self, answer_id: str, spec: AnswerSpec) -> bool:
        """Register a new, empty answer; ``False`` (and no change) if the id is taken."""

    @abc.abstractmethod
    async def state(self, answer_id: str) -> AnswerState | None:
        """The answer's state, or ``None`` if unknown or expired."""

    @abc.abstractmethod
    async def append(self, answer_id: str, entry: Entry) -> AppendResult:
        """Append ``entry``; its offset must exceed the last one (else :class:`NotOwner`)."""

    @abc.abstractmethod
    async def read(self, answer_id: str, after: int, *, timeout: float,
                   count: int = 512) -> list[Entry]:
        """Entries with offset > ``after``; wait up to ``timeout`` s if there are none.

        Raises:
            LogTruncated: Entry ``after + 1`` is no longer in the log.
        """

    @abc.abstractmethod
    async def add_reader(self, answer_id: str, delta: int) -> int:
        """Count a reader in (``+1``) or out (``-1``); return how many remain."""

    @abc.abstractmethod
    async def request_stop(self, answer_id: str) -> bool:
        """Ask the generator to stop; ``False`` if the answer is unknown or ended."""

    @abc.abstractmethod
    async def set_status(self, answer_id: str, status: str) -> None:
        """Set a non-terminal status (``running``, ``paused``) unless the answer ended."""

    @abc.abstractmethod
    async def acquire_lease(self, answer_id: str, owner: str, ttl: float) -> bool:
        """Take the generation lease if nobody holds it (or ``owner`` does); renews it."""

    @abc.abstractmethod
    async def release_lease(self, answer_id: str, owner: str) -> None:
        """Give the lease up if ``owner`` holds it."""
