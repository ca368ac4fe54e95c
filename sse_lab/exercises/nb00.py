"""Checkers for notebook 00's exercises (a second server, the source's clock).

* :func:`check_second_server` -- the learner started another lab server on a
  port of their choice and fetched its ``/stats`` JSON.
* :func:`check_clock_tokens` -- the learner recorded the source article's
  ``/sse`` clock (``count=3&interval=0.1``) and kept its token list.

Both take plain values (what the learner's cell produced), never raise, and
explain in plain words what is missing.
"""

from __future__ import annotations

import re
from typing import Any

from sse_lab.exercises.result import CheckResult, result
from sse_lab.i18n import tr

__all__ = ["STATS_KEYS", "check_clock_tokens", "check_second_server"]

#: Keys every ``/stats`` answer has (a subset: the server may add more).
STATS_KEYS = frozenset(
    {
        "open_connections",
        "open_total",
        "connections_served",
        "events_sent",
        "generation_tasks",
        "rss_bytes",
        "uptime_s",
    }
)

_CLOCK = re.compile(r"Current Time is (\d\d):(\d\d):(\d\d)")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _stats_now(srv: Any) -> dict[str, Any] | None:
    try:
        stats = srv.stats()
    except Exception:
        return None
    return stats if isinstance(stats, dict) else None


def check_second_server(server2: Any, stats2: Any, first: Any = None) -> CheckResult:
    """Exercise 00.1: a second server on a chosen port, and its ``/stats`` JSON.

    Args:
        server2: What ``start_server(port=...)`` returned.
        stats2: The parsed JSON of ``GET server2.url + "/stats"`` (a dict).
        first: The notebook's first server, to make sure ``server2`` is another.
    """
    name = tr("Exercise 1: a second server and its /stats")
    problems: list[str] = []
    notes: list[str] = []

    if server2 is None:
        problems.append(tr(
            "`server2` is still None: start a second server with "
            "`start_server(port=...)` and a port number of your choice."
        ))
    elif not all(hasattr(server2, a) for a in ("port", "url", "stats", "running")):
        problems.append(tr(
            "`server2` should be what `start_server(...)` returns (a LabServer), "
            "got {got}.", got=_short(server2)
        ))
        server2 = None
    elif not server2.running:
        problems.append(tr(
            "`server2` is not running (stopped already?): start it again and "
            "stop it only in the cleanup cell."
        ))
    elif first is not None and (server2 is first or server2.port == getattr(first, "port", None)):
        problems.append(tr(
            "`server2` is the notebook's first server (port {port}): "
            "`start_server(port=server.port)` hands back the server already running "
            "there. Choose a different port.", port=server2.port
        ))

    if stats2 is None:
        problems.append(tr(
            '`stats2` is still None: fetch `server2.url + "/stats"` and parse the '
            "JSON body with `json.loads`."
        ))
    elif isinstance(stats2, (bytes, str)):
        problems.append(tr(
            "`stats2` is the raw body text; parse it with `json.loads(...)` to get a dict."
        ))
    elif not isinstance(stats2, dict):
        problems.append(tr("`stats2` should be a dict (the parsed JSON), got {got}.",
                           got=_short(stats2)))
    else:
        missing = sorted(STATS_KEYS - set(stats2))
        if missing:
            problems.append(tr(
                "`stats2` lacks {keys}: is it really the JSON of `/stats`?",
                keys=", ".join(missing)
            ))
        elif server2 is not None and getattr(server2, "running", False):
            now = _stats_now(server2)
            uptime = stats2.get("uptime_s")
            if now is not None and isinstance(uptime, (int, float)):
                if uptime > now["uptime_s"] + 0.002:  # rounded to 1 ms
                    problems.append(tr(
                        "`stats2` reports an uptime of {uptime:.1f} s but `server2` has only "
                        "been up {up:.1f} s: it comes from an older server. "
                        "Fetch `/stats` from `server2.url`, not from `server.url`.",
                        uptime=uptime, up=now["uptime_s"]
                    ))
    if not problems:
        notes.append(tr(
            "server2 runs at {url} next to the first server; its /stats "
            "says {open} open stream(s) and "
            "{mib:.0f} MiB of memory (the whole kernel process).",
            url=server2.url, open=stats2["open_total"], mib=stats2["rss_bytes"] / 2**20
        ))
        notes.append(tr("Both servers share the kernel process; the cleanup cell stops them."))
    return result(name, problems, notes)


def _seconds(match: re.Match[str]) -> int:
    h, m, s = (int(x) for x in match.groups())
    return h * 3600 + m * 60 + s


def check_clock_tokens(tokens: Any, count: int = 3) -> CheckResult:
    """Exercise 00.2: the token list of ``/sse?count=3&interval=0.1``.

    Args:
        tokens: The learner's list of token texts (``Recording.tokens``).
        count: How many clock ticks were asked for.
    """
    name = tr("Exercise 2: record the source's clock")
    problems: list[str] = []
    if tokens is None:
        return result(
            name,
            [tr(
                "`clock_tokens` is still None: record "
                '`server.url + "/sse?count=3&interval=0.1"` and keep the recording\'s '
                "`.tokens`."
            )],
        )
    if hasattr(tokens, "arrivals") and hasattr(tokens, "tokens"):
        return result(
            name, [tr("That is the whole Recording; keep only its `.tokens` (a list of str).")]
        )
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, (list, tuple)):
        return result(name, [tr("Expected a list of strings, got {got}.", got=_short(tokens))])
    items = list(tokens)
    texts: list[str] = []
    for item in items:
        if isinstance(item, str):
            texts.append(item)
        elif hasattr(item, "event") and hasattr(item.event, "data"):  # an Arrival
            return result(
                name,
                [tr("The list holds Arrival objects; keep the text of each "
                    "(`rec.tokens` does).")],
            )
        elif hasattr(item, "data"):  # an Event
            return result(
                name, [tr("The list holds Event objects; keep their `.data` "
                          "(or use `rec.tokens`).")]
            )
        else:
            return result(name, [tr("Expected strings in the list, found {got}.",
                                    got=_short(item))])
    if "[DONE]" in texts:
        problems.append(tr(
            "`[DONE]` is the end-of-stream sentinel, not a token: leave it out "
            "(`Recording.tokens` already does)."
        ))
        texts = [t for t in texts if t != "[DONE]"]
    if not texts:
        problems.append(tr("The list is empty: did the recording reach the server?"))
        return result(name, problems)
    matches = [_CLOCK.fullmatch(t) for t in texts]
    wrong = [t for t, m in zip(texts, matches, strict=True) if m is None]
    if wrong:
        problems.append(tr(
            "{got} is not a tick of the clock ('Current Time is HH:MM:SS'): "
            "record the `/sse` endpoint, not `/chat`.", got=_short(wrong[0])
        ))
    if len(texts) != count:
        problems.append(tr(
            "Expected {count} clock ticks (`count={count}`), got {got}: "
            "check the query string.", count=count, got=len(texts)
        ))
    good = [m for m in matches if m is not None]
    if not wrong and len(good) >= 2:
        span = (_seconds(good[-1]) - _seconds(good[0])) % 86400
        if span > 2:
            problems.append(tr(
                "The ticks are {span} s apart from first to last; with `interval=0.1` they "
                "should come within a fraction of a second.", span=span
            ))
    notes = []
    if not problems:
        notes.append(tr(
            "Each tick is one SSE event `data: Current Time is ...` and the stream ended "
            "with `data: [DONE]`, exactly as in the source article's Express server."
        ))
    return result(name, problems, notes)
