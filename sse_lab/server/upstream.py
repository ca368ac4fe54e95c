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
through Tornado's ``AsyncHTTPClient`` (HTTP/1.1, TLS for ``https``, gzip
undone; see :mod:`sse_lab.server.fetch`), each body piece handed over as it
arrives, and the event stream decoded by
:class:`sse_lab.protocol.EventParser`, the same decoder the notebooks teach.
A slow ``/chat`` reader slows the upstream read (a few pieces are read
ahead), and when the ``/chat`` client leaves the upstream connection is
closed (at once, or when its next bytes arrive), which tells the model
server to stop generating.

Resuming (``Last-Event-ID: k``) re-runs the request with the same ``seed`` and
skips the first ``k + 1`` tokens. That gives the exact rest of the answer for
a deterministic upstream (the lab's own ``/v1``); a real model may word its
second attempt differently, so the joined text can then be inconsistent.

Not supported: HTTP proxies (``HTTPS_PROXY``), HTTP/2.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tornado.httpclient import HTTPClientError, HTTPRequest

from sse_lab.model import Token
from sse_lab.protocol import DONE, EventParser
from sse_lab.server.fetch import FetchFailed, StreamedFetch

__all__ = [
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_MODEL",
    "DEFAULT_MODEL",
    "UpstreamError",
    "UpstreamModel",
    "redact_url",
]

ENV_BASE_URL = "SSE_LAB_UPSTREAM_BASE_URL"
ENV_API_KEY = "SSE_LAB_UPSTREAM_API_KEY"
ENV_MODEL = "SSE_LAB_UPSTREAM_MODEL"
#: The model name asked for when ``SSE_LAB_UPSTREAM_MODEL`` is unset (the
#: lab's own ``/v1`` answers to any name; a real provider needs a real one).
DEFAULT_MODEL = "sse-lab-sim"

# An error answer's body is read up to this many bytes for its message.
_MAX_ERROR_BODY = 64 * 1024


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
        request_timeout: Seconds for the whole answer (Tornado's
            ``request_timeout``): no relay runs for ever.
    """

    base_url: str = field(repr=False)
    api_key: str | None = field(default=None, repr=False)
    model: str = DEFAULT_MODEL
    speed: float | None = None
    connect_timeout: float = 10.0
    idle_timeout: float = 120.0
    request_timeout: float = 3600.0

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
    def _headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "User-Agent": "sse_lab-upstream",
        }
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if self.speed is not None:
            headers["X-SSE-Lab-Speed"] = repr(float(self.speed))
        for name, value in headers.items():
            if "\r" in value or "\n" in value:
                raise UpstreamError(f"{name} must not contain a line break")
        return headers

    async def _contents(self, prompt: str, seed: int) -> AsyncIterator[str]:
        url = self.url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamError(
                f"{ENV_BASE_URL} must be an http(s) URL, got {redact_url(self.base_url)!r}"
            )
        body = json.dumps(self.request_body(prompt, seed)).encode()
        fetch = StreamedFetch(
            HTTPRequest(
                url,
                method="POST",
                headers=self._headers(),
                body=body,
                follow_redirects=False,
                connect_timeout=self.connect_timeout,
                request_timeout=self.request_timeout,
            ),
            self.idle_timeout,
        )
        try:
            try:
                head = await fetch.head()
            except asyncio.TimeoutError:
                raise UpstreamError(
                    f"the upstream model sent nothing for {self.idle_timeout:g} s"
                ) from None
            except FetchFailed as exc:
                why = _why(exc.__cause__ or exc)
                raise UpstreamError(
                    f"cannot reach the upstream model at {redact_url(url)}: {why}"
                ) from None
            async with aclosing(self._body(fetch)) as body_chunks:
                if not 200 <= head.code < 300:
                    message = await _error_text(head.code, head.reason, body_chunks)
                    raise UpstreamError(message, head.code)
                ctype = head.headers.get("Content-Type", "").split(";")[0].strip().lower()
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
            fetch.close()

    async def _body(self, fetch: StreamedFetch) -> AsyncIterator[bytes]:
        try:
            async for piece in fetch.body():
                yield piece
        except asyncio.TimeoutError:
            raise UpstreamError(
                f"the upstream model sent nothing for {self.idle_timeout:g} s"
            ) from None
        except FetchFailed:
            raise UpstreamError("the upstream closed the connection mid-answer") from None


async def _error_text(code: int, reason: str, chunks: AsyncIterator[bytes]) -> str:
    data = b""
    try:
        async for chunk in chunks:
            data += chunk
            if len(data) >= _MAX_ERROR_BODY:
                break
    except UpstreamError:
        pass
    text = data.decode("utf-8", "replace").strip()
    try:
        message = _error_message(json.loads(text))
    except (ValueError, AttributeError):
        message = text[:300] or reason
    return f"upstream answered HTTP {code} {reason}: {message}".rstrip(": ")


def redact_url(url: str) -> str:
    """``url`` fit for an error message: no ``user:password@``, no query (keys live there).

    Error events go to whoever called ``/chat``; a credential embedded in
    ``SSE_LAB_UPSTREAM_BASE_URL`` must not travel with them.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<the configured URL>"
    if ":" in host:
        host = f"[{host}]"
    query = "?..." if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}" if parts.scheme else "<a URL>"


def _why(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError) or (
        isinstance(exc, HTTPClientError) and "timeout" in str(exc).lower()
    ):
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
