"""Real API streaming dialects on top of SSE (layer 1: pure, no I/O).

Every provider streams over the same SSE format; the JSON dialects on top
differ. This package holds both directions, without sockets or clocks:

* :mod:`~sse_lab.dialects.assemble`: read a stream's bytes in any dialect and
  assemble text, reasoning, tool calls, usage, the finish reason and errors
  (:func:`assemble` for whole bodies, :class:`Assembler` incrementally).
* :mod:`~sse_lab.dialects.turn`: plan one model turn (thinking, text, tool
  calls with argument fragments) deterministically from prompt and seed.
* :mod:`~sse_lab.dialects.writers`: write a planned turn as OpenAI Chat
  Completions, OpenAI Responses, Anthropic Messages or Gemini events, as the
  lab server streams them.
* :mod:`~sse_lab.dialects.fixtures`: hand-written Gemini (SSE with CRLF, no
  sentinel) and Ollama (NDJSON) streams for contrast.
* :mod:`~sse_lab.dialects.compatible`: OpenAI-compatible Chinese providers
  (DeepSeek, Qwen, Kimi, GLM) streaming ``reasoning_content`` beside ``content``,
  reconstructed from their documentation; :func:`token_counts` reads every
  provider's usage names.

Used by notebook 09 ("Streaming like the real APIs").
"""

from sse_lab.dialects.assemble import (
    DIALECT_NAMES,
    Assembled,
    Assembler,
    Delta,
    TokenCounts,
    ToolCall,
    assemble,
    token_counts,
)
from sse_lab.dialects.turn import Script, Step, ToolSpec, plan_turn
from sse_lab.dialects.writers import DIALECTS, frames_to_bytes, make_writer, render

__all__ = [
    "DIALECTS",
    "DIALECT_NAMES",
    "Assembled",
    "Assembler",
    "Delta",
    "Script",
    "Step",
    "TokenCounts",
    "ToolCall",
    "ToolSpec",
    "assemble",
    "frames_to_bytes",
    "make_writer",
    "plan_turn",
    "render",
    "token_counts",
]
