"""A simulated LLM: a deterministic, seeded token source with model-like timing.

A real model server first queues the request and reads the whole prompt
(prefill), may think for a while (reasoning models), then emits one token at a
time (decode: an inter-token delay per token). :class:`SimulatedLLM` plans all
of that in advance, seeded, so that the same prompt and seed always give the
same answer, the same tokens and the same delays. That determinism is what
lets the lab's server resume a dropped stream at token ``k + 1`` (a real model
would not write the same answer twice: real servers keep what they sent) and
lets notebooks race a blocking call against a streaming one on the same answer.

Tokens are real ``cl100k_base`` BPE tokens (:mod:`sse_lab.tokenizer`). A token
is bytes and may end inside a character (``助`` is two tokens); the model emits
text only at character boundaries, holding back half a character the way a real
server's incremental UTF-8 decoder does, so no event ever carries a broken
character. ``Plan.pieces`` keeps the raw byte tokens behind each emission.

Timing comes in named profiles (:data:`PROFILES`, :meth:`SimulatedLLM.profile`)
built from published figures, cited on each profile. Every number in a profile
is an **input** to the simulator: a notebook that measures it back through the
server checks the pipeline and teaches the method, it does not discover a fact
about models.

Delays are *planned* here (``plan()``) and *slept* only by the async helpers,
so tests can inspect timing without waiting for it.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Literal

from sse_lab.tokenizer import Utf8Stream, count_tokens, text_pieces, token_bytes

__all__ = [
    "ANSWERS",
    "LOAD_CURVE",
    "PROFILES",
    "SOURCE_ANSWER",
    "THINKING",
    "Plan",
    "Profile",
    "SimulatedLLM",
    "Token",
    "load_penalty",
    "tokenize",
]

#: The answer the source article streams character by character.
SOURCE_ANSWER = "我是你的AI助手,很高兴为您服务!"

#: Canned answers, keyed by topic. The prompt's words pick the topic; the seed
#: picks among the general answers when no topic matches.
ANSWERS: dict[str, str] = {
    "greeting": SOURCE_ANSWER,
    "sse": (
        "Server-Sent Events keep one HTTP response open and let the server "
        "push text frames down it. Each event is a few lines such as data: "
        "hello, ended by a blank line. The browser's EventSource parses them, "
        "remembers the last id, and reconnects by itself when the connection drops."
    ),
    "streaming": (
        "A language model writes its answer one token at a time, so the first "
        "words exist long before the last ones. Streaming sends each token as "
        "soon as it is ready: the reader starts after a fraction of a second "
        "instead of staring at a spinner until the whole answer is done."
    ),
    "websocket": (
        "WebSocket gives both sides a full-duplex channel, which suits games "
        "and collaborative editors. A chat answer only flows from server to "
        "client, so plain HTTP with Server-Sent Events is simpler: it passes "
        "proxies, reconnects automatically and needs no extra protocol."
    ),
    "general-0": (
        "Here is a short answer, streamed token by token. Notice how the "
        "first words arrive almost at once while the rest keeps flowing at "
        "a steady reading pace."
    ),
    "general-1": (
        "Thanks for the question! Streaming output lets you read while the "
        "model is still thinking, which makes the same total wait feel much "
        "shorter and lets you stop a bad answer early."
    ),
    "general-2": (
        "Good idea. Let me think about it step by step: first the prompt is "
        "read, then every new token depends on the ones before it, so tokens "
        "appear one after another rather than all together."
    ),
}

# Latin keywords match whole words (prefixes where marked with a trailing
# \w*), so "hi" does not fire on "something".
_TOPICS: dict[str, re.Pattern[str]] = {
    "greeting": re.compile(r"你好|您好|你是谁|\b(?:hello|hi|hey|who are you)\b"),
    "sse": re.compile(r"\b(?:sse|server-sent|eventsource|event stream)"),
    "websocket": re.compile(r"\b(?:websocket|socket|duplex)"),
    "streaming": re.compile(r"流式|\b(?:stream|token|why)"),
}


#: What a reasoning profile "thinks" (streamed only when asked for).
THINKING = (
    "The user is asking about this. Let me recall what I know, check each step, "
    "weigh the options and plan a short, clear answer before I write it. "
)

#: Time to first token and output speed per user under load, by number of
#: concurrent requests: Oracle OCI Generative AI benchmark, Llama 3.3 70B on a
#: dedicated cluster: ``(concurrency, TTFT s, tokens/s per user)``.
LOAD_CURVE: tuple[tuple[int, float, float], ...] = (
    (1, 0.05, 58.6),
    (32, 0.16, 44.3),
    (128, 1.29, 25.6),
    (256, 4.09, 15.3),
)


def load_penalty(concurrency: int) -> tuple[float, float]:
    """Queueing under load: ``(extra seconds before the first token, ITL factor)``.

    Interpolates :data:`LOAD_CURVE` on log2(concurrency) and returns it
    relative to a lone request: at 1 request ``(0.0, 1.0)``, at 256
    ``(4.04, 3.83)`` (58.6 / 15.3 tokens/s). Beyond 256 the last point holds.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    x = math.log2(concurrency)
    pts = [(math.log2(c), t, v) for c, t, v in LOAD_CURVE]
    t, v = pts[-1][1], pts[-1][2]
    for (x0, t0, v0), (x1, t1, v1) in zip(pts, pts[1:], strict=False):
        if x <= x1:
            f = (x - x0) / (x1 - x0)
            t, v = t0 + f * (t1 - t0), v0 + f * (v1 - v0)
            break
    return t - LOAD_CURVE[0][1], LOAD_CURVE[0][2] / v


def tokenize(text: str) -> list[str]:
    """Split text into the pieces a streaming server emits; they join back to ``text``.

    Each piece is one real ``cl100k_base`` BPE token (``" language"`` stays
    whole, ``"Streaming"`` is one token), or two or three tokens joined when a
    token ends inside a character: ``"助"`` is the byte tokens
    ``b"\\xe5\\x8a"`` + ``b"\\xa9"``, released together. The raw byte tokens
    are :func:`sse_lab.tokenizer.token_bytes`.
    """
    return text_pieces(text)


@dataclass(frozen=True)
class Token:
    """One emitted piece: its position in the answer, its text, and its kind.

    ``kind`` is ``"text"`` for the answer and ``"thinking"`` for a reasoning
    model's thinking tokens (streamed only on request, indexed separately).
    """

    index: int
    text: str
    kind: Literal["text", "thinking"] = "text"


@dataclass(frozen=True)
class Plan:
    """The whole generation, decided in advance.

    ``tokens[i]`` is the text of emission ``i`` (one SSE event on ``/chat``),
    always whole characters; ``pieces[i]`` the raw BPE byte tokens behind it
    (one, or more when the profile chunks tokens or a character spans tokens).
    ``delays[i]`` is the wait (in seconds, already divided by ``speed``)
    before emission ``i``; ``delays[0]`` is the time to first token (queue +
    prefill + thinking). ``thinking`` and ``thinking_times`` hold a reasoning
    model's thinking tokens and their times after the request.
    """

    prompt: str
    seed: int
    tokens: list[str]
    delays: list[float]
    pieces: list[tuple[bytes, ...]] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    thinking_times: list[float] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def ttft(self) -> float:
        return self.delays[0] if self.delays else 0.0

    @property
    def total(self) -> float:
        return sum(self.delays)

    @property
    def n_tokens(self) -> int:
        """How many BPE tokens the answer has (emissions may carry several)."""
        return sum(len(p) for p in self.pieces) if self.pieces else len(self.tokens)

    def emit_times(self) -> list[float]:
        """The planned time of each emission, in seconds after the request."""
        out, t = [], 0.0
        for d in self.delays:
            t += d
            out.append(t)
        return out


@dataclass(frozen=True)
class Profile:
    """Named timing settings for :class:`SimulatedLLM`, with their source.

    The fields have the meaning of the :class:`SimulatedLLM` fields of the
    same names; ``source`` says where the figures come from.
    """

    name: str
    itl: tuple[float, float]
    prefill_base: float
    prefill_per_token: float
    chunk: tuple[int, int] = (1, 1)
    stall_rate: float = 0.0
    stall: tuple[float, float] = (0.2, 0.3)
    think: tuple[float, float] = (0.0, 0.0)
    source: str = ""


#: The timing profiles. Every figure is an input, taken from the source named.
PROFILES: dict[str, Profile] = {
    "article": Profile(
        "article",
        itl=(0.05, 0.15),
        prefill_base=0.25,
        prefill_per_token=0.0002,
        source=(
            "Decode: the source article's demo, one piece every "
            "Math.random() * 100 + 50 ms (about 10 tokens/s, slow enough to "
            "watch). The demo has no prompt, so the time to first token uses a "
            "GPU-like prefill: 0.25 s + 0.2 ms per prompt token (5,000 tokens/s; "
            "0.45 s at 1k tokens, 1.05 s at 4k)."
        ),
    ),
    "hosted": Profile(
        "hosted",
        itl=(0.005, 0.010),
        prefill_base=0.35,
        prefill_per_token=0.0002,
        chunk=(1, 3),
        stall_rate=0.015,
        stall=(0.2, 0.3),
        source=(
            "A hosted frontier model: Artificial Analysis medians (2026, as "
            "reported by third parties) GPT-4o ~131 tokens/s and 0.45 s to first "
            "token, Claude Sonnet 4.6 ~104 tokens/s and 0.74 s, Gemini 3 Flash "
            "~200 tokens/s and 0.50 s, at ~1k prompt tokens; here 5-10 ms per "
            "token (~133 tokens/s) and 0.35 s + 0.2 ms per prompt token (0.55 s "
            "at 1k). Chunks of 1-3 tokens per event and a 200-300 ms stall in "
            "1.5 % of gaps follow OpenAI's cookbook recording of a gpt-3.5-turbo "
            "stream (same-timestamp triplets every ~40 ms, a 230 ms stall)."
        ),
    ),
    "fast": Profile(
        "fast",
        itl=(0.0004, 0.0008),
        prefill_base=0.2,
        prefill_per_token=0.00005,
        chunk=(1, 3),
        stall_rate=0.01,
        stall=(0.2, 0.3),
        source=(
            "Fast-inference hardware: Llama 3.1 8B on Cerebras ~1,800 tokens/s "
            "(70B ~450), Llama 70B with speculative decoding on Groq ~1,665 "
            "tokens/s; here 0.4-0.8 ms per token (~1,670 tokens/s) and 0.2 s + "
            "0.05 ms per prompt token."
        ),
    ),
    "reasoning": Profile(
        "reasoning",
        itl=(0.006, 0.012),
        prefill_base=0.35,
        prefill_per_token=0.0002,
        chunk=(1, 3),
        stall_rate=0.015,
        stall=(0.2, 0.3),
        think=(3.0, 8.0),
        source=(
            "A reasoning model: several seconds of thinking before the first "
            "visible token (3-8 s here), thinking tokens streamed at the decode "
            "pace when asked for, then a hosted-model decode (6-12 ms per token)."
        ),
    ),
}

_THINK_MAX = 120.0  # seconds of thinking a plan may hold (bounds the loop)
_CHUNK_MAX = 64


@dataclass(frozen=True)
class SimulatedLLM:
    """A seeded stand-in for a model server.

    The defaults are the ``"article"`` profile: the source article's 50-150 ms
    per token (about 10 tokens/s, ten times slower than a hosted model, so a
    short answer takes seconds you can watch) and a realistic prefill (a
    4,000-token prompt waits about 1 s at ``speed=1``). Other profiles:
    ``SimulatedLLM.profile("hosted" | "fast" | "reasoning")``, see
    :data:`PROFILES` for their figures and sources.

    Args:
        speed: Divides every delay; ``speed=10`` runs ten times faster (tests
            and CI use it). ``speed=1`` is the profile's own pacing.
        itl: Inter-token latency range in seconds, drawn uniformly per BPE token.
        cadence: ``"steady"`` emits one by one; ``"bursty"`` makes groups of
            ``burst`` emissions arrive together, as a buffer on the way (a
            proxy, a server that flushes on a stream interval) or speculative
            decoding does. Both give the same total time for the same seed.
            (Continuous batching does not do this: it emits one token per
            sequence per step.)
        burst: Inclusive range of emissions per burst in bursty mode.
        prefill_base: Time to first token for an empty prompt, in seconds.
        prefill_per_token: Extra time to first token per prompt token
            (``cl100k_base`` tokens).
        extra_answers: More canned answers, picked when the prompt contains
            their key.
        chunk: Inclusive range of BPE tokens per emission (``(1, 3)``: one SSE
            event carries 1-3 tokens, as hosted APIs' chunks do).
        stall_rate: Probability that a gap between tokens holds a stall.
        stall: Range of a stall's extra wait, in seconds.
        think: Range of thinking time before the first visible token, seconds.
        concurrency: Concurrent requests on the simulated server: adds a queue
            wait to the time to first token and slows decoding per
            :func:`load_penalty` (1 = no load).
    """

    speed: float = 1.0
    itl: tuple[float, float] = (0.05, 0.15)
    cadence: Literal["steady", "bursty"] = "steady"
    burst: tuple[int, int] = (3, 6)
    prefill_base: float = 0.25
    prefill_per_token: float = 0.0002
    extra_answers: dict[str, str] = field(default_factory=dict)
    chunk: tuple[int, int] = (1, 1)
    stall_rate: float = 0.0
    stall: tuple[float, float] = (0.2, 0.3)
    think: tuple[float, float] = (0.0, 0.0)
    concurrency: int = 1

    def __post_init__(self) -> None:
        if not self.speed > 0 or math.isinf(self.speed):
            raise ValueError("speed must be a positive finite number")
        if self.cadence not in ("steady", "bursty"):
            raise ValueError("cadence must be 'steady' or 'bursty'")
        for name in ("itl", "stall", "think"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi or math.isinf(hi):
                raise ValueError(f"{name} must be a (low, high) range with 0 <= low <= high")
        if self.think[1] > _THINK_MAX:
            raise ValueError(f"think must stay within {_THINK_MAX:.0f} s")
        lo, hi = self.chunk
        if not 1 <= lo <= hi <= _CHUNK_MAX:
            raise ValueError(f"chunk must be a range with 1 <= low <= high <= {_CHUNK_MAX}")
        if not 0 <= self.stall_rate <= 1:
            raise ValueError("stall_rate must be between 0 and 1")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")

    @classmethod
    def profile(cls, name: str, **overrides: object) -> SimulatedLLM:
        """A model with the timing of profile ``name``; keyword arguments override.

        >>> SimulatedLLM.profile("hosted", speed=2).itl
        (0.005, 0.01)
        """
        if name not in PROFILES:
            raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
        p = PROFILES[name]
        settings: dict[str, object] = {
            "itl": p.itl, "prefill_base": p.prefill_base,
            "prefill_per_token": p.prefill_per_token, "chunk": p.chunk,
            "stall_rate": p.stall_rate, "stall": p.stall, "think": p.think,
        }
        settings.update(overrides)
        return cls(**settings)  # type: ignore[arg-type]

    def under_load(self, concurrency: int) -> SimulatedLLM:
        """The same model while ``concurrency`` requests share the server."""
        return replace(self, concurrency=concurrency)

    # -- what is said --------------------------------------------------------
    def answer(self, prompt: str, seed: int = 0) -> str:
        """The full answer to ``prompt`` for ``seed`` (deterministic)."""
        answers = {**ANSWERS, **self.extra_answers}
        lowered = prompt.lower()
        for topic in self.extra_answers:
            if topic.lower() in lowered:
                return answers[topic]
        for topic, pattern in _TOPICS.items():
            if pattern.search(lowered):
                return answers[topic]
        general = sorted(k for k in answers if k.startswith("general-"))
        return answers[general[_rng(prompt, seed, "pick").randrange(len(general))]]

    def tokens(self, prompt: str, seed: int = 0) -> list[str]:
        """The answer split into emitted pieces (whole characters, see :func:`tokenize`)."""
        return self.plan(prompt, seed).tokens

    # -- when it is said -----------------------------------------------------
    def ttft(self, prompt: str, seed: int = 0) -> float:
        """Planned time to first visible token: queue + prefill + thinking.

        Prefill grows with the prompt (``prefill_base + prefill_per_token * n``
        for ``n`` prompt tokens, jittered by +-10 %): that line is a setting.
        """
        return (self._prefill(prompt, seed) + self._think_time(prompt, seed)) / self.speed

    def _prefill(self, prompt: str, seed: int) -> float:
        rng = _rng(prompt, seed, "prefill")
        prefill = self.prefill_base + self.prefill_per_token * count_tokens(prompt)
        queue, _ = load_penalty(self.concurrency)
        return prefill * rng.uniform(0.9, 1.1) + queue

    def _think_time(self, prompt: str, seed: int) -> float:
        lo, hi = self.think
        return _rng(prompt, seed, "think").uniform(lo, hi) if hi > 0 else 0.0

    def plan(self, prompt: str, seed: int = 0) -> Plan:
        """Decide every token and every delay for this prompt and seed."""
        raw = token_bytes(self.answer(prompt, seed))
        rng = _rng(prompt, seed, "decode")
        lo, hi = self.itl
        _, slower = load_penalty(self.concurrency)
        gaps = [rng.uniform(lo, hi) * slower for _ in raw[1:]]
        if self.stall_rate > 0:
            stalls = _rng(prompt, seed, "stall")
            slo, shi = self.stall
            gaps = [g + stalls.uniform(slo, shi) if stalls.random() < self.stall_rate else g
                    for g in gaps]
        chunks = _rng(prompt, seed, "chunk")
        texts, pieces, delays = _group(raw, [0.0] + gaps if raw else [], self.chunk, chunks)
        if self.cadence == "bursty" and delays:
            delays = [delays[0]] + _bunch(delays[1:], self.burst, rng)
        thinking, thinking_times = self._thinking(prompt, seed)
        if delays:
            delays[0] += self._prefill(prompt, seed) + self._think_time(prompt, seed)
        return Plan(
            prompt=prompt,
            seed=seed,
            tokens=texts,
            delays=[d / self.speed for d in delays],
            pieces=pieces,
            thinking=thinking,
            thinking_times=[t / self.speed for t in thinking_times],
        )

    def _thinking(self, prompt: str, seed: int) -> tuple[list[str], list[float]]:
        think = self._think_time(prompt, seed)
        if think <= 0:
            return [], []
        words = tokenize(THINKING)
        rng = _rng(prompt, seed, "thinking")
        lo, hi = self.itl
        t = self._prefill(prompt, seed)
        end = t + think
        texts: list[str] = []
        times: list[float] = []
        # Each gap is at least 1 ms, so the loop ends within _THINK_MAX * 1000 steps.
        while True:
            t += max(rng.uniform(lo, hi), 0.001)
            if t >= end:
                break
            texts.append(words[len(texts) % len(words)])
            times.append(t)
        return texts, times

    # -- saying it -----------------------------------------------------------
    async def stream(
        self, prompt: str, seed: int = 0, *, start: int = 0, thinking: bool = False
    ) -> AsyncIterator[Token]:
        """Yield tokens as they are "generated", sleeping the planned delays.

        ``start`` resumes at that emission index (a reconnect after emission
        ``start - 1``), waiting only that emission's own delay. With
        ``thinking=True`` a reasoning profile's thinking tokens come first
        (``kind="thinking"``; skipped on a resume). Cancelling the consuming
        task stops generation at once.
        """
        plan = self.plan(prompt, seed)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        # Sleep until each token's planned time, not for each delay: timer
        # oversleep would otherwise add up token after token.
        if thinking and start <= 0:
            for i, (text, at) in enumerate(zip(plan.thinking, plan.thinking_times, strict=True)):
                wait = t0 + at - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                yield Token(i, text, "thinking")
        due = t0
        for i in range(max(start, 0), len(plan.tokens)):
            due += plan.delays[i]
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            yield Token(i, plan.tokens[i])

    async def complete(self, prompt: str, seed: int = 0) -> str:
        """Generate the whole answer, then return it (the blocking style)."""
        plan = self.plan(prompt, seed)
        await asyncio.sleep(plan.total)
        return plan.text


def _rng(prompt: str, seed: int, purpose: str) -> random.Random:
    # String seeds are hashed with SHA-512 by random.Random: stable across runs
    # and processes, unlike hash().
    return random.Random(f"{purpose}|{seed}|{prompt}")


def _group(
    raw: list[bytes], gaps: list[float], chunk: tuple[int, int], rng: random.Random
) -> tuple[list[str], list[tuple[bytes, ...]], list[float]]:
    """Group byte tokens into emissions of whole characters.

    An emission takes ``chunk`` tokens (drawn per emission) and then as many
    more as it needs to end on a character boundary; its delay is the sum of
    its tokens' gaps (it leaves when its last token is ready).
    """
    texts: list[str] = []
    pieces: list[tuple[bytes, ...]] = []
    delays: list[float] = []
    decoder = Utf8Stream()
    lo, hi = chunk
    want = rng.randint(lo, hi)
    text, group, wait = "", [], 0.0
    for tok, gap in zip(raw, gaps, strict=True):
        text += decoder.feed(tok)
        group.append(tok)
        wait += gap
        if len(group) >= want and not decoder.pending and text:
            texts.append(text)
            pieces.append(tuple(group))
            delays.append(wait)
            text, group, wait = "", [], 0.0
            want = rng.randint(lo, hi)
    text += decoder.flush()
    if group:
        texts.append(text)
        pieces.append(tuple(group))
        delays.append(wait)
    return texts, pieces, delays


def _bunch(gaps: list[float], burst: tuple[int, int], rng: random.Random) -> list[float]:
    """Regroup gaps into bursts: same total, the wait moved to each burst's head."""
    out: list[float] = []
    i = 0
    lo, hi = burst
    while i < len(gaps):
        n = rng.randint(lo, hi)
        group = gaps[i : i + n]
        out.append(sum(group))
        out.extend(0.0 for _ in group[1:])
        i += n
    return out
