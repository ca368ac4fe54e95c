"""One validator set for the server's request arguments, and its CORS rule.

Every route family reads query arguments through these, so a bad value gets
the same answer everywhere: a ``400`` whose message names the parameter and
the rule (never a ``500``). Numbers are parsed from ASCII only: ``int()`` and
``float()`` alone would also accept ``"٣"``, ``"1_000"`` or ``" 7 "``.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

import tornado.web

from sse_lab.model import SimulatedLLM

__all__ = ["arg_int", "arg_float", "model_for", "last_event_id", "resume_index", "apply_cors"]

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def arg_int(handler: tornado.web.RequestHandler, name: str, default: int) -> int:
    """Query argument ``name`` as an integer (ASCII digits, optional sign), or ``default``.

    Raises:
        tornado.web.HTTPError: 400 ``"<name> must be an integer"``.
    """
    raw = handler.get_argument(name, None)
    if raw is None:
        return default
    if not _INT.fullmatch(raw):
        raise tornado.web.HTTPError(400, f"{name} must be an integer")
    return int(raw)


def arg_float(handler: tornado.web.RequestHandler, name: str, default: float) -> float:
    """Query argument ``name`` as a finite decimal number, or ``default``.

    Raises:
        tornado.web.HTTPError: 400 ``"<name> must be a number"`` or ``"... finite"``.
    """
    raw = handler.get_argument(name, None)
    if raw is None:
        return default
    if not _FLOAT.fullmatch(raw):
        raise tornado.web.HTTPError(400, f"{name} must be a number")
    value = float(raw)
    if not math.isfinite(value):
        raise tornado.web.HTTPError(400, f"{name} must be finite")
    return value


def model_for(handler: tornado.web.RequestHandler, model: SimulatedLLM) -> SimulatedLLM:
    """``model`` with the request's ``speed`` and ``cadence`` applied (validated).

    Raises:
        tornado.web.HTTPError: 400 when ``speed`` is not a positive number or
            ``cadence`` is neither ``steady`` nor ``bursty``.
    """
    speed = arg_float(handler, "speed", model.speed)
    cadence = handler.get_argument("cadence", model.cadence)
    if speed <= 0:
        raise tornado.web.HTTPError(400, "speed must be positive")
    if cadence not in ("steady", "bursty"):
        raise tornado.web.HTTPError(400, "cadence must be steady or bursty")
    if speed == model.speed and cadence == model.cadence:
        return model
    return replace(model, speed=speed, cadence=cadence)  # type: ignore[arg-type]


def last_event_id(handler: tornado.web.RequestHandler) -> str | None:
    """The ``Last-Event-ID`` header, else the ``lastEventId`` query argument, else ``None``.

    The query form exists because a page that recreates its ``EventSource``
    cannot set headers.
    """
    raw = handler.request.headers.get("Last-Event-ID")
    if raw is None:
        raw = handler.get_argument("lastEventId", None)
    return raw


def resume_index(handler: tornado.web.RequestHandler) -> int:
    """The token to start from: one past ``Last-Event-ID`` (header or query), else 0.

    An ID that is not a plain ASCII number starts from the beginning: the
    browser sends back whatever ID it last saw, so this is not a client error.
    """
    raw = last_event_id(handler)
    if raw is None or not raw.isascii() or not raw.isdigit():
        return 0
    return int(raw) + 1


def apply_cors(handler: tornado.web.RequestHandler, origins: tuple[str, ...]) -> None:
    """Allow the request's ``Origin`` to read the response if it is in ``origins``.

    Echoes the origin (with ``Vary: Origin``), never a literal ``*``; a ``*``
    entry in ``origins`` allows any origin that way.
    """
    origin = handler.request.headers.get("Origin")
    if origins and origin and (origin in origins or "*" in origins):
        handler.set_header("Access-Control-Allow-Origin", origin)
        handler.set_header("Vary", "Origin")
