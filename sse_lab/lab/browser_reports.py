"""Read what the learner's browser measured, in the kernel.

The browser-side pages (``/fetch``, ``/lifecycle``, ``/article``) time
everything with ``performance.now()`` and ``POST`` it to the lab server's
``/reports``. This module reads those reports back, so a notebook can chart
the browser's own numbers next to the Python client's::

    from sse_lab.lab.browser_reports import wait_for_browser, wait_for_reports, as_recording

    if wait_for_browser(server, timeout=5):               # a page was loaded at all?
        [rep] = wait_for_reports(server, "fetch", timeout=30)
        rec = as_recording(rep)                           # a sse_lab.recording.Recording
        print(summarize(rec).ttft)

Under nbval (no browser renders the notebook's IFrames) no page is ever
loaded: :func:`wait_for_browser` returns ``False`` and the notebook skips its
browser cells instead of failing.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Protocol

from sse_lab.protocol import Event
from sse_lab.recording import Arrival, Recording

__all__ = [
    "BrowserReport",
    "read_reports",
    "page_loads",
    "wait_for_browser",
    "wait_for_reports",
    "as_recording",
]


class _HasURL(Protocol):
    url: str


@dataclass(frozen=True)
class BrowserReport:
    """One report a page posted.

    Attributes:
        page: Which page sent it (``"fetch"``, ``"lifecycle"``, ``"article"``).
        kind: What it reports (``"completed"``/``"stopped"`` for the fetch
            page, the scenario name for the lifecycle page, ``""`` if none).
        seq: The server's number for it (1, 2, ...).
        received: When the server got it (``time.time()``).
        values: Everything the page sent, as JSON values; times are
            milliseconds of the browser's ``performance.now()`` clock.
    """

    page: str
    kind: str
    seq: int
    received: float
    values: dict[str, Any] = field(repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        """``values.get(key, default)``."""
        return self.values.get(key, default)


def _get(server: _HasURL | str, query: dict[str, Any]) -> dict[str, Any]:
    base = server if isinstance(server, str) else server.url
    url = f"{base.rstrip('/')}/reports?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def read_reports(
    server: _HasURL | str, page: str | None = None, *, since: int = 0
) -> list[BrowserReport]:
    """The reports the server holds (newer than ``since``), oldest first.

    Args:
        server: A :class:`~sse_lab.server.LabServer` or its base URL.
        page: Only this page's reports; ``None`` for all.
        since: Only reports with a larger ``seq``.
    """
    query: dict[str, Any] = {"since": since}
    if page is not None:
        query["page"] = page
    return [
        BrowserReport(
            page=r["page"],
            kind=str(r.get("kind") or r.get("scenario") or ""),
            seq=r["seq"],
            received=r["received"],
            values=r,
        )
        for r in _get(server, query)["reports"]
    ]


def page_loads(server: _HasURL | str) -> dict[str, int]:
    """How often each page (``fetch``, ``lifecycle``...) has been loaded."""
    return dict(_get(server, {"since": 2**31})["page_loads"])


def wait_for_browser(
    server: _HasURL | str, timeout: float = 5.0, *, page: str | None = None
) -> bool:
    """Wait until a browser has loaded one of the pages (``page``, or any).

    Returns ``False`` after ``timeout`` seconds without one: nothing renders
    the notebook's IFrames (nbval, a plain ``jupyter nbconvert --execute``).
    """
    deadline = time.monotonic() + timeout
    while True:
        loads = page_loads(server)
        if (loads.get(page, 0) if page else sum(loads.values())) > 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def wait_for_reports(
    server: _HasURL | str,
    page: str,
    *,
    n: int = 1,
    kind: str | None = None,
    since: int = 0,
    timeout: float = 30.0,
) -> list[BrowserReport]:
    """Wait for ``n`` reports of ``page`` (and ``kind``); return those that came.

    Returns fewer than ``n`` (possibly none) when ``timeout`` seconds pass
    first; it never raises for a missing browser, so a notebook can say so.
    """
    deadline = time.monotonic() + timeout
    while True:
        reports = [
            r for r in read_reports(server, page, since=since) if kind is None or r.kind == kind
        ]
        if len(reports) >= n or time.monotonic() >= deadline:
            return reports[:n] if len(reports) >= n else reports
        time.sleep(0.1)


def as_recording(report: BrowserReport) -> Recording:
    """A fetch page report as a :class:`~sse_lab.recording.Recording`.

    Times become seconds since the page sent its ``POST`` (the browser's
    clock), so :func:`sse_lab.metrics.summarize` and the lab's charts work on
    the browser's numbers exactly as on the Python client's.
    """
    if report.page != "fetch":
        raise ValueError(f"only fetch page reports carry a stream, not {report.page!r}")
    texts = report.get("texts") or []
    times = report.get("arrivalsMs") or []
    arrivals = [
        Arrival(t / 1000.0, Event(data=text, id=str(i)))
        for i, (t, text) in enumerate(zip(times, texts, strict=False))
    ]
    if report.get("done"):
        end = times[-1] / 1000.0 if times else 0.0
        arrivals.append(Arrival(end, Event(data="[DONE]")))

    def sec(key: str) -> float | None:
        value = report.get(key)
        return None if value is None else value / 1000.0

    return Recording(
        url="(browser) POST v1/chat/completions",
        transport="browser-fetch",
        status=200 if report.get("error") is None else 0,
        connect_time=sec("ttfbMs"),
        first_byte_time=sec("firstByteMs"),
        end_time=arrivals[-1].t if arrivals else None,
        arrivals=arrivals,
        requests=1,
        error=report.get("error"),
    )
