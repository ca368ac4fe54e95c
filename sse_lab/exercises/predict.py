"""Checkers for the "predict, then run" exercises, one or more per notebook.

The learner writes a number down *before* running a measurement, then runs
it; :func:`check_prediction` compares the two. A close prediction passes; a
far one gets the reason it is far, and the common wrong answers (a fencepost,
a sped-up clock taken for a real one, tokens counted where the client counts
events) are recognised and named. Every question says what in the result is
an input of the lab and what is measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sse_lab.exercises.result import CheckResult, result
from sse_lab.exercises.sandbox import is_number
from sse_lab.i18n import N_, tr

__all__ = ["PREDICTIONS", "Prediction", "check_prediction"]

#: A recognised wrong answer: ``(value, tolerance, explanation)``, where the
#: tolerance is absolute when ``absolute`` is set on the question, else relative.
Trap = tuple[float, float, str]


@dataclass(frozen=True)
class Prediction:
    """One "predict, then run" question.

    ``tolerance`` is relative (0.3 = within 30 % of the measurement) unless
    ``absolute`` is true. ``traps(measured, context)`` lists common wrong
    answers with their explanation; ``why`` explains the measured number.
    """

    key: str
    question: str
    unit: str
    tolerance: float
    why: str
    absolute: bool = False
    traps: Callable[[float, dict[str, Any]], list[Trap]] = field(default=lambda m, c: [])

    def near(self, a: float, b: float, tol: float | None = None) -> bool:
        """Whether ``a`` is within the question's tolerance of ``b``."""
        tol = self.tolerance if tol is None else tol
        if self.absolute:
            return abs(a - b) <= tol
        return abs(a - b) <= tol * max(abs(b), 1e-9)


def _q(*args: Any, **kwargs: Any) -> Prediction:
    return Prediction(*args, **kwargs)


#: The questions, keyed ``"NN-name"`` by notebook.
PREDICTIONS: dict[str, Prediction] = {
    "00-ttft-4000": _q(
        "00-ttft-4000",
        N_("the time to first token of a 4,000-token prompt at speed=1"),
        "s", 0.4,
        N_("The model's prefill is an input: 0.25 s + 0.2 ms per prompt token (5,000 tokens/s, "
           "GPU-like), +-10 %, so 4,000 tokens wait about 1.05 s. Hosted APIs report 0.4-0.8 s "
           "at ~1,000 prompt tokens."),
        traps=lambda m, c: [
            (16.25, 0.3, N_("16 s is 4 ms per prompt token, a CPU's pace. A GPU reads a prompt "
                            "at thousands of tokens per second.")),
            (0.1, 0.6, N_("The first token cannot come before the model has read the prompt, "
                          "and reading 4,000 tokens takes time.")),
        ],
    ),
    "00-clock": _q(
        "00-clock",
        N_("when [DONE] arrives for /sse?count=4&interval=0.25"),
        "s", 0.12,
        N_("The clock sleeps `interval` before every tick and sends [DONE] right after the "
           "last one: 4 x 0.25 s = 1.0 s."),
        absolute=True,
        traps=lambda m, c: [
            (0.75, 0.06, N_("A fencepost: 0.75 s assumes the first tick leaves at once. This "
                            "clock waits one interval before each of its four ticks.")),
        ],
    ),
    "01-hosted-sooner": _q(
        "01-hosted-sooner",
        N_("how many times sooner streaming shows the first words with the hosted profile"),
        "x", 0.5,
        N_("Blocking waits for the prefill plus every token; streaming only for the prefill. At "
           "~130 tokens/s this short answer takes well under a second to decode, so the prefill "
           "(~0.35 s) dominates both and streaming wins only ~2-3x. With the article's 10 "
           "tokens/s, or with a real answer of hundreds of tokens, the gain is far larger."),
        traps=lambda m, c: [
            (c.get("article_ratio", 20.0), 0.4,
             N_("That is about the ratio at the article's pace (10 tokens/s). A hosted model "
                "decodes ~13x faster, so the blocking wait shrinks to little more than the "
                "prefill, which streaming has to wait for too.")),
        ],
    ),
    "02-event-bytes": _q(
        "02-event-bytes",
        N_('the bytes of encode_event("助", id="5")'),
        N_("bytes"), 0.0,
        N_("`id: 5\\n` is 6 bytes, `data: ` 6, 助 is 3 bytes in UTF-8, then `\\n` and the blank "
           "line's `\\n`: 17 bytes."),
        absolute=True,
        traps=lambda m, c: [
            (m - 2, 0.0, N_("助 is one character but three bytes in UTF-8 (e5 8a a9).")),
            (m - 1, 0.0, N_("Count the blank line too: an event ends with `\\n\\n`, two bytes.")),
            (m - 6, 0.0, N_("The `id: 5\\n` line is part of the event: 6 more bytes.")),
        ],
    ),
    "03-events-sent": _q(
        "03-events-sent",
        N_("how many events the server sent to a reader that left after 3"),
        N_("events"), 2.0,
        N_("SSEHandler cancels the generation task as soon as the connection closes, so the "
           "server stops within an event or so of the reader leaving (one may already be on "
           "its way)."),
        absolute=True,
        traps=lambda m, c: [
            (float(c.get("total", -100)), 3.0,
             N_("That is the whole answer: the server would send it all only if it did not "
                "notice the reader leaving (the article's /chat keeps calling sendToken).")),
        ],
    ),
    "04-polls": _q(
        "04-polls",
        N_("how many requests short polling makes at POLL_INTERVAL=0.05 s"),
        N_("requests"), 0.35,
        N_("A poller asks every interval whether anything is new, however many tokens there "
           "are: about (answer time / interval) + 1 requests."),
        traps=lambda m, c: [
            (1.0, 0.0, N_("One request is SSE (or WebSocket): a poller opens a request every "
                          "interval.")),
            (float(c.get("tokens", -100)), 0.15,
             N_("One request per token is long polling; a short poll comes on a timer, "
                "whether or not a token is ready.")),
        ],
    ),
    "05-hosted-rate": _q(
        "05-hosted-rate",
        N_("the median tokens/s the client measures from the hosted profile at speed=1"),
        "tokens/s", 0.4,
        N_("The client counts events, not BPE tokens: the hosted profile packs 1-3 tokens into "
           "each event (~2 on average), and a 200-300 ms stall in 1.5 percent of gaps costs a "
           "short answer a lot. So ~133 model tokens/s show up as roughly 40-70 events/s."),
        traps=lambda m, c: [
            (133.0, 0.25, N_("~133 tokens/s is the model's pace between stalls, an input. The "
                             "client counts *events*, and each carries 1-3 tokens; rare stalls "
                             "add the rest.")),
            (10.0, 0.5, N_("10 tokens/s is the article profile; the hosted one decodes ~13x "
                           "faster.")),
        ],
    ),
    "06-retry-gap": _q(
        "06-retry-gap",
        N_("the gap between tokens 4 and 5 when the server cuts after 5 tokens and sends "
              "retry: 800"),
        "s", 0.15,
        N_("The client waits the server's `retry:` time (800 ms, real time: `speed` divides "
           "the model's delays, not the client's wait), reconnects with Last-Event-ID, and "
           "the next token comes one model delay later."),
        absolute=True,
        traps=lambda m, c: [
            (0.2, 0.08, N_("retry is not divided by `speed`: the client waits 800 real ms.")),
            (0.0, 0.08, N_("The client does not reconnect at once: it waits `retry` first.")),
        ],
    ),
    "07-max-lag": _q(
        "07-max-lag",
        N_("the largest extra delay smoothing adds with max_lag=0.2 s on the bursty stream"),
        "s", 0.06,
        N_("To spread a burst the buffer holds its tokens back, but never longer than "
           "max_lag: on a bursty stream some token reaches that bound."),
        absolute=True,
        traps=lambda m, c: [
            (0.0, 0.03, N_("Smoothing must hold back the tokens of a burst to spread them: it "
                           "adds delay, bounded by max_lag.")),
            (0.4, 0.05, N_("0.4 s was the view's max_lag above; this run bounds it at 0.2 s.")),
        ],
    ),
}


def check_prediction(key: str, predicted: Any, measured: Any, **context: Any) -> CheckResult:
    """Compare the learner's ``predicted`` number with the ``measured`` one.

    Args:
        key: The question (a key of :data:`PREDICTIONS`).
        predicted: The learner's number, written before the measurement ran.
        measured: The number the notebook's run cell measured.
        **context: Numbers some explanations use (e.g. ``tokens=`` for 04).
    """
    if key not in PREDICTIONS:
        return result(tr("Prediction {key}", key=repr(key)),
                      [tr("Unknown question {key}; choose one of {keys}.", key=repr(key),
                          keys=sorted(PREDICTIONS))])
    q = PREDICTIONS[key]
    unit = tr(q.unit)
    name = tr("Predict, then run: {question}", question=tr(q.question))
    why_measured = tr(q.why)
    if predicted is None or predicted is Ellipsis:
        return result(name, [tr("Write your prediction first (a number), then run the "
                                "measurement cell, then this one.")])
    if not is_number(predicted):
        return result(name, [tr("Your prediction should be a number (in {unit}), got "
                                "{predicted}.", unit=unit, predicted=repr(predicted))])
    if not is_number(measured):
        return result(name, [tr("There is no measurement yet: run the cell above that measures "
                                "it (it sets `measured`).")])
    predicted, measured = float(predicted), float(measured)
    said = tr("You predicted {predicted:g} {unit}; the measurement says {measured:.3g} {unit}.",
              predicted=predicted, measured=measured, unit=unit)
    if q.near(predicted, measured):
        return result(name, [], [tr("{said} Close.", said=said), why_measured])
    for value, tol, why in q.traps(measured, context):
        if q.near(predicted, value, tol) and not q.near(value, measured):
            return result(name, [tr("{said} {why}", said=said, why=tr(why))], [why_measured])
    if measured and not q.absolute:
        factor = predicted / measured
        off = (tr("{factor:.1f}x too high", factor=factor) if factor > 1
               else tr("{factor:.1f}x too low", factor=1 / factor) if factor > 0
               else tr("on the wrong side of zero"))
    else:
        off = tr("off by {diff:+.3g} {unit}", diff=predicted - measured, unit=unit)
    return result(name, [tr("{said} That is {off}.", said=said, off=off)], [why_measured])
