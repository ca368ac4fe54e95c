"""The in-memory answer store: one process, the lab's default.

Everything lives in dicts touched only from the server's event loop, so no
locks. A reader waiting for new entries waits on a future that the next append
resolves (no polling).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from dataclasses import dataclass, field

from sse_lab.server.stores.base import (
    AnswerSpec,
    AnswerState,
    AnswerStore,
    AppendResult,
    Entry,
    LogTruncated,
    NotOwner,
)

__all__ = ["MemoryStore"]


@dataclass
class _Log:
    spec: AnswerSpec
    entries: deque[Entry]
    expires: float
    status: str = "running"
    readers: int = 0
    last: int = -1
    lease: tuple[str, float] | None = None
    waiters: set[asyncio.Future[None]] = field(default_factory=set)


def _expire(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class MemoryStore(AnswerStore):
    """Answers in this process's memory (lost when it exits; see the Redis store)."""

    url = "memory://"

    def __init__(self, *, ttl: float = 600.0, max_entries: int = 10_000,
                 max_answers: int = 10_000) -> None:
        super().__init__(ttl=ttl, max_entries=max_entries)
        self.max_answers = max_answers
        self._logs: dict[str, _Log] = {}

    def _get(self, answer_id: str) -> _Log | None:
        now = time.monotonic()
        # Expire lazily, on every access: bounded by the number of answers.
        for key in [k for k, log in self._logs.items() if log.expires <= now]:
            del self._logs[key]
        return self._logs.get(answer_id)

    def __len__(self) -> int:
        self._get("")
        return len(self._logs)

    async def create(self, answer_id: str, spec: AnswerSpec) -> bool:
        if self._get(answer_id) is not None:
            return False
        # Bounded memory: past max_answers, forget the oldest (dicts keep
        # creation order), as if their TTL had run out.
        while len(self._logs) >= self.max_answers:
            del self._logs[next(iter(self._logs))]
        self._logs[answer_id] = _Log(
            spec, deque(maxlen=self.max_entries), time.monotonic() + self.ttl,
            last=spec.start - 1,
        )
        return True

    async def state(self, answer_id: str) -> AnswerState | None:
        log = self._get(answer_id)
        if log is None:
            return None
        ended = bool(log.entries) and log.entries[-1].terminal
        return AnswerState(log.spec, log.status, log.readers, log.last, ended)

    async def append(self, answer_id: str, entry: Entry) -> AppendResult:
        log = self._get(answer_id)
        if log is None:
            raise NotOwner(f"answer {answer_id} is unknown or expired")
        if entry.offset <= log.last:
            raise NotOwner(f"offset {entry.offset} of {answer_id} is already written")
        log.entries.append(entry)
        log.last = entry.offset
        log.expires = time.monotonic() + self.ttl
        if entry.terminal:
            log.status = entry.kind
        for fut in log.waiters:
            if not fut.done():
                fut.set_result(None)
        log.waiters.clear()
        return AppendResult(log.readers, log.status == "stopping")

    async def read(self, answer_id: str, after: int, *, timeout: float,
                   count: int = 512) -> list[Entry]:
        log = self._get(answer_id)
        if log is None:
            raise LogTruncated(f"answer {answer_id} is unknown or expired")
        if log.last <= after:
            # A bare future and a timer: no task per wait (this runs once per
            # token per reader).
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[None] = loop.create_future()
            log.waiters.add(fut)
            timer = loop.call_later(timeout, _expire, fut)
            try:
                await fut
            finally:
                timer.cancel()
                log.waiters.discard(fut)
        entries = log.entries
        if not entries or entries[-1].offset <= after:
            return []
        first = entries[0].offset
        if first > after + 1 and after + 1 >= log.spec.start:
            raise LogTruncated(
                f"entries {after + 1}..{first - 1} of {answer_id} were trimmed "
                f"(max_entries={self.max_entries})"
            )
        skip = max(0, after + 1 - first)
        return list(itertools.islice(entries, skip, skip + count))

    async def add_reader(self, answer_id: str, delta: int) -> int:
        log = self._get(answer_id)
        if log is None:
            return 0
        log.readers = max(0, log.readers + delta)
        return log.readers

    async def request_stop(self, answer_id: str) -> bool:
        log = self._get(answer_id)
        if log is None or log.status not in ("running", "paused"):
            return False
        log.status = "stopping"
        return True

    async def set_status(self, answer_id: str, status: str) -> None:
        log = self._get(answer_id)
        if log is not None and log.status in ("running", "paused", "stopping"):
            log.status = status

    async def acquire_lease(self, answer_id: str, owner: str, ttl: float) -> bool:
        log = self._get(answer_id)
        if log is None:
            return False
        now = time.monotonic()
        if log.lease is None or log.lease[0] == owner or log.lease[1] <= now:
            log.lease = (owner, now + ttl)
            return True
        return False

    async def release_lease(self, answer_id: str, owner: str) -> None:
        log = self._get(answer_id)
        if log is not None and log.lease is not None and log.lease[0] == owner:
            log.lease = None
