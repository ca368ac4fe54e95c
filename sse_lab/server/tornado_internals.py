"""Every use of Tornado's private internals, behind small documented functions.

The lab server needs a few things Tornado has no public API for: how many bytes
a connection still holds in user space (to drop a stalled broadcast reader, and
to coalesce small writes), whether a response is chunked (the broadcast fast
path frames chunks itself), whether headers are out, and re-routing a pattern
on a running application. They live here, and only here, so that a Tornado
release that renames one breaks one module, and
``tests/test_tornado_internals.py`` names the attribute that changed.

Tested with the Tornado range pinned in ``pyproject.toml``.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterable
from typing import Any

import tornado.httputil
import tornado.routing
import tornado.tcpserver
import tornado.web
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream

__all__ = [
    "PRIVATE_ATTRIBUTES",
    "connection_stream",
    "stream_socket",
    "buffered_bytes",
    "pending_bytes",
    "send_now",
    "chunks_output",
    "headers_written",
    "finished",
    "reason",
    "response_header",
    "close_connection",
    "route_first",
    "handler_names",
    "add_guarded_sockets",
    "ACCEPT_EXHAUSTED",
]

#: The private names used below: (owner, attribute, what for). The test checks
#: each one on live objects of the installed Tornado.
PRIVATE_ATTRIBUTES: tuple[tuple[str, str, str], ...] = (
    ("IOStream", "_write_buffer", "bytes not yet taken by the kernel (len(); None once closed)"),
    ("HTTP1Connection", "_chunking_output", "the response is sent with chunked framing"),
    ("RequestHandler", "_headers_written", "the status line and headers are on their way"),
    ("RequestHandler", "_finished", "finish() has been called"),
    ("RequestHandler", "_reason", "the reason phrase of the response status"),
    ("RequestHandler", "_headers", "the response headers set so far (HTTPHeaders)"),
    ("_ApplicationRouter", "rules", "the routing rules list, reordered by route_first"),
    ("IOStream", "socket", "the socket under the stream, written directly by send_now"),
    ("HTTP1Connection", "stream", "the IOStream under an HTTP/1 connection"),
    ("TCPServer", "_sockets", "listening sockets by fd, closed by stop()"),
    ("TCPServer", "_handlers", "accept-handler removers by fd, called by stop()"),
    ("TCPServer", "_handle_connection", "wraps an accepted socket, calls handle_stream"),
)

#: ``accept()`` errors that mean "out of resources", not "this connection failed".
ACCEPT_EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
#: Connections accepted per readiness event (Tornado's own bound).
_ACCEPT_BATCH = 128


def connection_stream(handler: tornado.web.RequestHandler) -> IOStream | None:
    """The ``IOStream`` under ``handler``'s HTTP/1 connection (``None`` if there is none)."""
    stream = getattr(handler.request.connection, "stream", None)
    return stream if isinstance(stream, IOStream) else None


def stream_socket(stream: IOStream | None) -> socket.socket | None:
    """The socket under ``stream`` (``None`` once closed or without a stream)."""
    sock = getattr(stream, "socket", None)
    return sock if isinstance(sock, socket.socket) else None


def buffered_bytes(stream: IOStream | None) -> int | None:
    """Bytes ``stream`` holds in user space (written, not yet taken by the kernel).

    This is ``IOStream._write_buffer``: it stays near zero for a reader that
    keeps up and grows once the reader's receive window and our kernel send
    buffer are both full. ``None`` when it cannot be measured (no stream, or
    the stream is closed).
    """
    buf = getattr(stream, "_write_buffer", None)
    return len(buf) if buf is not None else None


def pending_bytes(stream: IOStream | None) -> int:
    """:func:`buffered_bytes`, with 0 for "cannot be measured" (the broadcast hot path)."""
    buf = getattr(stream, "_write_buffer", None)
    return len(buf) if buf is not None else 0


def send_now(stream: IOStream, data: bytes) -> int:
    """Hand ``data`` to the kernel now, bypassing ``IOStream.write``; return the bytes taken.

    Only valid when :func:`pending_bytes` is 0 (nothing queued that must go
    first); the caller queues the rest (``data[sent:]``) with
    ``stream.write``. It exists because ``IOStream.write`` allocates a Future,
    a closure, a tuple and a loop callback per call: per subscriber per event
    at thousands of subscribers that garbage sets off full GC collections.
    A full kernel buffer is 0 bytes taken, not an error.

    Raises:
        OSError: the connection is broken (reset, closed).
    """
    try:
        return stream.socket.send(data)  # type: ignore[union-attr]
    except BlockingIOError:
        return 0


def chunks_output(handler: tornado.web.RequestHandler) -> bool:
    """True if Tornado frames this response as HTTP/1.1 chunks.

    Valid once the headers are written (an HTTP/1.1 response without
    ``Content-Length``); False for HTTP/1.0 and non-HTTP/1 connections.
    """
    return bool(getattr(handler.request.connection, "_chunking_output", False))


def headers_written(handler: tornado.web.RequestHandler) -> bool:
    """True once the first ``flush()`` has sent (or queued) the status line and headers."""
    return bool(handler._headers_written)


def finished(handler: tornado.web.RequestHandler) -> bool:
    """True once ``finish()`` has been called on ``handler``."""
    return bool(handler._finished)


def reason(handler: tornado.web.RequestHandler) -> str:
    """The reason phrase of ``handler``'s status (``"Bad Request"`` or the message given)."""
    return str(handler._reason)


def response_header(handler: tornado.web.RequestHandler, name: str) -> str | None:
    """The value of response header ``name`` set so far, or ``None``."""
    headers: tornado.httputil.HTTPHeaders = handler._headers
    return headers.get(name)


def close_connection(handler: tornado.web.RequestHandler) -> None:
    """Close ``handler``'s connection now (no more bytes in either direction)."""
    handler.request.connection.close()  # type: ignore[attr-defined]


def route_first(
    app: tornado.web.Application,
    pattern: str,
    handler: type[tornado.web.RequestHandler],
    kwargs: dict[str, Any],
) -> None:
    """Route ``pattern`` to ``handler`` ahead of every other rule, replacing an earlier one.

    ``Application.add_handlers`` appends (an earlier rule for the same pattern
    would keep winning); a notebook that re-runs a cell with a fixed class
    needs the new class to take over, so the new rule goes first and any
    rule with the same regex is removed. Call on the application's loop.
    """
    router = app.wildcard_router
    router.add_rules([(pattern, handler, kwargs)])
    new = router.rules.pop()
    key = getattr(new.matcher, "regex", None)
    router.rules = [
        r for r in router.rules if key is None or getattr(r.matcher, "regex", None) != key
    ]
    router.rules.insert(0, new)


def handler_names(app: tornado.web.Application, path: str) -> list[str]:
    """Qualified names of the handler classes routed for ``path``, first match first."""
    names: list[str] = []
    for host_rule in app.default_router.rules:
        target = host_rule.target
        rules = target.rules if isinstance(target, tornado.routing.RuleRouter) else []
        for rule in rules:
            regex = getattr(rule.matcher, "regex", None)
            if regex is not None and regex.fullmatch(path):
                names.append(getattr(rule.target, "__qualname__", repr(rule.target)))
    return names


def add_guarded_sockets(
    server: tornado.tcpserver.TCPServer,
    sockets: Iterable[socket.socket],
    exhausted: Callable[[OSError], float],
) -> None:
    """``server.add_sockets(sockets)``, but pausing instead of spinning when out of descriptors.

    Tornado's accept handler (``tornado.netutil.add_accept_handler``) lets an
    ``EMFILE`` from ``accept()`` escape: the listening socket stays readable,
    so the loop calls it again at once, at 100 % CPU, logging a traceback
    each time. Here such an error stops watching the socket for
    ``exhausted(exc)`` seconds (the callback also counts and logs it); the
    pending connections wait in the kernel's accept queue meanwhile and are
    accepted once descriptors are free again. Uses ``TCPServer._sockets`` and
    ``_handlers`` (so ``server.stop()`` still works) and ``_handle_connection``.
    """
    for sock in sockets:
        server._sockets[sock.fileno()] = sock
        server._handlers[sock.fileno()] = _guarded_accept(
            sock, server._handle_connection, exhausted
        )


def _guarded_accept(
    sock: socket.socket,
    callback: Callable[[socket.socket, Any], None],
    exhausted: Callable[[OSError], float],
) -> Callable[[], None]:
    io_loop = IOLoop.current()
    removed = False
    paused: object | None = None

    def accept(fd: Any, events: int) -> None:
        nonlocal paused
        for _ in range(_ACCEPT_BATCH):
            if removed:
                return
            try:
                connection, address = sock.accept()
            except BlockingIOError:
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno not in ACCEPT_EXHAUSTED:
                    raise
                io_loop.remove_handler(sock)
                paused = io_loop.call_later(exhausted(exc), resume)
                return
            callback(connection, address)

    def resume() -> None:
        nonlocal paused
        paused = None
        if not removed:
            io_loop.add_handler(sock, accept, IOLoop.READ)

    def remove() -> None:
        nonlocal removed
        if paused is not None:
            io_loop.remove_timeout(paused)
        elif not removed:
            io_loop.remove_handler(sock)
        removed = True

    io_loop.add_handler(sock, accept, IOLoop.READ)
    return remove
