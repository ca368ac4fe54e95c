"""Answers as logs: generation decoupled from the connections that read it.

Starting an answer creates a log in a store (:mod:`sse_lab.server.stores`) and a
*generator* task that appends one entry per token, then an end entry. The task
belongs to the :class:`Answers` service, not to a request, so a reader can leave
and come back (on this instance or, with Redis, on another) and read the same
entries again: resume is a replay of the log from an offset, then a live tail,
never a regeneration. No duplicate, no gap, for any model.

Event ids are ``<answer-id>:<offset>``: enough, on their own, to find the answer
and the place in it, which is all a browser's ``EventSource`` sends back on
reconnect (the same URL plus ``Last-Event-ID``).

What happens when every reader has gone is a *policy*:

* ``cancel`` (default): once no reader has been there for ``cancel_grace``
  seconds, the generator stops and releases its lease; the answer is
  ``paused``. Tokens nobody reads are not generated. A reader that comes back
  (``Last-Event-ID``) restarts the generation from the last logged token, so
  resume stays exact; it costs a new time to first token, and an upstream
  model continues rather than repeats itself.
* ``continue``: the answer completes and waits, for the store's TTL, for its
  user to come back. Costs the tokens nobody watched; a user who reloads sees
  the whole answer at once. (What ChatGPT-style products do.)

The lab defaults to ``cancel``: the house rule is "cancel work when the client
leaves", and with the log a reconnect loses nothing by it.

:meth:`Answers.stats` counts tokens generated while nobody read, per policy.

Takeover: the generator holds a lease (renewed every ``lease_ttl / 3``). A
reader that sees no entry for ``lease_ttl`` checks the lease; if it is free,
its instance takes the answer over and continues from the last logged token
(the simulated model from token ``k + 1``; an upstream model regenerates and
skips ``k + 1`` tokens, which is exact only if it repeats itself). The store's
conditional append guarantees one writer per offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sse_lab.model import SimulatedLLM
from sse_lab.server.stores import (
    AnswerSpec,
    AnswerStore,
    Entry,
    LogTruncated,
    NotOwner,
    StoreError,
    open_store,
)
from sse_lab.server.stores.redis import ping
from sse_lab.server.upstream import UpstreamModel

__all__ = [
    "POLICIES",
    "Answers",
    "AnswersConfig",
    "build_answers",
    "model_source",
    "TokenSource",
    "event_id",
    "parse_event_id",
    "new_answer_id",
]

POLICIES = ("continue", "cancel")


class _Token(Protocol):
    index: int
    text: str


class TokenSource(Protocol):
    """What generates: ``SimulatedLLM`` and ``UpstreamModel`` both fit."""

    def stream(self, prompt: str, seed: int = 0, *, start: int = 0) -> AsyncIterator[Any]:
        """Yield tokens with ``.index`` and ``.text`` from token ``start`` on."""
        ...


@dataclass(frozen=True)
class AnswersConfig:
    """How a server keeps its answers (``ServerConfig.answers``).

    Attributes:
        store: ``None``/``memory://`` (one process) or ``redis://HOST:PORT/DB``.
        policy: Default when every reader left: ``cancel`` or ``continue``
            (``/chat?policy=`` overrides it per answer).
        ttl: Seconds an answer's log is kept after its last write.
        max_entries: Longest log kept (older entries are trimmed).
        lease_ttl: Seconds a dead generator's lease blocks a takeover.
        cancel_grace: Seconds without readers before ``cancel`` pauses.
        max_tokens: Longest answer a generator produces.
        id_length: Letters and digits per answer id (4 by default: each one
            is a byte per event on the wire).
    """

    store: str | None = None
    policy: str = "cancel"
    ttl: float = 600.0
    max_entries: int = 10_000
    lease_ttl: float = 2.0
    cancel_grace: float = 0.0
    max_tokens: int = 4096
    id_length: int = 4

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}")
        if self.lease_ttl <= 0 or self.cancel_grace < 0 or self.max_tokens < 1:
            raise ValueError("lease_ttl > 0, cancel_grace >= 0 and max_tokens >= 1 required")
        if not 2 <= self.id_length <= 64:
            raise ValueError("id_length must be between 2 and 64")


def model_source(model: SimulatedLLM) -> Callable[[AnswerSpec], TokenSource]:
    """Token sources for specs: ``model`` at the spec's speed and cadence, or the upstream.

    The upstream relay is read from the environment of the instance that
    generates (``SSE_LAB_UPSTREAM_BASE_URL``), so every instance must have it.
    """

    def source_for(spec: AnswerSpec) -> TokenSource:
        if spec.upstream:
            upstream = UpstreamModel.from_env()
            if upstream is None:
                raise RuntimeError("this instance has no SSE_LAB_UPSTREAM_BASE_URL")
            return replace(upstream, speed=spec.speed) if spec.speed != model.speed else upstream
        if spec.speed == model.speed and spec.cadence == model.cadence:
            return model
        return replace(model, speed=spec.speed, cadence=spec.cadence)  # type: ignore[arg-type]

    return source_for


def build_answers(config: AnswersConfig, model: SimulatedLLM,
                  tasks: set[asyncio.Task[Any]] | None = None) -> Answers:
    """The :class:`Answers` service a server runs, its store checked now.

    Raises:
        StoreError: The Redis store does not answer (the message names the URL),
            raised in the caller of ``start_server``, before the port opens.
    """
    store = open_store(config.store, ttl=config.ttl, max_entries=config.max_entries)
    if config.store is not None and config.store.startswith(("redis", "unix")):
        ping(config.store)
    return Answers(store, model_source(model), lease_ttl=config.lease_ttl,
                   cancel_grace=config.cancel_grace, max_tokens=config.max_tokens, tasks=tasks,
                   id_length=config.id_length)


#: Letters and digits: safe in URLs, Redis keys and SSE ids without escaping.
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_answer_id(length: int = 4) -> str:
    """A fresh random answer id: ``length`` letters and digits (4: 14.8 million).

    Short on purpose: it rides on every event's ``id:`` line, so each byte
    here is a byte per token on the wire (notebooks 04 and 09 count them). The
    store refuses an id already in use, and :meth:`Answers.start` draws again;
    a deployment with millions of live answers sets a longer ``id_length``.
    An answer id names an answer; it is not a secret that protects it (a
    real product checks the user's session before it serves an answer).
    """
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def event_id(answer_id: str, offset: int) -> str:
    """The SSE ``id:`` of entry ``offset``: ``<answer-id>:<offset>``."""
    return f"{answer_id}:{offset}"


def parse_event_id(raw: str | None) -> tuple[str, int] | None:
    """``"<answer-id>:<k>"`` -> ``(answer_id, k)``; ``None`` if it is not one."""
    if not raw or ":" not in raw:
        return None
    answer_id, _, k = raw.rpartition(":")
    if not (answer_id.isascii() and answer_id.isalnum() and len(answer_id) <= 64):
        return None
    if not (k.isascii() and k.isdigit() and len(k) <= 9):
        return None
    return answer_id, int(k)


class Answers:
    """Starts answers, runs their generators, and serves their logs to readers.

    Args:
        store: Where the logs live.
        source_for: The token source for a spec (the simulated model with its
            speed and cadence, or the upstream relay).
        lease_ttl: Seconds a generator's lease lasts without renewal; also how
            long a reader waits in silence before it checks for a takeover.
        cancel_grace: Seconds without any reader before ``cancel`` pauses.
        max_tokens: Longest answer generated (bounds every generator).
        tasks: A set to register generator tasks in too (the server's, so
            ``/stats`` counts them and shutdown cancels them).
        id_length: Letters and digits per answer id (see :func:`new_answer_id`).
    """

    def __init__(
        self,
        store: AnswerStore,
        source_for: Callable[[AnswerSpec], TokenSource],
        *,
        lease_ttl: float = 2.0,
        cancel_grace: float = 0.0,
        max_tokens: int = 4096,
        tasks: set[asyncio.Task[Any]] | None = None,
        id_length: int = 4,
    ) -> None:
        self.store = store
        self.source_for = source_for
        self.lease_ttl = lease_ttl
        self.cancel_grace = cancel_grace
        self.max_tokens = max_tokens
        self.id_length = id_length
        self.instance = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._shared_tasks = tasks
        self.counters: Counter[str] = Counter()
        self.unread: Counter[str] = Counter({p: 0 for p in POLICIES})
        self.generated: Counter[str] = Counter({p: 0 for p in POLICIES})

    # -- starting ------------------------------------------------------------
    async def start(self, spec: AnswerSpec, *, reader: bool = False) -> str:
        """Create an answer and start generating it here; return its id.

        ``reader=True`` counts the caller as a reader from the start (then
        pass ``joined=True`` to :meth:`follow`), so the ``cancel`` policy
        cannot see an empty room before the first reader arrives.
        """
        if spec.policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}")
        for _ in range(8):  # a taken id is rare: draw again
            answer_id = new_answer_id(self.id_length)
            if await self.store.create(answer_id, spec):
                break
        else:
            raise StoreError("no free answer id after 8 draws: is the store full?")
        if reader:
            await self.store.add_reader(answer_id, +1)
        await self.store.acquire_lease(answer_id, self.instance, self.lease_ttl)
        self.counters["answers_started"] += 1
        self._spawn(answer_id, spec, spec.start)
        return answer_id

    def _spawn(self, answer_id: str, spec: AnswerSpec, start: int) -> None:
        task = asyncio.ensure_future(self._generate(answer_id, spec, start))
        self._tasks[answer_id] = task
        shared = self._shared_tasks
        if shared is not None:
            shared.add(task)

        def done(t: asyncio.Task[None], a: str = answer_id) -> None:
            if self._tasks.get(a) is t:
                del self._tasks[a]
            if shared is not None:
                shared.discard(t)

        task.add_done_callback(done)

    @property
    def generating(self) -> int:
        """Generator tasks running in this process."""
        return sum(1 for t in self._tasks.values() if not t.done())

    async def _renew(self, answer_id: str, gen: asyncio.Task[None]) -> None:
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                held = await self.store.acquire_lease(answer_id, self.instance, self.lease_ttl)
            except StoreError:
                held = False
            if not held:
                gen.cancel()  # someone else generates now (or the store is gone)
                return

    async def _generate(self, answer_id: str, spec: AnswerSpec, start: int) -> None:
        store = self.store
        me = asyncio.current_task()
        assert me is not None
        renew = asyncio.ensure_future(self._renew(answer_id, me))
        policy = spec.policy
        alone_since: float | None = None
        offset = start
        try:
            source = self.source_for(spec)
            try:
                async with aclosing(source.stream(spec.prompt, spec.seed, start=start)) as toks:
                    async for token in toks:
                        if token.index - spec.start >= self.max_tokens:
                            await store.append(answer_id, Entry(token.index, "error",
                                                                "answer too long"))
                            return
                        res = await store.append(answer_id,
                                                 Entry(token.index, "token", token.text))
                        offset = token.index + 1
                        self.generated[policy] += 1
                        # A model behind schedule yields overdue tokens without
                        # sleeping, and the memory store never waits: let the
                        # loop's other tasks (readers, timers) run per token.
                        await asyncio.sleep(0)
                        if res.stop_requested:
                            await store.append(answer_id, Entry(offset, "stopped",
                                                                "stopped by request"))
                            self.counters["answers_stopped"] += 1
                            return
                        if res.readers == 0:
                            self.unread[policy] += 1
                            now = time.monotonic()
                            alone_since = alone_since or now
                            if policy == "cancel" and now - alone_since >= self.cancel_grace:
                                # Pause: no end entry, the lease is released
                                # below; a returning reader restarts from here.
                                await store.set_status(answer_id, "paused")
                                self.counters["answers_paused"] += 1
                                return
                        else:
                            alone_since = None
            except Exception as exc:
                if isinstance(exc, (NotOwner, StoreError)):
                    raise
                # The model failed (e.g. the upstream relay): the log says so.
                await store.append(answer_id, Entry(offset, "error", str(exc)))
                return
            await store.append(answer_id, Entry(offset, "done"))
            self.counters["answers_completed"] += 1
        except NotOwner:
            self.counters["generators_displaced"] += 1
        except StoreError:
            self.counters["store_errors"] += 1
        finally:
            renew.cancel()
            with contextlib.suppress(StoreError, asyncio.CancelledError):
                await asyncio.shield(store.release_lease(answer_id, self.instance))

    async def _maybe_take_over(self, answer_id: str) -> bool:
        """Continue an answer whose generator died; ``True`` if this instance does."""
        if answer_id in self._tasks:
            return False
        state = await self.store.state(answer_id)
        if state is None or state.ended:
            return False
        if not await self.store.acquire_lease(answer_id, self.instance, self.lease_ttl):
            return False
        state = await self.store.state(answer_id)  # re-read: entries may have landed
        if state is None or state.ended:
            await self.store.release_lease(answer_id, self.instance)
            return False
        self.counters["resumed_paused" if state.status == "paused" else "takeovers"] += 1
        await self.store.set_status(answer_id, "running")
        self._spawn(answer_id, state.spec, state.last + 1)
        return True

    # -- reading -------------------------------------------------------------
    async def exists(self, answer_id: str) -> bool:
        """Whether the store still holds this answer."""
        return await self.store.state(answer_id) is not None

    async def follow(self, answer_id: str, after: int = -1, *,
                     joined: bool = False) -> AsyncIterator[Entry]:
        """Every entry after ``after``: the log so far, then live, up to the end entry.

        Counts as a reader while iterating (the ``cancel`` policy watches
        that; ``joined=True`` if :meth:`start` already counted this reader).
        A paused answer is restarted here. Ends at once if ``after`` is already
        past the end. Raises :class:`LogTruncated` if the entries were trimmed
        or expired and :class:`StoreError` if the store fails: the caller tells
        its client.
        """
        store = self.store
        state = await store.state(answer_id)
        if state is None:
            raise LogTruncated(f"answer {answer_id} is unknown or expired")
        after = max(after, state.spec.start - 1)
        if not joined:
            await store.add_reader(answer_id, +1)
        self.counters["readers"] += 1
        try:
            if state.ended and state.last <= after:
                return
            if state.status == "paused":
                await self._maybe_take_over(answer_id)
            while True:
                entries = await store.read(answer_id, after, timeout=self.lease_ttl)
                if not entries:
                    state = await store.state(answer_id)
                    if state is None:
                        raise LogTruncated(f"answer {answer_id} expired")
                    if state.ended and state.last <= after:
                        return
                    await self._maybe_take_over(answer_id)
                    continue
                for entry in entries:
                    after = entry.offset
                    yield entry
                    if entry.terminal:
                        return
        finally:
            with contextlib.suppress(StoreError, asyncio.CancelledError):
                await asyncio.shield(store.add_reader(answer_id, -1))

    async def stop(self, answer_id: str) -> bool:
        """Stop the answer (its generator may run on another instance); ``False`` if ended.

        A running generator ends the log with a ``stopped`` entry at its next
        token; a paused answer gets that entry here.
        """
        store = self.store
        state = await store.state(answer_id)
        if state is None or state.ended:
            return False
        if state.status == "paused" and await store.acquire_lease(
            answer_id, self.instance, self.lease_ttl
        ):
            try:
                state = await store.state(answer_id)
                if state is None or state.ended or state.status != "paused":
                    return await store.request_stop(answer_id)
                await store.append(answer_id, Entry(state.last + 1, "stopped",
                                                    "stopped by request"))
                self.counters["answers_stopped"] += 1
                return True
            finally:
                await store.release_lease(answer_id, self.instance)
        return await store.request_stop(answer_id)

    # -- lifecycle -----------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counters for ``/stats``: tokens generated, and generated unread, per policy."""
        return {
            "store": self.store.url,
            "generating": self.generating,
            "tokens_generated": dict(self.generated),
            "tokens_unread": dict(self.unread),
            **dict(self.counters),
        }

    async def close(self, *, close_store: bool = True) -> None:
        """Cancel this process's generators (others may take their answers over).

        ``close_store=False`` leaves the store open for others that share it.
        """
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if close_store:
            await self.store.close()
