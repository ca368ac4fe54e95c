"""A simulated LLM: a deterministic, seeded token source with model-like timing.

A real model server first reads the whole prompt (prefill: the time to first
token grows with the prompt), then emits one token at a time (decode: an
inter-token delay per token). :class:`SimulatedLLM` reproduces both, seeded so
that the same prompt and seed always give the same answer, the same tokens and
the same delays. That determinism is what lets a server resume a dropped
stream at token ``k + 1`` and lets notebooks race a blocking call against a
streaming one on the very same answer.

Delays are *planned* here (``plan()``) and *slept* only by the async helpers,
so tests can inspect timing without waiting for it.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "SOURCE_ANSWER",
    "ANSWERS",
    "Plan",
    "SimulatedLLM",
    "Token",
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

# A CJK character (or fullwidth punctuation) is one token; Latin text splits
# into words with their leading space, long words into pieces of <= 4 letters.
_TOKEN = re.compile(
    r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]"
    r"| ?[A-Za-z]+"
    r"| ?[0-9]+"
    r"| ?[^\sA-Za-z0-9\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]"
    r"|\s+"
)
_PIECE = 4


def tokenize(text: str) -> list[str]:
    """Split text into word-piece-like tokens; joining them gives ``text`` back.

    English splits into words carrying their leading space (``" streaming"``
    becomes ``" stre"``, ``"aming"``), Chinese into single characters, and
    punctuation into its own tokens, roughly as a BPE tokenizer would.
    """
    tokens: list[str] = []
    for match in _TOKEN.finditer(text):
        tok = match.group()
        word = tok.lstrip(" ")
        if len(word) > _PIECE + 2 and word.isalpha():
            lead = tok[: len(tok) - len(word)]
            pieces = [word[i : i + _PIECE] for i in range(0, len(word), _PIECE)]
            if len(pieces[-1]) < 2:  # no one-letter stragglers
                last = pieces.pop()
                pieces[-1] += last
            pieces[0] = lead + pieces[0]
            tokens.extend(pieces)
        else:
            tokens.append(tok)
    return tokens


@dataclass(frozen=True)
class Token:
    """One generated token: its position in the answer and its text."""

    index: int
    text: str


@dataclass(frozen=True)
class Plan:
    """The whole generation, decided in advance.

    ``delays[i]`` is the wait (in seconds, already divided by ``speed``)
    before token ``i``; ``delays[0]`` is the time to first token.
    """

    prompt: str
    seed: int
    tokens: list[str]
    delays: list[float]

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def ttft(self) -> float:
        return self.delays[0] if self.delays else 0.0

    @property
    def total(self) -> float:
        return sum(self.delays)

    def emit_times(self) -> list[float]:
        """The planned time of each token, in seconds after the request."""
        out, t = [], 0.0
        for d in self.delays:
            t += d
            out.append(t)
        return out


@dataclass(frozen=True)
class SimulatedLLM:
    """A seeded stand-in for a model server.

    Args:
        speed: Divides every delay; ``speed=10`` runs ten times faster (tests
            and CI use it), ``speed=1`` is real-model pacing.
        itl: Inter-token latency range in seconds, drawn uniformly (default
            50-150 ms, the source article's ``Math.random() * 100 + 50``).
        cadence: ``"steady"`` emits tokens one by one; ``"bursty"`` emits them
            in groups of ``burst`` tokens that arrive together, as batching
            servers such as vLLM do. Both give the same total time for the same
            seed, so only the rhythm differs.
        burst: Inclusive range of tokens per burst in bursty mode.
        prefill_base: Time to first token for an empty prompt, in seconds.
        prefill_per_token: Extra time to first token per prompt token.
    """

    speed: float = 1.0
    itl: tuple[float, float] = (0.05, 0.15)
    cadence: Literal["steady", "bursty"] = "steady"
    burst: tuple[int, int] = (3, 6)
    prefill_base: float = 0.25
    prefill_per_token: float = 0.004
    extra_answers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("speed must be positive")
        if self.cadence not in ("steady", "bursty"):
            raise ValueError("cadence must be 'steady' or 'bursty'")
        lo, hi = self.itl
        if lo < 0 or hi < lo:
            raise ValueError("itl must be a (low, high) range with 0 <= low <= high")

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
        """The answer split into tokens."""
        return tokenize(self.answer(prompt, seed))

    # -- when it is said -----------------------------------------------------
    def ttft(self, prompt: str, seed: int = 0) -> float:
        """Planned time to first token: prefill grows with the prompt length."""
        rng = _rng(prompt, seed, "prefill")
        prefill = self.prefill_base + self.prefill_per_token * len(tokenize(prompt))
        return prefill * rng.uniform(0.9, 1.1) / self.speed

    def plan(self, prompt: str, seed: int = 0) -> Plan:
        """Decide every token and every delay for this prompt and seed."""
        tokens = self.tokens(prompt, seed)
        rng = _rng(prompt, seed, "decode")
        lo, hi = self.itl
        gaps = [rng.uniform(lo, hi) / self.speed for _ in tokens[1:]]
        if self.cadence == "bursty":
            gaps = _bunch(gaps, self.burst, rng)
        delays = [self.ttft(prompt, seed)] + gaps if tokens else []
        return Plan(prompt=prompt, seed=seed, tokens=tokens, delays=delays)

    # -- saying it -----------------------------------------------------------
    async def stream(
        self, prompt: str, seed: int = 0, *, start: int = 0
    ) -> AsyncIterator[Token]:
        """Yield tokens as they are "generated", sleeping the planned delays.

        ``start`` resumes at that token index (a reconnect after token
        ``start - 1``), waiting only that token's own delay. Cancelling the
        consuming task stops generation at once.
        """
        plan = self.plan(prompt, seed)
        loop = asyncio.get_running_loop()
        # Sleep until each token's planned time, not for each delay: timer
        # oversleep would otherwise add up token after token.
        due = loop.time()
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
