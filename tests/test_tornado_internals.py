"""The Tornado internals sse_lab relies on still exist on the installed Tornado.

Every private attribute the server uses is reached through
``sse_lab.server.tornado_internals``; these tests check each one on live
objects (a real Tornado server answering a real socket), so a Tornado release
that renames or retypes one fails here, naming it, instead of silently
breaking broadcast, the stall sweep, write coalescing or ``add_handler``.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import socket
from pathlib import Path
from typing import Any

import pytest
import tornado
import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.routing
import tornado.web
from tornado.http1connection import HTTP1Connection
from tornado.iostream import IOStream

from sse_lab.server import tornado_internals as ti

#: What a handler saw of the internals, by check name: (ok, detail).
Seen = dict[str, tuple[bool, str]]


def _missing(owner: str, name: str, what: str) -> str:
    return (
        f"Tornado {tornado.version}: {owner}.{name} ({what}) is missing or changed; "
        "sse_lab.server.tornado_internals relies on it. Update that module (and the "
        "Tornado pin in pyproject.toml)."
    )


def _has(obj: Any, owner: str, name: str, kind: type | tuple[type, ...]) -> tuple[bool, str]:
    what = dict((a, w) for o, a, w in ti.PRIVATE_ATTRIBUTES if o == owner).get(name, name)
    if not hasattr(obj, name):
        return False, _missing(owner, name, what)
    value = getattr(obj, name)
    if not isinstance(value, kind):
        return False, _missing(owner, name, f"{what}; now a {type(value).__name__}")
    return True, ""


class Probe(tornado.web.RequestHandler):
    """Looks at every internal before and after the headers leave, and after finish."""

    seen: Seen

    def initialize(self, seen: Seen) -> None:
        self.seen = seen

    async def get(self) -> None:
        seen = self.seen
        conn = self.request.connection
        seen["HTTP1Connection.stream"] = _has(conn, "HTTP1Connection", "stream", IOStream)
        stream = ti.connection_stream(self)
        seen["connection_stream"] = (
            isinstance(stream, IOStream),
            _missing("HTTP1Connection", "stream", "connection_stream() found no IOStream"),
        )
        seen["IOStream._write_buffer"] = _has(stream, "IOStream", "_write_buffer", object)
        buf = getattr(stream, "_write_buffer", None)
        seen["IOStream._write_buffer len"] = (
            hasattr(buf, "__len__") and ti.buffered_bytes(stream) == 0,
            _missing("IOStream", "_write_buffer", "no len(), or not empty on an idle stream"),
        )
        seen["IOStream.socket"] = _has(stream, "IOStream", "socket", socket.socket)
        for name in ("_headers_written", "_finished"):
            seen[f"RequestHandler.{name}"] = _has(self, "RequestHandler", name, bool)
        seen["headers_written before"] = (
            ti.headers_written(self) is False,
            _missing("RequestHandler", "_headers_written", "not False before the first flush"),
        )
        seen["RequestHandler._reason"] = _has(self, "RequestHandler", "_reason", str)
        seen["reason"] = (
            ti.reason(self) == "OK",
            _missing("RequestHandler", "_reason", "not the status's reason phrase"),
        )
        self.set_header("X-Probe", "1")
        seen["RequestHandler._headers"] = _has(
            self, "RequestHandler", "_headers", tornado.httputil.HTTPHeaders
        )
        seen["response_header"] = (
            ti.response_header(self, "X-Probe") == "1",
            _missing("RequestHandler", "_headers", "does not hold the headers set"),
        )
        self.set_header("Content-Type", "text/plain")
        self.write(b"first")
        await self.flush()
        seen["headers_written after"] = (
            ti.headers_written(self) is True,
            _missing("RequestHandler", "_headers_written", "not True after flush()"),
        )
        http11 = self.request.version == "HTTP/1.1"
        seen[f"HTTP1Connection._chunking_output {self.request.version}"] = (
            ti.chunks_output(self) is http11
            and isinstance(getattr(conn, "_chunking_output", None), bool),
            _missing("HTTP1Connection", "_chunking_output", f"not {http11} for this request"),
        )
        if http11 and stream is not None:
            frame = b"5\r\nhello\r\n"
            seen["send_now"] = (
                ti.send_now(stream, frame) == len(frame),
                _missing("IOStream", "socket", "send_now() did not hand the bytes to the kernel"),
            )
        self.finish()
        seen["finished"] = (
            ti.finished(self) is True,
            _missing("RequestHandler", "_finished", "not True after finish()"),
        )


async def _probe(version: str) -> tuple[Seen, bytes]:
    seen: Seen = {}
    app = tornado.web.Application([(r"/probe", Probe, {"seen": seen})])
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /probe {version}\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        body = await asyncio.wait_for(reader.read(-1), 10)
        writer.close()
        return seen, body
    finally:
        server.stop()
        await asyncio.wait_for(server.close_all_connections(), 5)


@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_request_handler_and_connection_internals(version: str) -> None:
    seen, body = asyncio.run(_probe(version))
    assert body.startswith(b"HTTP/1.1 200"), body[:80]  # Tornado answers 1.0 with a 1.1 line
    assert seen, "the probe handler never ran"
    problems = [detail for ok, detail in seen.values() if not ok]
    assert not problems, "\n".join(problems)
    if version == "HTTP/1.1":
        assert b"5\r\nhello\r\n" in body  # send_now's bytes arrived, framed as a chunk


def test_write_buffer_is_none_once_the_stream_closes() -> None:
    a, b = socket.socketpair()

    async def scenario() -> tuple[int | None, int | None, int]:
        stream = IOStream(a)
        before = ti.buffered_bytes(stream)
        stream.close()
        return before, ti.buffered_bytes(stream), ti.pending_bytes(stream)

    try:
        before, after, pending = asyncio.run(scenario())
    finally:
        b.close()
    assert before == 0, _missing("IOStream", "_write_buffer", "not 0 on a fresh stream")
    assert after is None and pending == 0, _missing(
        "IOStream", "_write_buffer", "not None once the stream is closed"
    )


def test_router_rules_can_be_reordered_and_read() -> None:
    class A(tornado.web.RequestHandler):
        pass

    class B(tornado.web.RequestHandler):
        pass

    app = tornado.web.Application([(r"/x", A), (r"/y", A)])
    router = app.wildcard_router
    assert isinstance(router, tornado.routing.RuleRouter), _missing(
        "Application", "wildcard_router", "not a RuleRouter"
    )
    ok, detail = _has(router, "_ApplicationRouter", "rules", list)
    assert ok, detail
    assert isinstance(app.default_router, tornado.routing.RuleRouter), _missing(
        "Application", "default_router", "not a RuleRouter"
    )
    assert ti.handler_names(app, "/x") == ["test_router_rules_can_be_reordered_and_read.<locals>.A"]
    ti.route_first(app, r"/x", B, {})
    names = ti.handler_names(app, "/x")
    assert names == ["test_router_rules_can_be_reordered_and_read.<locals>.B"], _missing(
        "_ApplicationRouter", "rules", f"route_first did not replace the rule: {names}"
    )
    assert ti.handler_names(app, "/y"), "route_first removed an unrelated rule"


def test_http1_connection_close_is_public() -> None:
    assert callable(getattr(HTTP1Connection, "close", None)), _missing(
        "HTTP1Connection", "close", "close_connection() calls it"
    )


def test_guarded_accept_uses_the_tcpserver_internals() -> None:
    """add_guarded_sockets registers like add_sockets: stop() still closes and unregisters."""

    async def scenario() -> tuple[list[bool], bool]:
        server = tornado.httpserver.HTTPServer(tornado.web.Application())
        found = [
            _has(server, "TCPServer", "_sockets", dict),
            _has(server, "TCPServer", "_handlers", dict),
            (callable(getattr(server, "_handle_connection", None)),
             _missing("TCPServer", "_handle_connection", "not callable")),
        ]
        for ok, detail in found:
            assert ok, detail
        [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1")
        ti.add_guarded_sockets(server, [sock], lambda exc: 0.1)
        port = sock.getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readline(), 5)
        writer.close()
        server.stop()
        return [ok for ok, _ in found], head.startswith(b"HTTP/1.1 404") and sock.fileno() == -1

    oks, served_and_stopped = asyncio.run(scenario())
    assert all(oks) and served_and_stopped


def test_every_listed_private_attribute_is_checked_here() -> None:
    source = inspect.getsource(Probe)
    source += inspect.getsource(test_guarded_accept_uses_the_tcpserver_internals)
    source += inspect.getsource(test_router_rules_can_be_reordered_and_read)
    source += inspect.getsource(test_write_buffer_is_none_once_the_stream_closes)
    for owner, name, _what in ti.PRIVATE_ATTRIBUTES:
        assert f'"{owner}", "{name}"' in source, f"{owner}.{name} is used but not tested"


#: Tornado-private names that may appear only in sse_lab/server/tornado_internals.py.
_PRIVATE_PATTERN = re.compile(
    r"\._write_buffer\b|\._headers_written\b|\._finished\b|\._chunking_output\b"
    r"|\._reason\b|\._headers\.get\b|\bwildcard_router\b|\bdefault_router\b"
    r"|\.socket\.send\(|\bconnection\.stream\b|\bread_from_fd\b|\bwrite_to_fd\b"
)
#: Known uses outside it, in modules that are moving off them (path -> names).
_KNOWN_ELSEWHERE = {
    "sse_lab/server/proxy.py": {"._headers_written"},
    "sse_lab/client/transports.py": {"read_from_fd", "write_to_fd"},
}


def test_tornado_internals_are_used_nowhere_else() -> None:
    root = Path(__file__).resolve().parent.parent
    found: dict[str, set[str]] = {}
    for path in sorted((root / "sse_lab").rglob("*.py")) + sorted(
        (root / "benchmarks" / "servers").glob("*.py")
    ):
        rel = path.relative_to(root).as_posix()
        if rel == "sse_lab/server/tornado_internals.py":
            continue
        names = set(_PRIVATE_PATTERN.findall(path.read_text(encoding="utf-8")))
        if names:
            found[rel] = names
    unexpected = {
        rel: names - _KNOWN_ELSEWHERE.get(rel, set())
        for rel, names in found.items()
        if names - _KNOWN_ELSEWHERE.get(rel, set())
    }
    assert not unexpected, (
        f"Tornado internals used outside sse_lab/server/tornado_internals.py: {unexpected}; "
        "add a documented function there (and a check above) instead"
    )
