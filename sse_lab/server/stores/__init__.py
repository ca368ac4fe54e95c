"""Where answers live: a small interface, one store in memory, one in Redis.

:func:`open_store` turns a ``--store`` URL into a store: ``memory://`` (the
default, one process) or ``redis://HOST:PORT/DB`` (many processes).
"""

from __future__ import annotations

from sse_lab.server.stores.base import (
    TERMINAL,
    AnswerSpec,
    AnswerState,
    AnswerStore,
    AppendResult,
    Entry,
    EntryKind,
    LogTruncated,
    NotOwner,
    StoreError,
)
from sse_lab.server.stores.memory import MemoryStore
from sse_lab.server.stores.redis import RedisStore

__all__ = [
    "TERMINAL",
    "AnswerSpec",
    "AnswerState",
    "AnswerStore",
    "AppendResult",
    "Entry",
    "EntryKind",
    "LogTruncated",
    "MemoryStore",
    "NotOwner",
    "RedisStore",
    "StoreError",
    "open_store",
]


def open_store(url: str | None, *, ttl: float = 600.0, max_entries: int = 10_000) -> AnswerStore:
    """The store for ``url``: ``None``/``memory://`` or ``redis://``/``rediss://``/``unix://``.

    Raises:
        ValueError: Any other scheme (the message names the accepted ones).
    """
    if url is None or url in ("memory", "memory://"):
        return MemoryStore(ttl=ttl, max_entries=max_entries)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(url, ttl=ttl, max_entries=max_entries)
    raise ValueError(f"store must be memory:// or redis://HOST:PORT/DB, not {url!r}")
