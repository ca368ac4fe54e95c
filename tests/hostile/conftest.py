"""Helpers for the hostile-client suite: raw sockets against a real lab server on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, step: float = 0.01) -> float:
    """Poll ``predicate`` until true; return the seconds it took (fail on timeout)."""
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)
    return time.monotonic() - t0


def exchange(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    """Send ``request`` raw, read until the server closes or a whole response arrived."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except OSError:  # the server answered and closed before taking it all
            pass
        return read_response(sock)


def read_response(sock: socket.socket) -> bytes:
    """One HTTP response with a ``Content-Length`` (or up to EOF)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return data
        if not chunk:
            return data
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length" and len(body) >= int(value):
                    return data


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def header(response: bytes, name: str) -> str | None:
    head = response.partition(b"\r\n\r\n")[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def body(response: bytes) -> bytes:
    return response.partition(b"\r\n\r\n")[2]


def get(path: str, port: int, headers: str = "") -> bytes:
    """A ``GET`` with ``Connection: close``; the whole response."""
    return exchange(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}"
                          "Connection: close\r\n\r\n".encode())


def post(path: str, port: int, payload: bytes, headers: str = "") -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(payload)}\r\n{headers}Connection: close\r\n\r\n")
    return exchange(port, head.encode() + payload)
