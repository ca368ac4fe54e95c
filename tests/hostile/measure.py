"""Measure the server under hostile clients (numbers for the notes, not a test).

Run against any checkout: ``PYTHONPATH=<tree> python -m tests.hostile.measure <tree>``
(the child server imports ``sse_lab`` from ``<tree>``). Each measurement
starts its own server in a child process, so its CPU, RSS and log are its own.
Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent


class Child:
    """A lab server in a child process (see :mod:`tests.hostile.child`)."""

    def __init__(self, tree: str, config: dict[str, Any], nofile: int | None = None) -> None:
        env = dict(os.environ, PYTHONPATH=f"{tree}{os.pathsep}{HERE.parent.parent}")
        args = [sys.executable, str(HERE / "child.py"), json.dumps(config)]
        if nofile:
            args.append(str(nofile))
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env, cwd=tree,
        )
        self.stderr_bytes = 0
        self._drain = threading.Thread(target=self._count_stderr, daemon=True)
        self._drain.start()
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("port "), line
        self.port = int(line.split()[1])
        self.ps = psutil.Process(self.proc.pid)

    def _count_stderr(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.stderr_bytes += len(line)

    def command(self, line: str) -> str:
        self.proc.stdin.write(line + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return self.proc.stdout.readline().strip()  # type: ignore[union-attr]

    def stats(self) -> dict[str, Any]:
        return json.loads(self.command("stats"))

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system

    def close(self) -> None:
        try:
            self.command("quit")
            self.proc.wait(5)
        except Exception:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stats_latency(port: int, seconds: float) -> float:
    """The worst ``/stats`` round trip (s) seen while polling for ``seconds``."""
    worst = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=30).read()
        worst = max(worst, time.monotonic() - t0)
        time.sleep(0.005)
    return worst


def big_body(tree: str, size: int) -> dict[str, Any]:
    """POST a ``size``-byte prompt to /v1/chat/completions; the worst /stats stall meanwhile."""
    with Child(tree, {}) as child:
        words = ("word " * (size // 5 + 1))[:size]
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": words}],
                           "max_tokens": 1}).encode()
        result: dict[str, Any] = {}

        def post() -> None:
            sock = socket.create_connection(("127.0.0.1", child.port))
            t0 = time.monotonic()
            try:
                sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                             b"Content-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
            except OSError:
                pass
            data = sock.recv(200)
            result["status"] = data.split(b" ", 2)[1].decode() if data else "closed"
            result["answer_s"] = round(time.monotonic() - t0, 3)
            sock.close()

        t = threading.Thread(target=post)
        t.start()
        worst = stats_latency(child.port, 3.0)
        t.join(30)
        result["worst_stats_ms"] = round(worst * 1000, 1)
        result["rss_mb"] = round(child.ps.memory_info().rss / 2**20, 1)
        return result


def firehose(tree: str, seconds: float = 3.0) -> dict[str, Any]:
    """CPU (s per s) of one ``/sse?interval=0`` GET read by a fast reader."""
    with Child(tree, {}) as child:
        sock = socket.create_connection(("127.0.0.1", child.port))
        sock.sendall(b"GET /sse?count=1000000&interval=0 HTTP/1.1\r\nHost: x\r\n\r\n")
        got = 0
        cpu0 = child.cpu()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            got += len(sock.recv(65536))
        used = child.cpu() - cpu0
        sock.close()
        return {"server_cpu_per_s": round(used / seconds, 3),
                "bytes_per_s": int(got / seconds)}


def stalled_readers(tree: str, n: int = 20, timeout: float = 60.0) -> dict[str, Any]:
    """Time until ``n`` firehose readers that never read are all dropped, and the CPU it took."""
    with Child(tree, {"send_timeout": 2.0}) as child:
        socks = []
        cpu0 = child.cpu()
        t0 = time.monotonic()
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", child.port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /sse?count=1000000&interval=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        dropped = 0
        while time.monotonic() - t0 < timeout:
            dropped = child.stats()["dropped_stalled"]
            if dropped >= n:
                break
            time.sleep(0.1)
        took = time.monotonic() - t0
        result = {"readers": n, "send_timeout_s": 2.0, "dropped": dropped,
                  "all_dropped_after_s": round(took, 2),
                  "server_cpu_s": round(child.cpu() - cpu0, 2)}
        for s in socks:
            s.close()
        return result


def descriptor_limit(tree: str, nofile: int = 64, seconds: float = 3.0) -> dict[str, Any]:
    """Hold more connections than descriptors; the server's CPU and log growth meanwhile."""
    with Child(tree, {}, nofile=nofile) as child:
        socks = []
        for _ in range(nofile + 40):
            try:
                socks.append(socket.create_connection(("127.0.0.1", child.port), timeout=2))
            except OSError:
                break
        time.sleep(0.3)
        cpu0, log0 = child.cpu(), child.stderr_bytes
        time.sleep(seconds)
        cpu = (child.cpu() - cpu0) / seconds
        log = (child.stderr_bytes - log0) / seconds
        for s in socks:
            s.close()
        # Recovery: once descriptors are free a new client is served.
        t0 = time.monotonic()
        ok = False
        while time.monotonic() - t0 < 10 and not ok:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{child.port}/stats", timeout=2).read()
                ok = True
            except OSError:
                time.sleep(0.1)
        stats = child.stats()
        return {"nofile": nofile, "held": len(socks), "server_cpu_per_s": round(cpu, 3),
                "log_bytes_per_s": int(log), "recovered_after_s": round(time.monotonic() - t0, 2),
                "recovered": ok, "limits": stats.get("limits")}


def broadcast_stalled(tree: str, n: int = 100, size: int = 2 * 2**20) -> dict[str, Any]:
    """RSS and loop time of a ``size``-byte broadcast to ``n`` subscribers that never read."""
    with Child(tree, {"send_timeout": 30.0}) as child:
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", child.port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        while child.stats()["subscribers"] < n:
            time.sleep(0.05)
        rss0 = child.ps.memory_info().rss
        loop = [float(child.command(f"broadcast {size}").split()[0]) for _ in range(3)]
        time.sleep(0.5)
        rss1 = child.ps.memory_info().rss
        stats = child.stats()
        for s in socks:
            s.close()
        return {"subscribers": n, "event_bytes": size,
                "loop_s_per_broadcast": [round(x, 3) for x in loop],
                "rss_mb_before": round(rss0 / 2**20, 1), "rss_mb_after": round(rss1 / 2**20, 1),
                "dropped": stats["subscribers_dropped"]}


def main() -> None:
    tree = sys.argv[1]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    only = sys.argv[2:] or ["big_body", "firehose", "stalled", "nofile", "broadcast"]
    out: dict[str, Any] = {}
    if "big_body" in only:
        out["body_10MB"] = big_body(tree, 10 * 2**20)
        out["body_900KB"] = big_body(tree, 900 * 1024)
    if "firehose" in only:
        out["firehose"] = firehose(tree)
    if "stalled" in only:
        out["stalled"] = stalled_readers(tree)
    if "nofile" in only:
        out["nofile"] = descriptor_limit(tree)
    if "broadcast" in only:
        out["broadcast"] = broadcast_stalled(tree)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
