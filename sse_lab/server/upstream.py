"""Relay a real OpenAI-compatible model instead of the simulated one.

Set ``SSE_LAB_UPSTREAM_BASE_URL`` (for example ``https://api.openai.com/v1``,
``http://localhost:11434/v1`` for Ollama, or another lab server's ``/v1``)
and ``/chat`` streams that model's answer, one ``delta.content`` per event,
with the same ``id: k`` numbering and final ``[DONE]`` as the simulation.
``SSE_LAB_UPSTREAM_API_KEY`` is sent as a bearer token and
``SSE_LAB_UPSTREAM_MODEL`` names the model (default ``sse-lab-sim``, the lab's
own). The environment is read at every request, so a notebook cell can set
or clear it (``os.environ[...] = ...``) while the server runs.

How it works: one ``POST {base}/chat/completions`` with ``"stream": true``
over a Tornado ``IOStream`` (plain HTTP/1.1, TLS for ``https``), the body's
chunked framing undone here, and the event stream decoded by
:class:`sse_lab.protocol.EventParser`, the same decoder the notebooks teach.
Everything is pull-driven: the next bytes are read only when the previous
token has been handed on, so a slow ``/chat`` reader slows the upstream read
too, and when the ``/chat`` client leaves the upstream connection is closed
at once, which tells the model server to stop generating.

Resuming (``Last-Event-ID: k``) re-runs the request with the same ``seed`` and
skips the first ``k + 1`` tokens. That gives the exact rest of the answer for
a deterministic upstream (the lab's own ``/v1``); a real model may word its
second attempt differently, so the joined text can then be inconsistent.

Not supported: HTTP proxies (``HTTPS_PROXY``), compressed responses, HTTP/2.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tornado import httputil
from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpclient import TCPClient

from sse_lab.model import Token
from sse_lab.protocol import DONE, EventParser

__all__ = [
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_MODEL",
    "DEFAULT_MODEL",
    "UpstreamError",
    "UpstreamModel",
]

ENV_BASE_URL = "SSE_LAB_UPSTREAM_BASE_URL"
ENV_API_KEY = "SSE_LAB_UPSTREAM_API_KEY"
ENV_MODEL = "SSE_LAB_UPSTREAM_MODEL"
#: The model name asked for when ``SSE_LAB_UPSTREAM_MODEL`` is unset (the
#: lab's own ``/v1`` answers to any name; a real provider needs a real one).
DEFAULT_MODEL = "sse-lab-sim"

_MAX_HEAD = 64 * 1024
_MAX_CHUNK = 16 * 2**20
_READ = 65536


class UpstreamError(Exception):
    """The upstream model failed: unreachable, an HTTP error, or a broken stream.

    Attributes:
        status: The upstream's HTTP status, when it answered with one.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class UpstreamModel:
    """An OpenAI-compatible chat endpoint, used like :class:`SimulatedLLM`.

    Args:
        base_url: The API root, e.g. ``https://api.openai.com/v1``;
            ``/chat/completions`` is appended.
        api_key: Sent as ``Authorization: Bearer ...`` when set (never shown
            in the repr).
        model: The ``model`` field of the request.
        speed: Sent as ``X-SSE-Lab-Speed`` so another lab server runs its
            simulation faster; real providers ignore the header.
        connect_timeout: Seconds to open the connection (and TLS).
        idle_timeout: Seconds without a byte from the upstream before giving up
            (covers a long prefill too).
    """

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    model: str = DEFAULT_MODEL
    speed: float | None = None
    connect_timeout: float = 10.0
    idle_timeout: float = 120.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> UpstreamModel | None:
        """The upstream the environment asks for, or ``None`` (use the simulation).

        Reads ``SSE_LAB_UPSTREAM_BASE_URL``, ``SSE_LAB_UPSTREAM_API_KEY`` and
        ``SSE_LAB_UPSTREAM_MODEL``; an unset or blank base URL means none.
        """
        env = os.environ if environ is None else environ
        base = env.get(ENV_BASE_URL, "").strip()
        if not base:
            return None
        return cls(
            base_url=base,
            api_key=env.get(ENV_API_KEY, "").strip() or None,
            model=env.get(ENV_MODEL, "").strip() or DEFAULT_MODEL,
        )

    @property
    def url(self) -> str:
        """The ``chat/completions`` URL requests go to."""
        return self.base_url.rstrip("/") + "/chat/completions"

    def request_body(self, prompt: str, seed: int = 0) -> dict[str, Any]:
        """The JSON body sent for ``prompt``: one user message, streamed."""
        return {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": True,
            "seed": seed,
        }

    async def stream(self, prompt: str, seed: int = 0, *, start: int = 0) -> AsyncIterator[Token]:
        """Yield the upstream's answer, one :class:`Token` per ``delta.content``.

        Token indexes count the non-empty content deltas from 0; ``start``
        skips the ones before it (see the module notes on resuming). Closing
        the iterator (or cancelling its consumer) closes the connection.

        Raises:
            UpstreamError: Connection failure, a non-2xx answer (with the
                upstream's own error message), an error object inside the
                stream, or a connection lost mid-answer.
        """
        index = 0
        async with aclosing(self._contents(prompt, seed)) as contents:
            async for text in contents:
                if index >= start:
                    yield Token(index, text)
                index += 1

    async def complete(self, prompt: str, seed: int = 0) -> str:
        """The whole answer at once (read through the stream)."""
        return "".join([t.text async for t in self.stream(prompt, seed)])

    # -- the HTTP exchange -----------------------------------------------------
    def _headers(self, body: bytes, netloc: str) -> list[tuple[str, str]]:
        headers = [
            ("Host", netloc),
            ("Content-Type", "application/json"),
            ("Accept", "text/event-stream"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            ("User-Agent", "sse_lab-upstream"),
        ]
        if self.api_key:
            headers.append(("Authorization", f"Bearer {self.api_key}"))
        if self.speed is not None:
            headers.append(("X-SSE-Lab-Speed", repr(float(self.speed))))
        for name, value in headers:
            if "\r" in value or "\n" in value:
                raise UpstreamError(f"{name} must not contain a line break")
        return headers

    async def _contents(self, prompt: str, seed: int) -> AsyncIterator[str]:
        url = self.url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamError(f"{ENV_BASE_URL} must be an http(s) URL, got {self.base_url!r}")
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = json.dumps(self.request_body(prompt, seed)).encode()
        head = f"POST {target} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in self._headers(body, netloc)
        )
        client = TCPClient()
        stream: IOStream | None = None
        try:
            try:
                stream = await asyncio.wait_for(
                    client.connect(
                        parts.hostname,
                        port,
                        ssl_options=ssl.create_default_context() if secure else None,
                    ),
                    self.connect_timeout,
                )
                await stream.write(head.encode("latin-1") + b"\r\n" + body)
                code, reason, headers = await self._read_head(stream)
            except (OSError, StreamClosedError, asyncio.TimeoutError) as exc:
                why = _why(exc)
                raise UpstreamError(f"cannot reach the upstream model at {url}: {why}") from None
            async with aclosing(self._body(stream, headers)) as body_chunks:
                if not 200 <= code < 300:
                    raise UpstreamError(await self._error_text(code, reason, body_chunks), code)
                ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
                if ctype == "application/json":
                    # The server ignored "stream": true; relay the whole answer.
                    data = b"".join([c async for c in body_chunks])
                    text = _completion_text(_json(data.decode("utf-8", "replace")))
                    if text:
                        yield text
                    return
                parser = EventParser()
                async for chunk in body_chunks:
                    for event in parser.feed(chunk):
                        if event.data == DONE:
                            return
                        if event.event == "error":
                            raise UpstreamError(f"upstream error: {_loose_message(event.data)}")
                        obj = _json(event.data)
                        if "error" in obj:
                            raise UpstreamError(f"upstream error: {_error_message(obj)}")
                        text = _delta_text(obj)
                        if text:
                            yield text
        finally:
            if stream is not None:
                stream.close()
            client.close()

    async def _read(self, fut: Any) -> bytes:
        try:
            return await asyncio.wait_for(fut, self.idle_timeout)
        except asyncio.TimeoutError:
            raise UpstreamError(
                f"the upstream model sent nothing for {self.idle_timeout:g} s"
            ) from None

    async def _read_head(self, stream: IOStream) -> tuple[int, str, httputil.HTTPHeaders]:
        while True:
            raw = await self._read(stream.read_until(b"\r\n\r\n", max_bytes=_MAX_HEAD))
            first, _, rest = raw.decode("latin-1").partition("\r\n")
            try:
                start = httputil.parse_response_start_line(first)
            except httputil.HTTPInputError:
                raise UpstreamError(f"the upstream did not answer HTTP: {first[:80]!r}") from None
            if not 100 <= start.code < 200:  # skip "100 Continue" and friends
                return start.code, start.reason, httputil.HTTPHeaders.parse(rest)

    async def _body(self, stream: IOStream, headers: httputil.HTTPHeaders) -> AsyncIterator[bytes]:
        """The response body as it arrives, with HTTP/1.1 framing removed."""
        try:
            if "chunked" in headers.get("Transfer-Encoding", "").lower():
                while True:
                    line = await self._read(stream.read_until(b"\r\n", max_bytes=1024))
                    try:
                        size = int(line.split(b";", 1)[0].strip(), 16)
                    except ValueError:
                        raise UpstreamError("the upstream sent a malformed chunk") from None
                    if size == 0:
                        return  # trailers, if any, are not needed
                    if size > _MAX_CHUNK:
                        raise UpstreamError("the upstream sent an oversized chunk")
                    data = await self._read(stream.read_bytes(size + 2))
                    yield data[:-2]
            elif "Content-Length" in headers:
                left = int(headers["Content-Length"])
                while left > 0:
                    data = await self._read(stream.read_bytes(min(left, _READ), partial=True))
                    left -= len(data)
                    yield data
            else:  # the body runs until the connection closes
                while True:
                    try:
                        data = await self._read(stream.read_bytes(_READ, partial=True))
                    except StreamClosedError:
                        return
                    yield data
        except StreamClosedError:
            raise UpstreamError("the upstream closed the connection mid-answer") from None

    async def _error_text(self, code: int, reason: str, chunks: AsyncIterator[bytes]) -> str:
        data = b""
        try:
            async for chunk in chunks:
                data += chunk
                if len(data) >= _MAX_HEAD:
                    break
        except UpstreamError:
            pass
        text = data.decode("utf-8", "replace").strip()
        try:
            message = _error_message(json.loads(text))
        except (ValueError, AttributeError):
            message = text[:300] or reason
        return f"upstream answered HTTP {code} {reason}: {message}".rstrip(": ")


def _why(exc: BaseException) -> str:
    if isinstance(exc, StreamClosedError) and exc.real_error is not None:
        exc = exc.real_error
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


def _json(text: str) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except ValueError:
        raise UpstreamError(f"the upstream sent an event that is not JSON: {text[:80]!r}") from None
    if not isinstance(obj, dict):
        raise UpstreamError(f"the upstream sent an unexpected event: {text[:80]!r}")
    return obj


def _error_message(obj: dict[str, Any]) -> str:
    err = obj.get("error", obj)
    if isinstance(err, dict):
        return str(err.get("message") or err)
    return str(err)


def _loose_message(text: str) -> str:
    try:
        obj = json.loads(text)
    except ValueError:
        return text[:300]
    return _error_message(obj) if isinstance(obj, dict) else text[:300]


def _first_choice(obj: dict[str, Any]) -> dict[str, Any]:
    choices = obj.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return {}  # e.g. the usage-only chunk of stream_options.include_usage


def _delta_text(obj: dict[str, Any]) -> str:
    delta = _first_choice(obj).get("delta")
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


def _completion_text(obj: dict[str, Any]) -> str:
    if "error" in obj:
        raise UpstreamError(f"upstream error: {_error_message(obj)}")
    message = _first_choice(obj).get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""
