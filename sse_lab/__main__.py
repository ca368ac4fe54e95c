"""Command line: ``python -m sse_lab serve [--host 127.0.0.1] [--port 1314]``.

Also ``python -m sse_lab redis`` (the bundled Redis) and ``python -m sse_lab
wechat-example DIR`` (the WeChat mini-program that streams a chat, ready for WeChat
DevTools).

``--teaching-routes`` also mounts the routes that show what breaks streaming.
The limits a hostile client meets (body sizes, connections, timeouts; see
:class:`sse_lab.server.ServerConfig`) each have a flag: ``--max-body``,
``--max-connections``, ``--header-timeout``...
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from sse_lab.server import ServerConfig, start_server
from sse_lab.server.cli import (
    add_redis_command,
    add_store_arguments,
    add_wechat_command,
    answers_config,
    run_redis,
    run_wechat_example,
)
from sse_lab.server.stores import StoreError

#: The limits with a command-line flag: (ServerConfig field, type, what it bounds).
LIMIT_FLAGS: tuple[tuple[str, type, str], ...] = (
    ("max_body", int, "bytes of a /v1 request body, else 413"),
    ("max_body_other", int, "bytes of any other request body, else 413"),
    ("max_prompt_tokens", int, "tokens of a /v1 request's messages, else 400"),
    ("max_connections", int, "connections open at once, else 503"),
    ("max_connections_per_client", int, "connections per client address, else 503"),
    ("header_timeout", float, "seconds to send a request's headers (slowloris), idle keep-alive"),
    ("body_timeout", float, "seconds to send a request's body"),
    ("max_header_size", int, "bytes of request line and headers"),
    ("sse_max_events", int, "largest /sse count"),
    ("sse_min_interval", float, "smallest /sse interval, s"),
    ("ws_max_message", int, "bytes of a WebSocket message"),
)


def main(argv: list[str] | None = None) -> int:
    """Run the lab server standalone until Ctrl+C (or SIGTERM)."""
    parser = argparse.ArgumentParser(prog="python -m sse_lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the SSE lab server")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=1314, help="port (default 1314, 0 = any)")
    serve.add_argument("--heartbeat", type=float, default=15.0, help="idle heartbeat, s")
    serve.add_argument("--send-timeout", type=float, default=10.0, help="stalled reader cut, s")
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow this origin to read the streams (repeatable; none by default)",
    )
    serve.add_argument(
        "--teaching-routes",
        action="store_true",
        help="also mount /chat-noflush and /chat-gzip (what breaks streaming; off by default)",
    )
    limits = serve.add_argument_group("limits (ServerConfig; the defaults suit a lab)")
    for name, kind, what in LIMIT_FLAGS:
        flag = "--" + name.replace("_", "-")
        default = getattr(ServerConfig, name)
        limits.add_argument(flag, type=kind, default=default, help=f"{what} (default {default})")
    add_store_arguments(serve)
    add_redis_command(sub)
    add_wechat_command(sub)
    args = parser.parse_args(argv)
    if args.command == "redis":
        return run_redis(args)
    if args.command == "wechat-example":
        return run_wechat_example(args)

    config = ServerConfig(
        heartbeat=args.heartbeat,
        send_timeout=args.send_timeout,
        cors_origins=tuple(args.cors_origin),
        teaching_routes=args.teaching_routes,
        answers=answers_config(args),
        **{name: getattr(args, name) for name, _kind, _what in LIMIT_FLAGS},
    )
    try:
        server = start_server(args.port, args.host, config=config)
    except StoreError as exc:
        print(f"sse_lab: {exc}", file=sys.stderr)
        return 2
    # The handler goes in before the line that tells a supervisor we are up,
    # so a SIGTERM sent right after it stops the server cleanly.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"sse_lab serving on {server.url}  (chat page: {server.url}/ ; Ctrl+C stops)",
          flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    server.stop()
    print("sse_lab stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
