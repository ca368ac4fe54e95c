"""One validator set for the server's request arguments, and its CORS rule.

Every route family reads query arguments through these, so a bad value gets
the same answer everywhere: a ``400`` whose message names the parameter and
the rule (never a ``500``). Numbers are parsed from ASCII only: ``int()`` and
``float()`` alone would also accept ``"٣"``, ``"1_000"`` or ``" 7 "``; integers
have at most :data:`~sse_lab.server.config.MAX_INT_DIGITS` digits (``int()``
of 4,301 digits raises), floats are finite and within the documented range.

Request bodies go through :func:`parse_json` (depth bounded, invalid Unicode
refused) and texts through :func:`check_text`; both raise :class:`InputError`,
an ``HTTPError`` a route family answers in its own format (its ``param`` and
``message`` say what and why). :func:`check_same_site` refuses a cross-site
request to an endpoint that spends something (the upstream relay).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

import tornado.web

from sse_lab.model import SimulatedLLM
from sse_lab.server.config import MAX_ID_LENGTH, MAX_INT_DIGITS, MAX_JSON_DEPTH, SPEED_RANGE

__all__ = [
    "InputError",
    "arg_int",
    "arg_float",
    "parse_int",
    "parse_float",
    "check_text",
    "parse_json",
    "model_for",
    "last_event_id",
    "resume_index",
    "apply_cors",
    "check_same_site",
    "host_is_local",
    "check_prompt_tokens",
    "check_speed",
    "off_loop",
    "OFF_LOOP_BYTES",
]

T = TypeVar("T")
#: Request bodies smaller than this are parsed on the loop (a thread hop costs more).
OFF_LOOP_BYTES = 64 * 1024


async def off_loop(fn: Callable[..., T], *args: Any, size: int) -> T:
    """``fn(*args)``, run in a worker thread when ``size`` (the request's bytes) is large.

    For work proportional to a request's size (decoding a JSON body,
    tokenizing a long prompt): on the loop it would stall every other
    client for its duration; in a thread the loop keeps running (the
    interpreter switches threads every few milliseconds).
    """
    if size < OFF_LOOP_BYTES:
        return fn(*args)
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

_INT = re.compile(rf"[+-]?[0-9]{{1,{MAX_INT_DIGITS}}}")
_FLOAT = re.compile(r"[+-]?([0-9]{1,40}\.?[0-9]{0,40}|\.[0-9]{1,40})([eE][+-]?[0-9]{1,3})?")


class InputError(tornado.web.HTTPError):
    """Bad input: a 4xx whose message names the parameter and the rule.

    Attributes:
        param: The parameter (query argument, header or body field) at fault.
        message: ``"<param> <rule>"``, fit to show to the client.
    """

    def __init__(self, param: str, rule: str, status: int = 400) -> None:
        self.param = param
        self.message = f"{param} {rule}"
        super().__init__(status, self.message.replace("%", "%%"))


def parse_int(raw: str, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """``raw`` as an integer: ASCII digits (at most 18), optional sign, within ``[lo, hi]``.

    Raises:
        InputError: naming ``name`` and the rule broken.
    """
    if not _INT.fullmatch(raw):
        raise InputError(name, f"must be an integer (at most {MAX_INT_DIGITS} ASCII digits)")
    value = int(raw)
    _check_range(value, name, lo, hi)
    return value


def parse_float(raw: str, name: str, lo: float | None = None, hi: float | None = None) -> float:
    """``raw`` as a finite decimal number (ASCII, no ``inf``/``nan``/``_``) within ``[lo, hi]``.

    Raises:
        InputError: naming ``name`` and the rule broken.
    """
    if not _FLOAT.fullmatch(raw):
        raise InputError(name, "must be a number (ASCII decimal digits, e.g. 2.5)")
    value = float(raw)
    if not math.isfinite(value):
        raise InputError(name, "must be finite")
    _check_range(value, name, lo, hi)
    return value


def _check_range(value: float, name: str, lo: float | None, hi: float | None) -> None:
    if lo is not None and hi is not None and not lo <= value <= hi:
        raise InputError(name, f"must be between {lo!r} and {hi!r}")
    if lo is not None and value < lo:
        raise InputError(name, f"must be at least {lo!r}")
    if hi is not None and value > hi:
        raise InputError(name, f"must be at most {hi!r}")


def arg_int(
    handler: tornado.web.RequestHandler,
    name: str,
    default: int,
    lo: int | None = None,
    hi: int | None = None,
) -> int:
    """Query argument ``name`` as an integer (see :func:`parse_int`), or ``default``.

    Raises:
        InputError: 400 ``"<name> must be an integer ..."`` or out of ``[lo, hi]``.
    """
    raw = handler.get_argument(name, None, strip=False)  # " 7" is not a number either
    if raw is None:
        return default
    return parse_int(raw, name, lo, hi)


def arg_float(
    handler: tornado.web.RequestHandler,
    name: str,
    default: float,
    lo: float | None = None,
    hi: float | None = None,
) -> float:
    """Query argument ``name`` as a finite decimal number (see :func:`parse_float`), or ``default``.

    Raises:
        InputError: 400 ``"<name> must be a number"``, ``"... finite"`` or out of range.
    """
    raw = handler.get_argument(name, None, strip=False)  # " 7" is not a number either
    if raw is None:
        return default
    return parse_float(raw, name, lo, hi)


def check_text(value: str, name: str) -> str:
    """``value`` if it is valid Unicode (encodable as UTF-8: no lone surrogate).

    JSON's ``"\\ud800"`` escape decodes to a lone surrogate that no encoder
    can write back out; refused here, it cannot fail mid-stream later.

    Raises:
        InputError: 400 ``"<name> must be valid Unicode ..."``.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            name, f"must be valid Unicode (a lone surrogate at character {exc.start})"
        ) from None
    return value


def parse_json(raw: bytes | str, name: str = "body", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode a JSON request body; bounded nesting, valid Unicode in every string.

    Its cost is proportional to the body, so callers bound the body first
    (``ServerConfig.max_body``) and large ones are decoded off the loop.

    Raises:
        InputError: 400 naming ``name`` (or the first offending field) and the rule.
    """
    try:
        value = json.loads(raw)
    except RecursionError:
        raise InputError(name, f"must not nest arrays/objects deeper than {max_depth}") from None
    except UnicodeDecodeError:
        raise InputError(name, "must be UTF-8") from None
    except ValueError as exc:
        raise InputError(name, f"is not valid JSON ({exc})") from None
    _walk(value, name, max_depth)
    return value


def _walk(value: Any, name: str, max_depth: int) -> None:
    # Iterative: a recursive walk would itself hit the recursion limit.
    todo: list[tuple[Any, str, int]] = [(value, name, 0)]
    while todo:
        item, where, depth = todo.pop()
        if isinstance(item, str):
            check_text(item, where)
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise InputError(name, f"must not nest arrays/objects deeper than {max_depth}")
            if isinstance(item, dict):
                for key, sub in item.items():
                    check_text(key, f"{where} key")
                    todo.append((sub, f"{where}.{key}" if depth < 4 else where, depth + 1))
            else:
                todo.extend((sub, f"{where}[{i}]" if depth < 4 else where, depth + 1)
                            for i, sub in enumerate(item))


def model_for(handler: tornado.web.RequestHandler, model: SimulatedLLM) -> SimulatedLLM:
    """``model`` with the request's ``speed`` and ``cadence`` applied (validated).

    Raises:
        InputError: 400 when ``speed`` is not a number within
            :data:`~sse_lab.server.config.SPEED_RANGE` or ``cadence`` is
            neither ``steady`` nor ``bursty``.
    """
    speed = arg_float(handler, "speed", model.speed, *SPEED_RANGE)
    cadence = handler.get_argument("cadence", model.cadence)
    if cadence not in ("steady", "bursty"):
        raise InputError("cadence", "must be steady or bursty")
    if speed == model.speed and cadence == model.cadence:
        return model
    return replace(model, speed=speed, cadence=cadence)  # type: ignore[arg-type]


def last_event_id(handler: tornado.web.RequestHandler) -> str | None:
    """The ``Last-Event-ID`` header, else the ``lastEventId`` query argument, else ``None``.

    The query form exists because a page that recreates its ``EventSource``
    cannot set headers.

    Raises:
        InputError: 400 when it is longer than ``MAX_ID_LENGTH`` characters.
    """
    raw = handler.request.headers.get("Last-Event-ID")
    name = "Last-Event-ID"
    if raw is None:
        raw = handler.get_argument("lastEventId", None)
        name = "lastEventId"
    if raw is not None and len(raw) > MAX_ID_LENGTH:
        raise InputError(name, f"must be at most {MAX_ID_LENGTH} characters")
    return raw


def resume_index(handler: tornado.web.RequestHandler) -> int:
    """The token to start from: one past ``Last-Event-ID`` (header or query), else 0.

    An ID that is not a plain ASCII number starts from the beginning: the
    browser sends back whatever ID it last saw, so this is not a client error.

    Raises:
        InputError: 400 for a number of more than ``MAX_INT_DIGITS`` digits
            (no answer has that many tokens).
    """
    raw = last_event_id(handler)
    if raw is None or not raw.isascii() or not raw.isdigit():
        return 0
    if len(raw) > MAX_INT_DIGITS:
        rule = f"must be a token index of at most {MAX_INT_DIGITS} digits"
        raise InputError("Last-Event-ID", rule)
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


def check_same_site(handler: tornado.web.RequestHandler, origins: tuple[str, ...]) -> None:
    """Refuse a cross-site request (403): for endpoints that spend something.

    A page on another site can make a visitor's browser send a ``GET`` (an
    ``EventSource``, an image) to the lab server; for the upstream relay that
    spends the API key. Browsers say where a request comes from: a
    ``Sec-Fetch-Site`` other than ``same-origin``/``none``, or an ``Origin``
    whose host:port is not this request's ``Host`` nor in ``origins``, is
    refused. A ``Host`` that is neither a loopback name nor an IP address is
    refused too (a DNS-rebinding page reaches us under its own name). Tools
    (curl, the SDKs) send neither header and pass.

    Raises:
        InputError: 403 naming the header and the rule.
    """
    headers = handler.request.headers
    host = headers.get("Host", "")
    if not host_is_local(host):
        raise InputError("Host", "must be localhost or an IP address (DNS rebinding)", 403)
    origin = headers.get("Origin")
    if origin is not None and origin not in origins and "*" not in origins:
        if origin == "null" or urlsplit(origin).netloc != host:
            raise InputError("Origin", "must be this server's own origin (cross-site)", 403)
    site = headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none") and not (
        origin is not None and (origin in origins or "*" in origins)
    ):
        raise InputError("Sec-Fetch-Site", f"must be same-origin, not {site!r}", 403)


_LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]")
_IP_HOST = re.compile(r"(\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?")


def host_is_local(host: str) -> bool:
    """True if ``host`` (a ``Host`` header) is a loopback name or a literal IP address.

    A DNS-rebinding attack reaches the server under the attacker's own host
    name; a name other than ``localhost`` (or ``*.localhost``) is refused by
    the endpoints that check it. IP literals are accepted: rebinding cannot
    forge those, as the browser sends the name it resolved.
    """
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    name = name.lower()
    return name in _LOCAL_NAMES or name.endswith(".localhost") or bool(_IP_HOST.fullmatch(host))


def check_speed(speed: float | None) -> None:
    """Refuse a ``speed`` outside :data:`~sse_lab.server.config.SPEED_RANGE` (``None``: default).

    Raises:
        InputError: 400 on ``speed`` (``5e-324`` would make every delay infinite).
    """
    lo, hi = SPEED_RANGE
    if speed is not None and not lo <= speed <= hi:
        raise InputError("speed", f"must be between {lo!r} and {hi!r}")


def check_prompt_tokens(tokens: int, limit: int) -> None:
    """Refuse a request whose messages have more than ``limit`` tokens.

    Raises:
        InputError: 400 on ``messages`` (``ServerConfig.max_prompt_tokens``).
    """
    if tokens > limit:
        raise InputError(
            "messages", f"have {tokens} tokens, more than max_prompt_tokens ({limit})"
        )
