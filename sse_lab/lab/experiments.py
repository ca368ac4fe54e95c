"""Measurements behind notebooks 04 (SSE vs WebSocket) and 05 (latency and TTFT).

The notebooks keep to narrative, short calls and check cells; every
measurement that takes more than a few lines lives here, tested.

Notebook 04, transports side by side:

* :func:`transport_measurements` -- per transport: TTFT,
  the delay of each token behind the model's planned emit time (p50/p99),
  bytes per token, requests.
* :func:`poll_through_drop` -- a polling client whose connection breaks
  mid-answer (it just polls on, over a new connection, with its cursor).
* :class:`DropResult` -- what a client ended up with after a drop, in words.
* :data:`SOURCE_COMPARISON` and :func:`comparison_markdown` -- the source
  article's SSE-vs-WebSocket table, with measured rows added.

Notebook 05, latency:

* :func:`many_runs` -- many seeded streams, a few at a time.
* :func:`distribution_table` -- percentiles of samples, as a table.
* :func:`prompt_with_tokens`, :func:`ttft_by_prompt_length` -- time to first
  token against prompt length.
* :func:`equal_total_variants`, :func:`record_variants` --
  the perceived-wait lab: models whose answers take the same total time but
  spend it differently (long prefill, steady or bursty decode), each served by
  its own lab server.

The pure statistics these experiments feed (:func:`~sse_lab.metrics.describe`,
:func:`~sse_lab.metrics.fit_line`, :func:`~sse_lab.metrics.token_lags`,
:func:`~sse_lab.metrics.scaled`, :func:`~sse_lab.metrics.reader_progress`,
:func:`~sse_lab.metrics.distinct_instants`) live in :mod:`sse_lab.metrics`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from sse_lab.client import record
from sse_lab.client.transports import record_longpoll, record_poll
from sse_lab.i18n import N_, display_width, ljust, rjust, tr
from sse_lab.metrics import describe, percentile, token_lags
from sse_lab.model import ANSWERS, SimulatedLLM, tokenize
from sse_lab.recording import (
    Recording,
    WireRecording,
    bytes_per_token,
    total_bytes_received,
)
from sse_lab.server import ServerConfig, start_server

__all__ = [
    "TRANSPORT_LABELS",
    "SOURCE_COMPARISON",
    "DropResult",
    "comparison_markdown",
    "distribution_table",
    "equal_total_variants",
    "many_runs",
    "poll_through_drop",
    "prompt_with_tokens",
    "record_variants",
    "transport_measurements",
    "ttft_by_prompt_length",
]

# == notebook 04: transports ===================================================

#: Display names of the four transports, in the order the notebooks use (English; show
#: them with ``tr(label)`` for the learner's language).
TRANSPORT_LABELS: dict[str, str] = {
    "sse": "SSE",
    "websocket": "WebSocket",
    "poll": N_("short polling"),
    "longpoll": N_("long polling"),
}

#: The source article's comparison table (SSE vs WebSocket), with the two
#: polling columns filled in by the lab. Each value is ``(text, from_source)``;
#: ``from_source`` is False for cells the article does not have. The texts are the
#: English (and the article's Chinese) catalogue ids: ``comparison_markdown`` translates them.
SOURCE_COMPARISON: dict[str, dict[str, tuple[str, bool]]] = {
    N_("通信方向 direction"): {
        "sse": (N_("单向 one-way (server → client)"), True),
        "websocket": (N_("双向 two-way"), True),
        "poll": (N_("client asks, server answers"), False),
        "longpoll": (N_("client asks, server answers when it has news"), False),
    },
    N_("协议 protocol"): {
        "sse": ("HTTP", True),
        "websocket": (N_("WebSocket协议 the WebSocket protocol (after an HTTP Upgrade)"), True),
        "poll": ("HTTP", False),
        "longpoll": ("HTTP", False),
    },
    N_("复杂度 complexity"): {
        "sse": (N_("简单 simple"), True),
        "websocket": (N_("相对复杂 relatively complex"), True),
        "poll": (N_("simple (a timer and a cursor)"), False),
        "longpoll": (N_("moderate (held requests, timeouts)"), False),
    },
    N_("重连机制 reconnection"): {
        "sse": (N_("自动 automatic"), True),
        "websocket": (N_("需手动实现 by hand"), True),
        "poll": (N_("none needed: every poll is a new request"), False),
        "longpoll": (N_("none needed: every poll is a new request"), False),
    },
    N_("适用场景 use cases"): {
        "sse": (N_("实时推送、流式输出 real-time push, streaming output"), True),
        "websocket": (N_("实时聊天、游戏 real-time chat, games"), True),
        "poll": (N_("rare updates; where nothing may stay open"), False),
        "longpoll": (N_("a fallback where streams are blocked"), False),
    },
}



def transport_measurements(
    recs: Mapping[str, Recording], emit_times: Sequence[float]
) -> dict[str, dict[str, Any]]:
    """The measurable cells of the comparison, per transport.

    Returns:
        ``{name: {"ttft_s", "lag_p50_s", "lag_p99_s", "bytes_per_token",
        "bytes_received", "requests", "tokens", "total_s", "text"}}``; times in
        seconds, ``None`` when there is no token.
    """
    rows: dict[str, dict[str, Any]] = {}
    for name, rec in recs.items():
        times = rec.token_times
        lags = token_lags(rec, emit_times)
        rows[name] = {
            "ttft_s": times[0] if times else None,
            "lag_p50_s": percentile(lags, 50) if lags else None,
            "lag_p99_s": percentile(lags, 99) if lags else None,
            "bytes_per_token": bytes_per_token(rec) if times else None,
            "bytes_received": total_bytes_received(rec),
            "requests": rec.requests,
            "tokens": len(times),
            "total_s": rec.end_time,
            "text": rec.text,
        }
    return rows


async def poll_through_drop(
    base_url: str,
    *,
    prompt: str,
    seed: int = 0,
    speed: float = 1.0,
    drop_after: int,
    interval: float = 0.1,
    longpoll: bool = False,
    timeout: float = 30.0,
) -> WireRecording:
    """Poll one answer, breaking the connection once ``drop_after`` tokens arrived.

    The client is :func:`sse_lab.transports.record_poll`'s (one kept-alive
    connection, polls every ``interval`` seconds, the same session id and
    ``after`` cursor in every request); after the poll that brings the
    ``drop_after``-th token its connection is closed, as a network hiccup
    would. The next poll simply opens a new connection: a polling client
    keeps its place in every request, so nothing is lost and no extra code
    is needed.

    Returns:
        A :class:`~sse_lab.transports.WireRecording` (``transport`` ``"poll"``
        or ``"longpoll"``); ``extra["connections"]`` counts the TCP
        connections opened, ``extra["dropped_at"]`` the token count at the drop.
    """
    if longpoll:
        return await record_longpoll(
            base_url, prompt=prompt, seed=seed, speed=speed, timeout=timeout,
            drop_after=drop_after,
        )
    return await record_poll(
        base_url, prompt=prompt, seed=seed, speed=speed, interval=interval, timeout=timeout,
        drop_after=drop_after,
    )


@dataclass
class DropResult:
    """What one client got of an answer whose connection broke mid-way.

    Attributes:
        transport: ``"sse"``, ``"websocket"``, ``"poll"`` or ``"longpoll"``.
        recording: What the client received without any extra code.
        expected: The whole answer's text.
        drop_after: Tokens received when the connection broke.
        resumed: For a WebSocket, the recording of the resume request your
            own code sent (``after=k``), if any.
    """

    transport: str
    recording: Recording
    expected: str
    drop_after: int
    resumed: Recording | None = None

    @property
    def text(self) -> str:
        """The text the client had in the end, without extra code."""
        return self.recording.text

    @property
    def complete(self) -> bool:
        """Whether the client got the whole answer by itself."""
        return self.recording.text == self.expected and self.recording.done

    @property
    def text_with_resume_code(self) -> str:
        """The text once the resume request (if any) is added."""
        return self.recording.text + (self.resumed.text if self.resumed else "")

    @property
    def requests(self) -> int:
        return self.recording.requests + (self.resumed.requests if self.resumed else 0)

    @property
    def gap(self) -> float | None:
        """Seconds between the last token before the drop and the next one."""
        times = self.recording.token_times
        k = self.drop_after
        if len(times) > k >= 1:
            return times[k] - times[k - 1]
        return None

    def describe(self) -> str:
        """One sentence for the comparison table, made of the measured numbers."""
        n, total = len(self.recording.tokens), len(tokenize(self.expected))
        gap = self.gap
        waited = tr(" {gap:.2f} s gap", gap=gap) if gap is not None else ""
        requests = self.recording.requests
        if self.complete:
            if self.transport == "sse":
                return tr(
                    "reconnected by itself with `Last-Event-ID`, text identical "
                    "({n}/{total} tokens, {requests} requests,{waited})",
                    n=n, total=total, requests=requests, waited=waited,
                )
            conns = getattr(self.recording, "extra", {}).get("connections")
            more = tr(", {conns} connections", conns=conns) if conns else ""
            return tr(
                "next poll opened a new connection, text identical "
                "({n}/{total} tokens, {requests} requests{more})",
                n=n, total=total, requests=requests, more=more,
            )
        out = tr("just ended: {n}/{total} tokens, the rest lost", n=n, total=total)
        if self.resumed is not None:
            same = self.text_with_resume_code == self.expected
            out += (
                tr("; your resume code (`after=`) got the rest, text identical") if same
                else tr("; your resume code (`after=`) got the rest, but the text differs")
            )
        return out


def _ms(x: float | None) -> str:
    return "–" if x is None else f"{x * 1000:.0f} ms"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def comparison_markdown(
    measured: Mapping[str, Mapping[str, Any]],
    drops: Mapping[str, DropResult] | None = None,
    *,
    order: Sequence[str] = ("sse", "websocket", "poll", "longpoll"),
) -> str:
    """The source's comparison table, rebuilt with measured rows (Markdown).

    The first five rows are the article's qualitative ones
    (:data:`SOURCE_COMPARISON`; cells the article does not have are marked †);
    the rows after them are the numbers in ``measured``
    (:func:`transport_measurements`) and, if given, what each client did when
    its connection broke (``drops``).
    """
    names = [n for n in order if n in measured]
    head = (f"| {tr('特性 feature')} | "
            + " | ".join(tr(TRANSPORT_LABELS.get(n, n)) for n in names) + " |")
    lines = [head, "|:--|" + ":--|" * len(names)]
    for feature, cells in SOURCE_COMPARISON.items():
        row = []
        for n in names:
            text, from_source = cells.get(n, ("", False))
            row.append(_cell(tr(text) if text else text) + ("" if from_source else " †"))
        lines.append(f"| {tr(feature)} | " + " | ".join(row) + " |")

    def measured_row(label: str, fmt: Any) -> None:
        lines.append(
            f"| **{label}** | " + " | ".join(_cell(fmt(measured[n])) for n in names) + " |"
        )

    measured_row(tr("measured: time to first token"), lambda m: _ms(m["ttft_s"]))
    measured_row(
        tr("measured: token delay behind the model, p50 / p99"),
        lambda m: f"{_ms(m['lag_p50_s'])} / {_ms(m['lag_p99_s'])}",
    )
    measured_row(
        tr("measured: bytes per token (heads + framing)"),
        lambda m: "–" if m["bytes_per_token"] is None else f"{m['bytes_per_token']:.1f}",
    )
    measured_row(tr("measured: requests for one answer"), lambda m: str(m["requests"]))
    if drops:
        lines.append(
            f"| **{tr('measured: the connection breaks mid-answer')}** | "
            + " | ".join(_cell(drops[n].describe()) if n in drops else "–" for n in names)
            + " |"
        )
    lines.append("")
    lines.append(tr(
        "† not in the article's table (it compares SSE and WebSocket only); filled in by the lab."
    ))
    return "\n".join(lines)


# == notebook 05: latency =======================================================


async def many_runs(
    base_url: str,
    *,
    prompt: str,
    seeds: Iterable[int],
    speed: float = 1.0,
    concurrency: int = 8,
    cadence: str | None = None,
) -> list[Recording]:
    """Record ``/chat`` once per seed, at most ``concurrency`` streams at a time.

    Returns the recordings in the order of ``seeds``. A few streams at once
    keep the run short without the client itself becoming the bottleneck.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    base = base_url.rstrip("/")
    gate = asyncio.Semaphore(concurrency)

    async def one(seed: int) -> Recording:
        params: dict[str, Any] = {"prompt": prompt, "seed": seed, "speed": speed}
        if cadence is not None:
            params["cadence"] = cadence
        async with gate:
            return await record(f"{base}/chat?{urlencode(params)}")

    return list(await asyncio.gather(*(one(s) for s in seeds)))


def distribution_table(rows: Mapping[str, tuple[Iterable[float], str, float]]) -> str:
    """An aligned text table of several samples' percentiles.

    Args:
        rows: ``{label: (values, unit, scale)}``; each value is multiplied by
            ``scale`` for display (``1000`` to show seconds as ms). Labels are shown
            with ``tr(label)``: mark them with ``N_`` to have them translated.
    """
    header = ["", "n", "min", "p50", "p90", "p99", "max", tr("unit")]
    table = [header]
    for label, (values, unit, scale) in rows.items():
        d = describe(values)
        digits = 1 if max(abs(d["max"] * scale), 1e-9) < 100 else 0
        table.append(
            [tr(label), f"{d['n']:.0f}"]
            + [f"{d[k] * scale:.{digits}f}" for k in ("min", "p50", "p90", "p99", "max")]
            + [unit]
        )
    widths = [max(display_width(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for r in table:
        cells = [ljust(r[0], widths[0])]
        cells += [rjust(c, w) for c, w in zip(r[1:-1], widths[1:-1], strict=True)]
        cells.append(ljust(r[-1], widths[-1]))
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


_FILLER = tokenize(" ".join(ANSWERS[k] for k in sorted(ANSWERS) if k.startswith("general-")))


def prompt_with_tokens(n: int) -> str:
    """A prompt of exactly ``n`` tokens (by :func:`sse_lab.model.tokenize`).

    Built from the lab's canned English text, repeated as needed, like a long
    chat history or a pasted document.
    """
    if n < 1:
        raise ValueError("a prompt needs at least one token")
    tokens: list[str] = []
    while len(tokens) < n:
        tokens += _FILLER
    text = "".join(tokens[:n])
    # Cutting mid-word can merge pieces differently: trim until it counts n.
    while len(tokenize(text)) > n:
        text = text[:-1]
    while len(tokenize(text)) < n:
        text += " x"
    return text


async def ttft_by_prompt_length(
    base_url: str,
    lengths: Iterable[int],
    *,
    seeds: Iterable[int] = (0, 1, 2),
    speed: float = 1.0,
    concurrency: int = 8,
) -> list[tuple[int, float]]:
    """Measure the time to first token for prompts of several lengths.

    Each request leaves right after its first token (the rest of the answer
    is never generated). Returns ``(prompt tokens, TTFT in seconds)`` pairs,
    one per length and seed, sorted by length.
    """
    base = base_url.rstrip("/")
    gate = asyncio.Semaphore(concurrency)
    jobs = [(n, s) for n in lengths for s in seeds]
    # Build the prompts before any request starts: tokenizing a long prompt
    # takes CPU time that would otherwise delay the other requests' readers.
    prompts = {n: prompt_with_tokens(n) for n, _ in jobs}

    async def one(n: int, seed: int) -> tuple[int, float]:
        prompt = prompts[n]
        query = urlencode({"prompt": prompt, "seed": seed, "speed": speed})
        async with gate:
            rec = await record(f"{base}/chat?{query}", max_events=1)
        times = rec.token_times
        if not times:
            raise RuntimeError(f"no token for a {n}-token prompt: {rec.error}")
        return len(tokenize(prompt)), times[0]

    out = await asyncio.gather(*(one(n, s) for n, s in jobs))
    return sorted(out)



def equal_total_variants(
    prompt: str,
    seed: int,
    *,
    total: float,
    variants: Mapping[str, tuple[float, str]],
    base: SimulatedLLM | None = None,
) -> dict[str, SimulatedLLM]:
    """Models whose answer to ``(prompt, seed)`` takes exactly ``total`` seconds.

    Each variant ``name: (ttft, cadence)`` sets the time to first token (by
    the prefill) and the decode rhythm (``"steady"`` or ``"bursty"``); the
    inter-token range ``itl`` is then scaled so the remaining tokens fill
    ``total - ttft``. The tokens are the same for all variants; only when
    they come differs. Times are at ``speed=1`` (real pacing).

    Raises:
        ValueError: a ``ttft`` not in ``(0, total)``, or an unknown cadence.
    """
    base = base or SimulatedLLM()
    out: dict[str, SimulatedLLM] = {}
    for name, (ttft, cadence) in variants.items():
        if not 0 < ttft < total:
            raise ValueError(f"{name}: ttft must be between 0 and the total {total}")
        if cadence not in ("steady", "bursty"):
            raise ValueError(f"{name}: cadence must be 'steady' or 'bursty'")
        # The prefill's jitter factor for this prompt and seed is fixed:
        # measure it with a unit prefill, then set the prefill to hit ttft.
        unit = replace(base, speed=1.0, prefill_base=1.0, prefill_per_token=0.0)
        jitter = unit.ttft(prompt, seed)
        model = replace(
            base,
            speed=1.0,
            cadence=cadence,  # type: ignore[arg-type]
            prefill_base=ttft / jitter,
            prefill_per_token=0.0,
        )
        gaps = sum(model.plan(prompt, seed).delays[1:])
        if gaps <= 0:
            raise ValueError("the answer has a single token: nothing to spread")
        factor = (total - ttft) / gaps
        lo, hi = base.itl
        out[name] = replace(model, itl=(lo * factor, hi * factor))
    return out


async def record_variants(
    models: Mapping[str, SimulatedLLM],
    *,
    prompt: str,
    seed: int = 0,
    speed: float = 1.0,
) -> dict[str, Recording]:
    """Stream one answer from each model, each from its own lab server, at once.

    Every model gets a :class:`~sse_lab.server.LabServer` of its own
    (``ServerConfig(model=...)``); ``speed`` divides its delays as usual. All
    the servers are stopped before this returns, whatever happens.
    """

    servers = []
    try:
        for model in models.values():
            servers.append(start_server(config=ServerConfig(model=model)))
        query = urlencode({"prompt": prompt, "seed": seed, "speed": speed})
        recs = await asyncio.gather(*(record(f"{s.url}/chat?{query}") for s in servers))
    finally:
        for s in servers:
            await asyncio.to_thread(s.stop)
    return dict(zip(models, recs, strict=True))
