"""One model turn, planned in advance and dialect-free: thinking, text, tool calls.

Every served dialect (OpenAI Chat Completions, OpenAI Responses, Anthropic
Messages) and the Gemini writer stream the *same* turn; only the JSON around
each piece differs. :func:`plan_turn` decides the whole turn from the prompt
and seed, as :meth:`sse_lab.model.SimulatedLLM.plan` does for plain text, so
the text of every dialect equals ``/chat``'s answer token for token, and the
delays before the text tokens are ``/chat``'s delays.

What the simulated model does that a real one decides by itself:

* **Tool calls** are deterministic: with ``tool_choice`` ``"auto"`` the model
  calls every offered tool whose name appears in the prompt (in the order
  offered, so two names give two parallel calls); ``"required"`` calls the
  named ones or else the first tool; a named choice calls that tool;
  ``"none"`` never calls. Arguments are made from the tool's JSON schema:
  every property gets a value (strings from a small list of place names with
  non-ASCII letters, so the arguments carry ``\\uXXXX`` escapes), then the
  JSON text is cut into pieces at seeded points, one of them inside an escape.
* **Reasoning**: ``sse_lab.model`` has no thinking stream, so when a request
  turns reasoning on the thinking text is generated here, from the prompt and
  seed (a few canned sentences), and streamed before the answer at the
  model's inter-token pace: it delays the first visible token.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any, Literal

from sse_lab.model import SimulatedLLM, tokenize

__all__ = [
    "Step",
    "Script",
    "ToolSpec",
    "ToolChoice",
    "plan_turn",
    "choose_tools",
    "tool_arguments",
    "split_arguments",
    "thinking_text",
]

StepKind = Literal["thinking", "text", "tool_start", "tool_arguments"]
#: ``"auto"``, ``"none"``, ``"required"``, or the name of the one tool to call.
ToolChoice = str

_PLACES = ("Tokyo 東京", "Zürich", "São Paulo", "Kraków", "Reykjavík")
_THOUGHTS = (
    "The user asks: {prompt!r}.",
    "Let me recall what I know about this before I answer.",
    "A short, plain answer is best here; no need for a list.",
    "I should mention why it matters, not only what it is.",
    "Check: nothing in the question needs a tool or a calculation.",
    "I will answer in two or three sentences.",
)


@dataclass(frozen=True)
class ToolSpec:
    """A tool the request offers: its name and JSON-schema ``parameters``."""

    name: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One piece of the turn, streamed after waiting ``delay`` seconds.

    ``kind`` is ``"thinking"`` or ``"text"`` (``text`` is the token),
    ``"tool_start"`` (a call begins: ``index``, ``call_id``, ``name``) or
    ``"tool_arguments"`` (``text`` is the next piece of call ``index``'s
    arguments JSON).
    """

    delay: float
    kind: StepKind
    text: str = ""
    index: int = 0
    call_id: str = ""
    name: str = ""


@dataclass(frozen=True)
class Script:
    """A planned turn: its steps in order, why it ends, and its token counts.

    ``finish`` is dialect-neutral: ``"stop"``, ``"length"`` (cut by a token
    limit) or ``"tool_calls"``; each writer names it the way its API does.
    """

    steps: tuple[Step, ...]
    finish: Literal["stop", "length", "tool_calls"]
    prompt_tokens: int

    def _join(self, kind: str) -> str:
        return "".join(s.text for s in self.steps if s.kind == kind)

    @property
    def text(self) -> str:
        """The visible answer."""
        return self._join("text")

    @property
    def thinking(self) -> str:
        """The reasoning text (empty unless reasoning was on)."""
        return self._join("thinking")

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """``[{"index", "call_id", "name", "arguments"}]`` with arguments as JSON text."""
        calls: dict[int, dict[str, Any]] = {}
        for s in self.steps:
            if s.kind == "tool_start":
                calls[s.index] = {
                    "index": s.index, "call_id": s.call_id, "name": s.name, "arguments": ""
                }
            elif s.kind == "tool_arguments":
                calls[s.index]["arguments"] += s.text
        return [calls[i] for i in sorted(calls)]

    @property
    def reasoning_tokens(self) -> int:
        return sum(1 for s in self.steps if s.kind == "thinking")

    @property
    def output_tokens(self) -> int:
        """Thinking, text and argument pieces: everything the model generated."""
        return sum(1 for s in self.steps if s.kind != "tool_start")

    def times(self) -> list[float]:
        """Each step's planned time in seconds after the request."""
        out, t = [], 0.0
        for s in self.steps:
            t += s.delay
            out.append(t)
        return out


def choose_tools(prompt: str, tools: list[ToolSpec], choice: ToolChoice = "auto") -> list[ToolSpec]:
    """The tools the simulated model calls for this prompt (see the module docs)."""
    if not tools or choice == "none":
        return []
    if choice not in ("auto", "required"):
        return [t for t in tools if t.name == choice][:1]
    lowered = prompt.lower()
    named = [t for t in tools if t.name.lower() in lowered]
    if choice == "required" and not named:
        return tools[:1]
    return named


def tool_arguments(spec: ToolSpec, prompt: str, seed: int = 0) -> dict[str, Any]:
    """Arguments for ``spec`` made from its JSON schema, deterministic in prompt and seed."""
    rng = random.Random(f"args|{seed}|{spec.name}|{prompt}")
    props = spec.parameters.get("properties") if isinstance(spec.parameters, dict) else None
    out: dict[str, Any] = {}
    for name, schema in (props or {}).items():
        schema = schema if isinstance(schema, dict) else {}
        kind = schema.get("type")
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            out[name] = schema["enum"][0]
        elif kind == "integer":
            out[name] = rng.randint(1, 30)
        elif kind == "number":
            out[name] = round(rng.uniform(0, 40), 1)
        elif kind == "boolean":
            out[name] = True
        elif kind == "array":
            out[name] = []
        elif kind == "object":
            out[name] = {}
        else:
            out[name] = rng.choice(_PLACES)
    return out


def split_arguments(text: str, rng: random.Random) -> list[str]:
    """Cut JSON text into pieces of 1-6 characters, one cut inside a ``\\u`` escape.

    Real APIs cut tool arguments anywhere: mid-key, mid-string, inside an
    escape; only the joined text is JSON.
    """
    cuts: set[int] = set()
    pos = 0
    while True:
        pos += rng.randint(1, 6)
        if pos >= len(text):
            break
        cuts.add(pos)
    escape = text.find("\\u")
    if escape >= 0:
        cuts.add(escape + 3)  # between "\u6" and "771"
    bounds = [0, *sorted(cuts), len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def thinking_text(prompt: str, seed: int = 0) -> str:
    """A short reasoning text for ``prompt`` (three or four canned sentences)."""
    rng = random.Random(f"thinking|{seed}|{prompt}")
    short = prompt if len(prompt) <= 60 else prompt[:57] + "..."
    rest = rng.sample(_THOUGHTS[1:], rng.randint(2, 3))
    return " ".join([_THOUGHTS[0].format(prompt=short), *rest])


def plan_turn(
    model: SimulatedLLM,
    prompt: str,
    seed: int = 0,
    *,
    tools: list[ToolSpec] | None = None,
    tool_choice: ToolChoice = "auto",
    thinking: bool = False,
    max_tokens: int | None = None,
    prompt_tokens: int | None = None,
) -> Script:
    """Plan the whole turn: thinking (if on), then either tool calls or the answer.

    The answer's tokens and delays are ``model.plan(prompt, seed)``'s, so they
    equal ``/chat``'s; ``max_tokens`` cuts the answer (``finish="length"``).
    With reasoning on, the thinking tokens take the time to first token and
    the answer's first token follows one inter-token gap after them.
    """
    rng = random.Random(f"turn|{seed}|{prompt}")
    lo, hi = model.itl

    def gap() -> float:
        return rng.uniform(lo, hi) / model.speed

    steps: list[Step] = []
    if thinking:
        for i, tok in enumerate(tokenize(thinking_text(prompt, seed))):
            steps.append(Step(model.ttft(prompt, seed) if i == 0 else gap(), "thinking", tok))
    calls = choose_tools(prompt, list(tools or []), tool_choice)
    finish: Literal["stop", "length", "tool_calls"] = "stop"
    if calls:
        finish = "tool_calls"
        for index, spec in enumerate(calls):
            call_id = f"{rng.getrandbits(96):024x}"
            first = model.ttft(prompt, seed) if not steps else gap()
            steps.append(Step(first, "tool_start", index=index, call_id=call_id, name=spec.name))
            args = json.dumps(tool_arguments(spec, prompt, seed), ensure_ascii=True)
            for piece in split_arguments(args, rng):
                steps.append(Step(gap(), "tool_arguments", piece, index=index))
    else:
        plan = model.plan(prompt, seed)
        tokens, delays = plan.tokens, list(plan.delays)
        if max_tokens is not None and len(tokens) > max_tokens:
            tokens, delays, finish = tokens[:max_tokens], delays[:max_tokens], "length"
        if steps and delays:
            delays[0] = gap()  # prefill was spent thinking
        steps += [Step(d, "text", t) for t, d in zip(tokens, delays, strict=True)]
    if prompt_tokens is None:
        prompt_tokens = len(tokenize(prompt))
    return Script(tuple(steps), finish, prompt_tokens)
