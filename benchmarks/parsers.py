"""Decoder speed (MB/s) and spec conformance: sse_lab vs httpx-sse vs sseclient-py.

Every decoder gets the same recorded streams, cut into the same chunks
(4 KiB by default, the size a socket read or an HTTP client typically hands
over), and must turn them into events. Each figure is the best of several runs
(``time.perf_counter``), MB = 10^6 bytes of the stream.

Streams:

* ``tokens``: a ``/chat``-like stream of ~10k small token events, exactly what
  sse_lab's ``/chat`` sends (``: stream open`` first, ``id: k`` per token from
  the lab's :class:`~sse_lab.model.SimulatedLLM`, ``retry:`` on the first
  event, ``data: [DONE]`` last), encoded with :func:`sse_lab.protocol.encode_event`.
* ``json``: OpenAI-style ``chat.completion.chunk`` events of ~1-4 KB each.
* ``tokens-crlf``: the token stream with CRLF line endings (what sse-starlette
  and aiohttp-sse send by default).

What is measured for each decoder (the full path from byte chunks to events):

* ``sse_lab``: ``EventParser().feed(chunk)`` per chunk, then ``close()``;
  events are :class:`sse_lab.protocol.Event` objects.
* ``httpx-sse``: the real client path: an ``httpx.Response`` whose body is
  the chunk iterator, read with ``httpx_sse.EventSource(response).iter_sse()``.
  That is httpx's ``iter_raw``/``iter_bytes``/``iter_text`` (incremental UTF-8
  decoding with ``errors="replace"``), ``SSELineDecoder`` (httpx-sse's line
  iterator), ``line.rstrip("\\n")`` and ``SSEDecoder.decode(line)`` per line.
* ``httpx-sse (decoders)``: the same decoding without httpx's response
  plumbing: ``codecs`` incremental UTF-8 decoder -> ``SSELineDecoder.decode``
  -> ``SSEDecoder.decode`` per line (the adapter documented in
  :func:`sse_lab.conformance.check_parser`). This is httpx-sse's fastest
  possible path, so the ratio target is checked against it (conservative).
* ``sseclient-py``: ``list(SSEClient(iter(chunks)).events())``.

Conformance: :func:`sse_lab.conformance.check_parser` over ``CASES``, the
number of cases passed with the stream fed whole and fed byte by byte.

Run: ``python -m benchmarks.parsers [--quick] [--json]``
"""

from __future__ import annotations

import argparse
import codecs
import gc
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from sse_lab.conformance import CASES, HttpxSSEAdapter, SSEClientPyAdapter, check_parser
from sse_lab.model import SimulatedLLM
from sse_lab.protocol import DONE, EventParser, encode_event

CHUNK = 4096


# -- recorded streams -----------------------------------------------------------------------
def token_stream(min_tokens: int = 10_000) -> bytes:
    """A ``/chat``-like stream: one event per token, ``id: k``, then ``[DONE]``."""
    model = SimulatedLLM()
    prompts = ["hello", "what is sse", "why streaming", "websocket or sse", "tell me more"]
    tokens: list[str] = []
    seed = 0
    while len(tokens) < min_tokens:
        for prompt in prompts:
            tokens += model.tokens(prompt, seed)
        seed += 1
    tokens = tokens[:min_tokens]
    parts = [encode_event(comment="stream open")]
    for k, text in enumerate(tokens):
        parts.append(encode_event(text, id=str(k), retry=1000 if k == 0 else None))
    parts.append(encode_event(DONE))
    return b"".join(parts)


def json_stream(events: int = 1500, seed: int = 7) -> bytes:
    """OpenAI-style ``chat.completion.chunk`` events of ~1-4 KB each, then ``[DONE]``."""
    rng = random.Random(seed)
    words = ("stream token event server client data model answer delta chunk json "
             "latency buffer socket browser reconnect retry header").split()
    parts = []
    for k in range(events):
        size = rng.randint(1000, 4000)
        text = ""
        while len(text) < size:
            text += rng.choice(words) + " "
        chunk = {
            "id": "chatcmpl-9x2bench0000000000000000",
            "object": "chat.completion.chunk",
            "created": 1732500000 + k,
            "model": "gpt-4o-mini-2024-07-18",
            "system_fingerprint": "fp_0ba0d124f1",
            "choices": [{"index": 0, "delta": {"content": text}, "logprobs": None,
                         "finish_reason": None}],
        }
        parts.append(encode_event(json.dumps(chunk, separators=(",", ":"))))
    parts.append(encode_event(DONE))
    return b"".join(parts)


def crlf(stream: bytes) -> bytes:
    return stream.replace(b"\n", b"\r\n")


def chunked(stream: bytes, size: int = CHUNK) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


# -- the decoders, each as "chunks in, list of events out" ------------------------------------
def run_sse_lab(chunks: list[bytes]) -> list[Any]:
    parser = EventParser()
    feed = parser.feed
    events: list[Any] = []
    for chunk in chunks:
        events += feed(chunk)
    events += parser.close()
    return events


def run_httpx_sse(chunks: list[bytes]) -> list[Any]:
    import httpx
    from httpx_sse import EventSource

    response = httpx.Response(
        200, headers={"content-type": "text/event-stream; charset=utf-8"}, content=iter(chunks)
    )
    return list(EventSource(response).iter_sse())


def run_httpx_sse_decoders(chunks: list[bytes]) -> list[Any]:
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    text = codecs.getincrementaldecoder("utf-8")("replace")
    lines, sse = SSELineDecoder(), SSEDecoder()
    decode_text, decode_lines, decode = text.decode, lines.decode, sse.decode
    events: list[Any] = []
    for chunk in chunks:
        piece = decode_text(chunk)
        if piece:
            for line in decode_lines(piece):
                event = decode(line.rstrip("\n"))
                if event is not None:
                    events.append(event)
    rest = decode_text(b"", True)
    for line in (decode_lines(rest) if rest else []) + lines.flush():
        event = decode(line.rstrip("\n"))
        if event is not None:
            events.append(event)
    return events


def run_sseclient(chunks: list[bytes]) -> list[Any]:
    from sseclient import SSEClient

    return list(SSEClient(iter(chunks)).events())


DECODERS: dict[str, Callable[[list[bytes]], list[Any]]] = {
    "sse_lab": run_sse_lab,
    "httpx-sse": run_httpx_sse,
    "httpx-sse (decoders)": run_httpx_sse_decoders,
    "sseclient-py": run_sseclient,
}


# -- conformance adapters (as documented in sse_lab.conformance.check_parser) ------------------
CONFORMANCE: dict[str, Callable[[], Any]] = {
    "sse_lab": EventParser,
    "httpx-sse": HttpxSSEAdapter,
    "httpx-sse (decoders)": HttpxSSEAdapter,
    "sseclient-py": SSEClientPyAdapter,
}


def conformance(name: str) -> dict[str, int]:
    factory = CONFORMANCE[name]
    total = len(CASES)
    whole = len({f.case for f in check_parser(factory, modes=("whole",))})
    bytewise = len({f.case for f in check_parser(factory, modes=("bytewise",))})
    return {"cases": total, "whole": total - whole, "bytewise": total - bytewise}


# -- timing ---------------------------------------------------------------------------------
def best_time(
    fn: Callable[[list[bytes]], list[Any]], chunks: list[bytes], runs: int
) -> tuple[float, int]:
    best = float("inf")
    count = 0
    for _ in range(runs):
        gc.collect()
        t = time.perf_counter()
        count = len(fn(chunks))
        best = min(best, time.perf_counter() - t)
    return best, count


def streams(quick: bool = False, tiny: bool = False) -> dict[str, bytes]:
    if tiny:
        tokens = token_stream(300)
        return {"tokens": tokens, "json": json_stream(20), "tokens-crlf": crlf(tokens)}
    tokens = token_stream(2_000 if quick else 10_000)
    return {
        "tokens": tokens,
        "json": json_stream(300 if quick else 1500),
        "tokens-crlf": crlf(tokens),
    }


def run(quick: bool = False, tiny: bool = False, runs: int | None = None,
        chunk: int = CHUNK, with_conformance: bool = True) -> dict[str, Any]:
    runs = runs or (3 if quick or tiny else 7)
    recorded = streams(quick, tiny)
    results: dict[str, Any] = {"chunk_bytes": chunk, "runs": runs, "streams": {}, "decoders": {}}
    for sname, stream in recorded.items():
        chunks = chunked(stream, chunk)
        expected = len(run_sse_lab(chunked(stream, 1 << 30)))
        row: dict[str, Any] = {"bytes": len(stream), "events": expected, "by_decoder": {}}
        for dname, fn in DECODERS.items():
            seconds, count = best_time(fn, chunks, runs)
            row["by_decoder"][dname] = {
                "mb_per_s": round(len(stream) / seconds / 1e6, 2),
                "events_per_s": round(count / seconds),
                "events": count,
                "seconds": round(seconds, 5),
            }
        results["streams"][sname] = row
    for dname in DECODERS:
        results["decoders"][dname] = conformance(dname) if with_conformance else None
    # sse_lab vs httpx-sse: per stream, against both httpx-sse paths.
    ratios: dict[str, dict[str, float]] = {}
    for sname, row in results["streams"].items():
        mine = row["by_decoder"]["sse_lab"]["mb_per_s"]
        ratios[sname] = {
            other: round(mine / row["by_decoder"][other]["mb_per_s"], 2)
            for other in ("httpx-sse", "httpx-sse (decoders)", "sseclient-py")
        }
    results["ratios"] = ratios
    return results


def table(results: dict[str, Any]) -> str:
    names = list(next(iter(results["streams"].values()))["by_decoder"])
    head = "| decoder | " + " | ".join(f"{s} MB/s" for s in results["streams"]) + \
        " | conformance whole | conformance bytewise |"
    lines = [head, "|" + "---|" * (len(results["streams"]) + 3)]
    for d in names:
        cells = [str(r["by_decoder"][d]["mb_per_s"]) for r in results["streams"].values()]
        conf = results["decoders"].get(d)
        cw = f"{conf['whole']}/{conf['cases']}" if conf else "-"
        cb = f"{conf['bytewise']}/{conf['cases']}" if conf else "-"
        lines.append(f"| {d} | " + " | ".join(cells) + f" | {cw} | {cb} |")
    events = ", ".join(
        f"{s}: {r['bytes'] / 1e6:.2f} MB, {r['events']} events"
        for s, r in results["streams"].items()
    )
    lines.append("")
    lines.append(
        f"Streams ({results['chunk_bytes']}-byte chunks, best of {results['runs']}): {events}"
    )
    mismatches = [
        f"{d} on {s}: {r['by_decoder'][d]['events']} events (expected {r['events']})"
        for s, r in results["streams"].items() for d in names
        if r["by_decoder"][d]["events"] != r["events"]
    ]
    if mismatches:
        lines.append("Event-count differences: " + "; ".join(mismatches))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.parsers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller streams, fewer runs")
    parser.add_argument("--chunk", type=int, default=CHUNK, help="chunk size in bytes")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    results = run(quick=args.quick, chunk=args.chunk)
    if args.json:
        json.dump(results, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
