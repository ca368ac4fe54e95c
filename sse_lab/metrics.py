"""Latency metrics of a recorded stream, and how long a reader sits idle.

Everything here is pure Python and reads only a :class:`~sse_lab.recording.Recording`
(or plain numbers), so the same numbers can be computed in a test, a benchmark
or a notebook cell. Times are seconds throughout; :func:`summary_table` shows
milliseconds because that is the scale people reason about for latency.

The metrics are the ones used to judge LLM serving:

* **TTFB** (time to first byte): when the first body byte arrived.
* **TTFT** (time to first token): when the first token became visible.
* **ITL** (inter-token latency): the gaps between consecutive tokens; its
  percentiles tell a smooth stream (p50 close to p99) from a stuttering one.
* **tokens/s**: the decode rate once the stream is flowing.

Beyond one stream: :func:`describe` (percentiles of a sample),
:func:`fit_line` (least squares), :func:`token_lags` (arrival behind the
plan), :func:`reader_progress` (a reader's position over time),
:func:`distinct_instants` (how lumpy arrival was), :func:`scaled` (a
recording at another pace), :func:`peak_per_window` and :func:`spread`.

Readers: :data:`READING_SPEEDS` holds cited reading speeds (Chinese in characters
per minute, English in words per minute); :func:`visible_chars` and
:func:`visible_words` count what a reader has on screen in either unit, for
:func:`reader_idle_time` and :func:`reader_progress`.

A blocking (non-streaming) fetch is a Recording with ``transport="blocking"``
and a single arrival holding the whole text: its TTFT is the whole wait.
"""

from __future__ import annotations

import copy
import math
import re
import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sse_lab.i18n import N_, tr
from sse_lab.recording import Arrival, Recording

__all__ = [
    "READING_SPEEDS",
    "LineFit",
    "ReadingSpeed",
    "StreamMetrics",
    "char_count",
    "describe",
    "distinct_instants",
    "fit_line",
    "peak_per_window",
    "percentile",
    "reading_units",
    "reader_idle_time",
    "reader_progress",
    "scaled",
    "spread",
    "summarize",
    "summary_table",
    "token_lags",
    "visible_chars",
    "visible_words",
    "word_count",
]


@dataclass(frozen=True)
class StreamMetrics:
    """Latency figures of one recorded stream (all times in seconds).

    Attributes:
        ttfb: Time to first byte (``Recording.first_byte_time``), or ``None``.
        ttft: Arrival time of the first token, ``None`` if no token arrived.
        total: When the stream ended (``end_time``, else the last arrival),
            ``None`` if nothing at all arrived.
        n_tokens: How many tokens arrived.
        itl: Inter-token latencies: the gaps between consecutive token arrivals.
        itl_p50: Median inter-token latency, ``None`` with fewer than 2 tokens.
        itl_p90: 90th percentile inter-token latency, or ``None``.
        itl_p99: 99th percentile inter-token latency, or ``None``.
        itl_mean: Mean inter-token latency, or ``None``.
        itl_max: The longest gap between two tokens (the worst stall), or ``None``.
        tokens_per_s: Tokens after the first divided by the time from the first
            token to the last; ``None`` with fewer than 2 tokens or when they
            all arrived at the same instant (a single read of a buffered body).
        bytes_received: Body bytes received, framing included.
        requests: HTTP requests made (reconnections and polls add up).
        transport: The recording's transport (``"sse"``, ``"blocking"``...).
    """

    ttfb: float | None
    ttft: float | None
    total: float | None
    n_tokens: int
    itl: tuple[float, ...]
    itl_p50: float | None
    itl_p90: float | None
    itl_p99: float | None
    itl_mean: float | None
    tokens_per_s: float | None
    bytes_received: int
    requests: int
    itl_max: float | None = None
    transport: str = ""


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` with linear interpolation.

    Same definition as ``numpy.percentile(values, q)`` (method ``"linear"``):
    sort the values, take the fractional rank ``(n - 1) * q / 100`` and
    interpolate between the two neighbouring values.

    Args:
        values: The sample (any order; at least one value).
        q: The percentile, between 0 and 100 inclusive.

    Raises:
        ValueError: ``values`` is empty or ``q`` is outside ``[0, 100]``.
    """
    data = sorted(float(v) for v in values)
    if not data:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= q <= 100 or math.isnan(q):
        raise ValueError(f"q must be between 0 and 100, got {q!r}")
    rank = (len(data) - 1) * q / 100
    lo = math.floor(rank)
    hi = min(lo + 1, len(data) - 1)
    frac = rank - lo
    if frac == 0:
        return data[lo]
    # numpy's formula: a + (b - a) * frac, exact at both ends.
    return data[lo] + (data[hi] - data[lo]) * frac


def summarize(rec: Recording) -> StreamMetrics:
    """Compute the latency metrics of one recording.

    Only token arrivals count as tokens (``message`` events other than
    ``[DONE]``); other event types such as heartbeats or errors are ignored.
    """
    times = rec.token_times
    itl = tuple(b - a for a, b in zip(times, times[1:], strict=False))
    if rec.end_time is not None:
        total: float | None = rec.end_time
    elif rec.arrivals:
        total = max(a.t for a in rec.arrivals)
    else:
        total = None
    tokens_per_s = None
    if len(times) >= 2 and times[-1] > times[0]:
        tokens_per_s = (len(times) - 1) / (times[-1] - times[0])
    return StreamMetrics(
        ttfb=rec.first_byte_time,
        ttft=times[0] if times else None,
        total=total,
        n_tokens=len(times),
        itl=itl,
        itl_p50=percentile(itl, 50) if itl else None,
        itl_p90=percentile(itl, 90) if itl else None,
        itl_p99=percentile(itl, 99) if itl else None,
        itl_mean=sum(itl) / len(itl) if itl else None,
        tokens_per_s=tokens_per_s,
        bytes_received=rec.bytes_received,
        requests=rec.requests,
        itl_max=max(itl) if itl else None,
        transport=rec.transport,
    )


# -- words and readers --------------------------------------------------------

# Characters written without spaces between words: each one counts as a word
# (CJK ideographs, kana, and the compatibility and extension ideograph blocks).
_CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
# A word elsewhere: letters/digits, joined by an apostrophe or hyphen
# ("don't", "Server-Sent" are one word each). Punctuation alone is no word.
_WORD = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[^\W_])+(?:['\u2019-](?:(?![{_CJK}])[^\W_])+)*")


def word_count(text: str) -> int:
    """Count the words of mixed English/Chinese text.

    Latin-script words are runs of letters or digits (an inner apostrophe or
    hyphen joins them); each CJK character counts as one word, which is how
    reading speed is usually measured for Chinese and Japanese. Punctuation,
    full-width or not, counts for nothing.

    >>> word_count("我是你的AI助手,很高兴为您服务!")
    14
    >>> word_count("Don't stop: Server-Sent Events!")
    4
    """
    return sum(1 for _ in _WORD.finditer(text))


def char_count(text: str) -> int:
    """Count the characters a reader reads: letters, digits and CJK characters.

    Chinese has no spaces between words, so Chinese reading speed is measured in
    characters (IReST: characters per minute); whitespace and punctuation,
    full-width or not, count for nothing.

    >>> char_count("我是你的AI助手,很高兴为您服务!")
    15
    """
    return sum(1 for c in text if c.isalnum())


def reading_units(text: str, unit: str = "word") -> int:
    """How much there is to read in ``text``: ``unit`` ``"word"`` or ``"char"``.

    ``"word"`` is :func:`word_count` (an English reader, words per minute);
    ``"char"`` is :func:`char_count` (a Chinese reader, characters per minute).
    """
    if unit == "word":
        return word_count(text)
    if unit == "char":
        return char_count(text)
    raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")


def visible_words(rec: Recording, unit: str = "word") -> list[tuple[float, int]]:
    """``(t, words visible so far)`` after each token of ``rec``.

    The input :func:`reader_idle_time` expects, and what
    :func:`sse_lab.lab.plots.visible_text_over_time` draws. With ``unit="char"``
    the counts are characters (:func:`visible_chars`).
    """
    return [(t, reading_units(text, unit)) for t, text in rec.visible_text()]


def visible_chars(rec: Recording) -> list[tuple[float, int]]:
    """``(t, characters visible so far)``: what a Chinese reader has to read.

    Give it to :func:`reader_idle_time` with a speed in characters per second
    (``READING_SPEEDS["zh-CN"].per_s``).
    """
    return visible_words(rec, unit="char")


@dataclass(frozen=True)
class ReadingSpeed:
    """A published reading speed: an input to the reader models, with its source.

    Attributes:
        language: BCP 47 tag of the readers' (native) language.
        per_minute: The mean speed, in ``unit`` per minute.
        unit: ``"char"`` (characters) or ``"word"``: what :func:`reading_units` counts.
        mode: ``"aloud"`` or ``"silent"``.
        source: Who measured it, how, and where it is published (in English, marked
            for the catalogue: show it with ``tr(speed.source)``).
    """

    language: str
    per_minute: float
    unit: str
    mode: str
    source: str

    @property
    def per_s(self) -> float:
        """The speed in ``unit`` per second (the ``words_per_s`` of the reader models)."""
        return self.per_minute / 60.0

    def __str__(self) -> str:
        return (f"{self.language}: {self.per_minute:g} {self.unit}s/min "
                f"({self.per_s:.2f}/s, {self.mode}); {self.source}")


#: Cited reading speeds of adult native readers: inputs, not lab measurements.
#: IReST read the same ten texts, matched across 17 languages, aloud (25 readers
#: aged 18-35 per language), so its Chinese and English figures compare directly.
#: Brysbaert's meta-analysis gives silent English reading, close to IReST's figure.
READING_SPEEDS: dict[str, ReadingSpeed] = {
    "zh-CN": ReadingSpeed(
        "zh-CN", 255, "char", "aloud",
        N_("IReST: Trauzettel-Klosinski & Dietz 2012, Invest Ophthalmol Vis Sci "
           "53(9):5452-5461, Chinese 255 (SD 29) characters/min")),
    "en": ReadingSpeed(
        "en", 228, "word", "aloud",
        N_("IReST: Trauzettel-Klosinski & Dietz 2012, Invest Ophthalmol Vis Sci "
           "53(9):5452-5461, English 228 (SD 30) words/min")),
    "en-silent": ReadingSpeed(
        "en", 238, "word", "silent",
        N_("Brysbaert 2019, J Mem Lang 109:104047, meta-analysis of 190 studies: "
           "English non-fiction 238 words/min")),
}


def reader_idle_time(
    times_and_words: Sequence[tuple[float, int]], words_per_s: float = 4.0
) -> float:
    """Seconds a reader spends waiting with nothing new to read.

    The reader starts at ``t = 0`` (when the request was sent), reads at
    ``words_per_s`` whatever is visible, and waits whenever they have caught up
    with the text; the result is the total waiting time from ``t = 0`` until
    they have read the last word. A blocking fetch that shows everything at
    ``T`` gives exactly ``T``; a stream faster than reading gives its time to
    first token; a stream slower than reading adds every stall.

    Word counts are cumulative (words visible at time ``t``); a count that
    goes down (a partial word rewritten) is treated as the running maximum.

    Args:
        times_and_words: ``(t, visible words)`` pairs, in any order.
        words_per_s: Reading speed, in the unit of the counts: about 4 words/s
            (240 wpm) for adults reading English, about 4.25 characters/s
            for Chinese (:data:`READING_SPEEDS`).

    Returns:
        The idle time in seconds; ``0.0`` for no input, and the time of the
        last update when no words ever became visible.

    Raises:
        ValueError: ``words_per_s`` is not positive.
    """
    if not words_per_s > 0:
        raise ValueError(f"words_per_s must be positive, got {words_per_s!r}")
    points = sorted((float(t), int(w)) for t, w in times_and_words)
    if not points:
        return 0.0
    # Words arrive in batches; the reader serves them at words_per_s like a
    # queue, so the last word is read at max over batches of
    # (batch time + words from that batch on / speed). Everything else was idle.
    batches: list[tuple[float, int]] = []  # (time, words visible before it)
    shown = 0
    for t, w in points:
        if w > shown:
            batches.append((t, shown))
            shown = w
    if shown == 0:
        return max(0.0, points[-1][0])
    finish = max(max(t, 0.0) + (shown - before) / words_per_s for t, before in batches)
    return max(0.0, finish - shown / words_per_s)


# -- a table for notebooks ---------------------------------------------------


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.0f}"


def _width(s: str) -> int:
    # Wide (CJK) characters take two columns in a monospace notebook output.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def summary_table(metrics_by_name: dict[str, StreamMetrics]) -> str:
    """A small aligned text table of several streams' metrics, times in ms.

    Columns: TTFB, TTFT, ITL p50/p90/p99, total (all ms), tokens, tokens/s,
    requests and body bytes. Missing values show as ``-``. Meant for
    ``print()`` in a notebook cell. Headers are in the current language, and so is
    each row's name when it is a catalogue message (mark it with ``N_``); columns
    line up by display width, so Chinese labels do not push them out of line.
    """
    header = [
        "",
        *(
            tr(label)
            for label in (
                N_("TTFB ms"),
                N_("TTFT ms"),
                N_("ITL p50"),
                N_("ITL p90"),
                N_("ITL p99"),
                N_("total ms"),
                N_("tokens"),
                N_("tok/s"),
                N_("reqs"),
                N_("bytes"),
            )
        ),
    ]
    rows = [header]
    for name, m in metrics_by_name.items():
        rows.append(
            [
                tr(str(name)),
                _ms(m.ttfb),
                _ms(m.ttft),
                _ms(m.itl_p50),
                _ms(m.itl_p90),
                _ms(m.itl_p99),
                _ms(m.total),
                str(m.n_tokens),
                "-" if m.tokens_per_s is None else f"{m.tokens_per_s:.1f}",
                str(m.requests),
                str(m.bytes_received),
            ]
        )
    widths = [max(_width(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for row in rows:
        cells = [row[0] + " " * (widths[0] - _width(row[0]))]
        cells += [" " * (w - _width(c)) + c for c, w in zip(row[1:], widths[1:], strict=False)]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# == distributions, fits, reading and arrival shapes ==========================
# (measured by notebooks 04-07; the experiments that record them live in
# sse_lab.lab.experiments and sse_lab.lab.loadtest)


def token_lags(rec: Recording, emit_times: Sequence[float]) -> list[float]:
    """Arrival minus planned emit time of each token, in seconds.

    ``emit_times`` are the model's plan (``SimulatedLLM(speed=...).plan(prompt,
    seed).emit_times()``), measured from when the server got the request, so a
    lag includes the network, the transport's own waiting (a poll interval)
    and the simulated model running a little behind its plan.
    """
    return [r - e for e, r in zip(emit_times, rec.token_times, strict=False)]


def describe(values: Iterable[float]) -> dict[str, float]:
    """``n``, ``min``, ``p50``, ``p90``, ``p99``, ``max`` and ``mean`` of a sample."""
    data = [float(v) for v in values if v is not None]
    if not data:
        raise ValueError("describe() needs at least one value")
    return {
        "n": float(len(data)),
        "min": min(data),
        "p50": percentile(data, 50),
        "p90": percentile(data, 90),
        "p99": percentile(data, 99),
        "max": max(data),
        "mean": sum(data) / len(data),
    }


@dataclass(frozen=True)
class LineFit:
    """A least-squares line ``y = intercept + slope * x`` and its ``r2``."""

    intercept: float
    slope: float
    r2: float

    def __call__(self, x: float) -> float:
        return self.intercept + self.slope * x


def fit_line(xs: Sequence[float], ys: Sequence[float]) -> LineFit:
    """Ordinary least squares through ``(xs, ys)``.

    Raises:
        ValueError: fewer than two points, different lengths, or all ``xs`` equal.
    """
    if len(xs) != len(ys):
        raise ValueError(f"{len(xs)} xs but {len(ys)} ys")
    if len(xs) < 2:
        raise ValueError("a line needs at least two points")
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("all xs are equal: no slope to fit")
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return LineFit(intercept, slope, r2)


def scaled(rec: Recording, factor: float) -> Recording:
    """A copy of ``rec`` with every time multiplied by ``factor``.

    A stream recorded at ``speed=10`` and scaled by 10 reads as if the model
    had run at real pacing (the network's share is stretched too, but on
    localhost it is tiny).
    """
    if not factor > 0:
        raise ValueError("factor must be positive")
    out = copy.copy(rec)
    out.arrivals = [Arrival(a.t * factor, a.event) for a in rec.arrivals]
    for name in ("connect_time", "first_byte_time", "end_time"):
        value = getattr(rec, name)
        setattr(out, name, None if value is None else value * factor)
    return out


def reader_progress(
    points: Sequence[tuple[float, int]], words_per_s: float = 4.0
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Where a reader is in the text over time, and when they wait.

    The reader of :func:`sse_lab.metrics.reader_idle_time`: starts at ``t =
    0``, reads whatever is visible at ``words_per_s``, waits when caught up.

    Args:
        points: ``(t, words visible)`` pairs (:func:`sse_lab.metrics.visible_words`).
        words_per_s: Reading speed.

    Returns:
        ``(vertices, idle)``: the reader's position as a polyline of ``(t,
        words read)`` vertices, and the ``(start, end)`` intervals spent
        waiting. The idle intervals add up to ``reader_idle_time(points,
        words_per_s)``.
    """
    if not words_per_s > 0:
        raise ValueError("words_per_s must be positive")
    clock = 0.0  # when the reader will have read everything shown so far
    shown = 0
    verts: list[tuple[float, float]] = [(0.0, 0.0)]
    idle: list[tuple[float, float]] = []
    for t, words in sorted((float(t), int(w)) for t, w in points):
        if words <= shown:
            continue
        t = max(t, 0.0)
        if clock < t:  # caught up: wait for the new words
            if clock > verts[-1][0]:
                verts.append((clock, float(shown)))
            idle.append((clock, t))
            verts.append((t, float(shown)))
            clock = t
        clock += (words - shown) / words_per_s
        shown = words
    if clock > verts[-1][0]:
        verts.append((clock, float(shown)))
    return verts, idle


def distinct_instants(rec: Recording | Sequence[float], within: float = 0.001) -> int:
    """How many separate moments the tokens arrived at.

    Arrivals less than ``within`` seconds after the previous one count as the
    same moment (one socket read delivers several events at once). A healthy
    stream has about one instant per token; a buffered one, a handful.
    """
    times = sorted(rec.token_times if isinstance(rec, Recording) else rec)
    count, start = 0, -math.inf
    for t in times:
        if t - start >= within:
            count += 1
            start = t
    return count


def peak_per_window(times: Sequence[float], window: float = 0.1) -> int:
    """The most attempts that fall inside any ``window``-second interval."""
    ts = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(ts):
        while ts[j] < t - window + 1e-12:
            j += 1
        best = max(best, i - j + 1)
    return best


def spread(values: Sequence[float]) -> float:
    """Population standard deviation (0 for fewer than two values)."""
    return statistics.pstdev(values) if len(values) > 1 else 0.0
