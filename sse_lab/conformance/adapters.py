"""Adapters that give third-party SSE parsers the checker's interface."""

from __future__ import annotations

import codecs


class HttpxSSEAdapter:
    """httpx-sse's decoders as a parser: UTF-8 text, its line splitter, its SSEDecoder."""

    def __init__(self) -> None:
        # Deferred: httpx-sse is a test/benchmark extra, not a dependency of the lab.
        from httpx_sse._decoders import SSEDecoder, SSELineDecoder  # noqa: PLC0415

        self._text = codecs.getincrementaldecoder("utf-8")("replace")
        self._lines, self._sse = SSELineDecoder(), SSEDecoder()

    def _events(self, lines: list[str]) -> list[object]:
        events = (self._sse.decode(line) for line in lines)
        return [e for e in events if e is not None]

    def feed(self, chunk: bytes) -> list[object]:
        text = self._text.decode(chunk)
        return self._events(self._lines.decode(text) if text else [])

    def close(self) -> list[object]:
        text = self._text.decode(b"", final=True)
        lines = self._lines.decode(text) if text else []
        return self._events(lines + self._lines.flush())


class SSEClientPyAdapter:
    """sseclient-py as a parser: it reads an iterator, so events come at ``close()``."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def feed(self, chunk: bytes) -> list[object]:
        self._chunks.append(chunk)
        return []

    def close(self) -> list[object]:
        from sseclient import SSEClient  # noqa: PLC0415 (a test/benchmark extra)

        return list(SSEClient(iter(self._chunks)).events())
