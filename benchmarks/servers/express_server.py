"""Benchmark server (5): express on Node, the source article's own stack.

``res.write(...)`` per event without waiting (Node queues the bytes, so events
written back to back coalesce into large TCP writes), ``'drain'`` for
back-pressure on the fast stream, ``setInterval`` for the publisher, a ``Set``
of responses for broadcast: what the article's ``clients`` set does.

The first run installs express from the npm registry with ``npm ci`` into
``benchmarks/servers/express/node_modules`` (pinned by ``package-lock.json``);
then this launcher replaces itself with ``node server.js`` (same pid, so the
harness's CPU pinning and ``/proc`` readings apply to Node).

Run: ``python -m benchmarks.servers.express_server --port 8765``
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..common import cli_port, raise_nofile

HERE = Path(__file__).with_name("express")


def ensure_installed() -> str:
    """Install express once (``npm ci``); return the ``node`` executable's path."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        raise SystemExit("express benchmark: needs Node.js and npm (apt-get install nodejs npm)")
    if not (HERE / "node_modules" / "express").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=HERE, check=True, timeout=300
        )
    return node


def main() -> None:
    host, port = cli_port()
    node = ensure_installed()
    raise_nofile()  # inherited by node across exec
    os.execv(node, [node, str(HERE / "server.js"), "--host", host, "--port", str(port)])


if __name__ == "__main__":
    main()
    sys.exit(1)  # pragma: no cover - execv does not return
