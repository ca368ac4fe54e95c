"""The route families of the lab server, one module each, registered in one list.

A family is a module with a ``routes(context) -> list`` function returning its
Tornado rules, each handler receiving ``{"context": context}``. To add one:
write ``sse_lab/server/routes/<name>.py`` with its handlers and ``routes``, and
append ``<name>.routes`` to :data:`ROUTE_FAMILIES` (or to
:data:`TEACHING_FAMILIES` if it only demonstrates a mistake).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sse_lab.server.context import ServerContext
from sse_lab.server.routes import (
    answers,
    anthropic,
    breakers,
    broadcast,
    chat,
    openai,
    pages,
    responses,
    transports,
)

__all__ = ["RouteFamily", "ROUTE_FAMILIES", "TEACHING_FAMILIES", "all_routes"]

#: A family: given the server's context, its Tornado rules.
RouteFamily = Callable[[ServerContext], list[tuple[Any, ...]]]

#: Mounted on every server, in this order (the first matching rule wins).
ROUTE_FAMILIES: tuple[RouteFamily, ...] = (
    chat.routes,
    transports.routes,
    broadcast.routes,
    openai.routes,
    anthropic.routes,
    responses.routes,
    pages.routes,
    answers.routes,
)

#: Mounted only with ``ServerConfig(teaching_routes=True)``: what breaks streaming.
TEACHING_FAMILIES: tuple[RouteFamily, ...] = (breakers.routes,)


def all_routes(context: ServerContext) -> list[tuple[Any, ...]]:
    """Every rule the server mounts for ``context`` (teaching families only if asked)."""
    families = ROUTE_FAMILIES
    if context.config.teaching_routes:
        families += TEACHING_FAMILIES
    rules: list[tuple[Any, ...]] = []
    for family in families:
        rules += family(context)
    return rules
