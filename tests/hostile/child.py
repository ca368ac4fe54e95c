"""A lab server in a child process, driven over stdin (for tests and measurements).

``python -m tests.hostile.child '{"send_timeout": 1.0}' [nofile]`` starts a
server with that config (keys the installed ``ServerConfig`` lacks are ignored,
so the same driver measures an older sse_lab too), lowers ``RLIMIT_NOFILE`` to
``nofile`` first if given, prints ``port <n>``, then answers one line per
command: ``broadcast <bytes>`` (prints the seconds the loop spent),
``stats`` (prints the JSON), ``quit``.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import sys
import time

from sse_lab.server import ServerConfig, start_server


def main() -> None:
    wanted = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    if len(sys.argv) > 2:
        n = int(sys.argv[2])
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    known = {f.name for f in dataclasses.fields(ServerConfig)}
    server = start_server(0, config=ServerConfig(**{k: v for k, v in wanted.items() if k in known}))
    print(f"port {server.port}", flush=True)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "broadcast":
            data = "x" * int(arg)
            t0 = time.perf_counter()
            reached = server.call(lambda data=data: server.context.hub.publish(data))
            print(f"{time.perf_counter() - t0:.4f} {reached}", flush=True)
        elif cmd == "stats":
            print(json.dumps(server.stats()), flush=True)
        elif cmd == "quit":
            break
    server.stop()


if __name__ == "__main__":
    main()
