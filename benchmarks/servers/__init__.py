"""One launcher per server, all serving the same endpoints (see :mod:`benchmarks.common`).

Run one with ``python -m benchmarks.servers.<name> --port P``; ``benchmarks.run``
starts each pinned to core 0. :data:`SERVERS` maps the names used by
``python -m benchmarks.run --only NAME`` to their modules.
"""

SERVERS: dict[str, str] = {
    "sse_lab": "benchmarks.servers.sse_lab_server",
    "tornado": "benchmarks.servers.tornado_server",
    "starlette": "benchmarks.servers.starlette_server",
    "aiohttp": "benchmarks.servers.aiohttp_server",
    "express": "benchmarks.servers.express_server",
}

#: How each shows up in the tables.
LABELS: dict[str, str] = {
    "sse_lab": "sse_lab",
    "tornado": "plain Tornado",
    "starlette": "sse-starlette/uvicorn",
    "aiohttp": "aiohttp-sse",
    "express": "express (Node)",
}
