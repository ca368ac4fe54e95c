"""The browser side: pages, their static files, report-back, and lifecycle streams.

Routes (all relative links, so the pages work at ``http://127.0.0.1:PORT/`` and
behind jupyter-server-proxy at ``/proxy/PORT/``):

* ``GET /static/<file>``  the package's ``server/static`` directory, with
  explicit content types, ``X-Content-Type-Options: nosniff`` and a
  Content-Security-Policy of ``'self'`` (:data:`PAGE_CSP`).
* ``GET /fetch``       the fetch chat: ``POST /v1/chat/completions`` read with
  ``fetch`` + ``ReadableStream`` + ``/static/sse-parser.js``; Stop aborts.
* ``GET /lifecycle``   EventSource's lifecycle, scenario by scenario.
* ``GET /parser-check`` runs ``sse-parser.js`` on every spec case
  (``GET /conformance/cases.json``) in this browser and reports the score.
* ``GET /wechat``      a WeChat mini-program's streaming, in a browser: ``wx-sse.js``
  (SSE parsed by hand from ``wx.request`` ArrayBuffer chunks, UTF-8 decoded by hand
  when ``TextDecoder`` is missing) graded on the spec cases and fed the chat through
  ``wx-shim.js``, a stand-in ``wx`` built on ``fetch`` (``python -m sse_lab
  wechat-example DIR`` writes the mini-program app itself).
* ``GET /i18n/<lang>.json`` the pages' messages in ``lang`` (``{"language", "messages":
  {English: translation}}``) from the lab's gettext catalogue (area ``pages``), for
  ``static/i18n.js``; a language the lab does not speak is a 400 naming those it does.
  Every page takes ``?lang=zh-CN`` (else the browser's language).
* ``GET /article``     the source article's page next to the corrected one;
  ``/article-original`` and ``/article-corrected`` are the two frames.
* ``POST /reports``    what a page measured (JSON); ``GET /reports`` reads them
  back (``?since=N&page=NAME``) -- :mod:`sse_lab.lab.browser_reports` does.
* ``POST /cancel``     stop a stream by the id its request carried
  (:class:`CancelHandler`: what makes Stop work behind jupyter-server-proxy).
* ``/lifecycle/...``   streams with one lifecycle behaviour each: ``ends``
  (ends after ``per`` events; resumes after ``Last-Event-ID``), ``gone`` (204
  once the browser reconnects), ``wrong-type`` (``text/plain``), ``named``
  (``event:`` names), ``slow`` (one event per ``interval`` s for ``seconds``
  s), ``article`` (the article's clock carrying an XSS payload); every request
  is logged with its ``Last-Event-ID`` at ``GET /lifecycle/log?tag=``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import weakref
from collections import Counter, deque
from importlib import resources
from typing import Any

import tornado.web

from sse_lab.conformance import CASES
from sse_lab.i18n import LANGUAGES, normalize_language, translations
from sse_lab.i18n.catalogue import page_messages
from sse_lab.protocol import DONE
from sse_lab.server.context import ServerContext
from sse_lab.server.handler import ContextHandler, SSEHandler
from sse_lab.server.tornado_internals import reason

__all__ = [
    "PAGE_CSP",
    "REQUEST_ID_HEADER",
    "ORIGINAL_CSP",
    "XSS_PAYLOAD",
    "BrowserState",
    "ReportStore",
    "RequestLog",
    "browser_state",
    "routes",
]

#: The Content-Security-Policy of every page and static file: scripts, styles
#: and connections from the lab server only (no inline script, so markup that
#: slips into the DOM cannot run); framing by the server itself (the
#: jupyter-server-proxy case: same origin) or by a page on the loopback
#: interface (JupyterLab on 127.0.0.1/localhost showing the page in an IFrame).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self' http://127.0.0.1:* http://localhost:*"
)

#: The article's page as written has an inline-HTML sink, so it is served the
#: way an unprotected site is (inline handlers run) but inside a CSP sandbox:
#: an opaque origin that can reach neither the lab server's data nor
#: JupyterLab, even when opened outside its sandboxed iframe. ``img-src data:``
#: blocks the payload's ``src=x`` before any request (``onerror`` still fires).
ORIGINAL_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self'; img-src data:; "
    "frame-ancestors 'self' http://127.0.0.1:* http://localhost:*"
)

#: What the article stream's third message carries: markup whose ``onerror``
#: runs only if a page inserts the data as HTML. It tells the parent frame so
#: (``postMessage``), which is how the lab sees that it ran.
XSS_PAYLOAD = (
    "<img src=x onerror=\"document.body.classList.add('pwned');"
    "parent.postMessage({xss: 'executed'}, '*')\">"
)

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

#: Bytes a ``POST /reports`` body may have; a page's timings fit many times over.
MAX_REPORT_BYTES = 256 * 1024
#: Reports (and lifecycle requests) kept; older ones are dropped first.
MAX_KEPT = 500


def static_dir() -> str:
    """The directory ``/static/`` serves (``sse_lab/server/static``)."""
    return str(resources.files("sse_lab.server").joinpath("static"))


def _protect(handler: tornado.web.RequestHandler, csp: str = PAGE_CSP) -> None:
    handler.set_header("Content-Security-Policy", csp)
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.set_header("Referrer-Policy", "no-referrer")


class StaticHandler(tornado.web.StaticFileHandler):
    """``/static/<file>``: known types only, never sniffed, always revalidated."""

    def initialize(self, context: ServerContext) -> None:  # type: ignore[override]
        """Serve :func:`static_dir` (the context is not needed for files)."""
        super().initialize(path=static_dir())

    def set_extra_headers(self, path: str) -> None:
        _protect(self)
        # A learner editing a file sees the change on reload.
        self.set_header("Cache-Control", "no-cache")

    def get_content_type(self) -> str:
        assert self.absolute_path is not None
        for ext, ctype in _CONTENT_TYPES.items():
            if self.absolute_path.endswith(ext):
                return ctype
        raise tornado.web.HTTPError(404, "only .html, .js, .css, .svg and .png are served")


class PageFileHandler(ContextHandler):
    """One HTML page from the static directory at a short path (``/fetch``...).

    Subclasses name the file (``page``) and may loosen the policy (``csp``).
    Each load is counted in :attr:`ReportStore.page_loads`: a notebook learns
    from it whether a browser is showing its pages at all (under nbval none is).
    """

    page = "index.html"
    csp = PAGE_CSP

    def get(self) -> None:
        browser_state(self.context).reports.page_loads[self.request.path.lstrip("/")] += 1
        page = resources.files("sse_lab.server").joinpath("static", self.page).read_bytes()
        _protect(self, self.csp)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(page)


def _page(name: str, csp: str = PAGE_CSP) -> type[PageFileHandler]:
    title = "".join(part.title() for part in name.removesuffix(".html").split("-"))
    return type(f"{title}Page", (PageFileHandler,), {"page": name, "csp": csp})


class CasesHandler(ContextHandler):
    """``GET /conformance/cases.json``: the spec cases, for the parser check page.

    Each case: ``name``, ``rule``, ``stream`` (the bytes, base64), ``events``
    (``{type, data, lastEventId}``) and the final ``retry``/``lastEventId``.
    """

    _body: bytes | None = None

    def get(self) -> None:
        if CasesHandler._body is None:
            cases = [
                {
                    "name": c.name,
                    "rule": c.rule,
                    "stream": base64.b64encode(c.stream).decode("ascii"),
                    "events": [
                        {"type": e.event, "data": e.data, "lastEventId": e.id} for e in c.events
                    ],
                    "retry": c.retry,
                    "lastEventId": c.last_event_id,
                }
                for c in CASES
            ]
            CasesHandler._body = json.dumps(cases, ensure_ascii=False).encode("utf-8")
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(CasesHandler._body)


class I18nHandler(ContextHandler):
    """``GET /i18n/<lang>.json``: the pages' translations, from the compiled catalogue.

    The message ids are the ones the pages use (:func:`~sse_lab.i18n.catalogue.page_messages`
    reads them from the static files once); the texts come from
    :func:`sse_lab.i18n.translations`, so pages, charts and widgets share one catalogue.
    """

    _ids: tuple[str, ...] | None = None

    def get(self, asked: str) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-cache")
        language = normalize_language(asked) if len(asked) <= 35 else None
        if language is None:
            self.set_status(400)
            self.finish(json.dumps({"error": f"lang must be one of {', '.join(LANGUAGES)}",
                                    "languages": list(LANGUAGES)}))
            return
        if I18nHandler._ids is None:
            I18nHandler._ids = tuple(sorted({m.id for m in page_messages() if m.literal}))
        catalogue = translations(language)
        messages = {mid: catalogue.gettext(mid) for mid in I18nHandler._ids}
        self.finish(json.dumps(
            {"language": language,
             "messages": {mid: text for mid, text in messages.items() if text != mid}},
            ensure_ascii=False))


# -- report-back --------------------------------------------------------------------------
class ReportStore:
    """The last :data:`MAX_KEPT` reports the pages posted, numbered from 1."""

    def __init__(self, maxlen: int = MAX_KEPT) -> None:
        self.reports: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self.count = 0
        self.page_loads: Counter[str] = Counter()

    def add(self, report: dict[str, Any]) -> int:
        self.count += 1
        self.reports.append({**report, "seq": self.count, "received": time.time()})
        return self.count

    def since(self, seq: int, page: str | None = None) -> list[dict[str, Any]]:
        return [
            r for r in self.reports if r["seq"] > seq and (page is None or r.get("page") == page)
        ]


class BrowserState:
    """What the browser family keeps per server: reports and the lifecycle log."""

    def __init__(self) -> None:
        self.reports = ReportStore()
        self.log = RequestLog()


_STATES: weakref.WeakKeyDictionary[ServerContext, BrowserState] = weakref.WeakKeyDictionary()


def browser_state(context: ServerContext) -> BrowserState:
    """The :class:`BrowserState` of the server that owns ``context`` (made on first use)."""
    state = _STATES.get(context)
    if state is None:
        state = _STATES[context] = BrowserState()
    return state


class ReportHandler(ContextHandler):
    """``POST /reports``: store one JSON object; ``GET /reports``: read them back."""

    def initialize(self, context: ServerContext) -> None:
        super().initialize(context)
        self.store = browser_state(context).reports

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-cache")
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("X-Content-Type-Options", "nosniff")
        super().set_default_headers()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(json.dumps({"error": reason(self)}))

    def post(self) -> None:
        # Only application/json: a cross-site form cannot send it without a
        # CORS preflight, which this server never grants.
        ctype = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise tornado.web.HTTPError(415, reason="Content-Type must be application/json")
        if len(self.request.body) > MAX_REPORT_BYTES:
            raise tornado.web.HTTPError(
                413, reason=f"a report must be at most {MAX_REPORT_BYTES} bytes"
            )
        try:
            report = json.loads(self.request.body)
        except (ValueError, UnicodeDecodeError):
            raise tornado.web.HTTPError(400, reason="the body must be valid JSON") from None
        if not isinstance(report, dict) or not isinstance(report.get("page"), str):
            raise tornado.web.HTTPError(
                400, reason="a report must be a JSON object with a string 'page'"
            )
        self.finish(json.dumps({"seq": self.store.add(report)}))

    def get(self) -> None:
        raw = self.get_argument("since", "0")
        if not raw.isascii() or not raw.isdigit():
            raise tornado.web.HTTPError(400, reason="since must be a non-negative integer")
        page = self.get_argument("page", None)
        store = self.store
        self.finish(
            json.dumps(
                {
                    "count": store.count,
                    "page_loads": dict(store.page_loads),
                    "reports": store.since(int(raw), page),
                }
            )
        )


# -- cancel ------------------------------------------------------------------------------
#: The request header a page sets on a stream it may want to cancel by id.
REQUEST_ID_HEADER = "X-SSE-Lab-Request"


class CancelHandler(ContextHandler):
    """``POST /cancel`` ``{"request": ID}``: stop the stream whose request carried that id.

    Closing the connection is enough when the browser talks to this server
    directly: the handler's ``on_connection_close`` cancels the generation.
    jupyter-server-proxy (4.6) does not pass a client's disconnect on to the
    upstream request, so behind it the generation would go on to the end of
    the answer; the fetch page therefore also sends this request on Stop. The
    id is random and known only to the page that started the stream.
    Answers ``{"cancelled": true}`` if the stream was still running.
    """

    def post(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        ctype = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise tornado.web.HTTPError(415, reason="Content-Type must be application/json")
        try:
            body = json.loads(self.request.body)
        except (ValueError, UnicodeDecodeError):
            raise tornado.web.HTTPError(400, reason="the body must be valid JSON") from None
        request_id = body.get("request") if isinstance(body, dict) else None
        if not isinstance(request_id, str) or not 16 <= len(request_id) <= 128:
            raise tornado.web.HTTPError(400, reason="request must be a string of 16-128 chars")
        found = [
            h
            for h in list(self.context.open)
            if h.request.headers.get(REQUEST_ID_HEADER) == request_id
        ]
        for handler in found:
            handler.abort("cancelled by the client")
        self.finish(json.dumps({"cancelled": bool(found)}))


# -- lifecycle streams --------------------------------------------------------------------
class RequestLog:
    """What the lifecycle endpoints were asked, as the server saw it."""

    def __init__(self, maxlen: int = MAX_KEPT) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=maxlen)

    def add(self, handler: tornado.web.RequestHandler, answer: str) -> None:
        self.entries.append(
            {
                "path": handler.request.path.rsplit("/", 1)[-1],
                "tag": handler.get_argument("tag", ""),
                "last_event_id": handler.request.headers.get("Last-Event-ID"),
                "answer": answer,
                "t": time.time(),
            }
        )

    def for_tag(self, tag: str | None) -> list[dict[str, Any]]:
        return [e for e in self.entries if tag is None or e["tag"] == tag]


def _bounded(handler: tornado.web.RequestHandler, name: str, default: float, top: float) -> float:
    raw = handler.get_argument(name, None)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise tornado.web.HTTPError(400, f"{name} must be a number") from None
    if not 0 <= value <= top:  # also rejects NaN
        raise tornado.web.HTTPError(400, f"{name} must be between 0 and {top:g}")
    return value


class _LoggedStream(SSEHandler):
    """An SSE endpoint that logs each request (and its Last-Event-ID)."""

    log: RequestLog
    answer = "stream"

    def initialize(self, context: ServerContext) -> None:
        super().initialize(context)
        self.log = browser_state(context).log

    def parse_arguments(self) -> None:
        self.interval = _bounded(self, "interval", 0.3, 5.0)
        self.retry_ms = int(_bounded(self, "retry", 500, 60_000))
        self.resume = _resume(self)

    async def get(self, *args: str) -> None:
        self.log.add(self, self.answer)
        await super().get(*args)


def _resume(handler: tornado.web.RequestHandler) -> int:
    raw = handler.request.headers.get("Last-Event-ID", "")
    return int(raw) + 1 if raw.isascii() and raw.isdigit() else 0


class EndsHandler(_LoggedStream):
    """``/lifecycle/ends``: ``per`` events, then the response ends (no ``[DONE]``).

    The browser reconnects after ``retry`` ms with ``Last-Event-ID``; the
    stream goes on from the next id; after ``total`` events comes ``[DONE]``.
    """

    def parse_arguments(self) -> None:
        super().parse_arguments()
        self.per = int(_bounded(self, "per", 3, 100))
        self.total = int(_bounded(self, "total", 9, 1000))

    async def stream(self) -> None:
        stop = min(self.total, self.resume + max(1, self.per))
        for i in range(self.resume, stop):
            await self.send(f"event {i}", id=str(i), retry=self.retry_ms)
            await asyncio.sleep(self.interval)
        if stop >= self.total:
            await self.send(DONE, id=str(self.total))


class GoneHandler(_LoggedStream):
    """``/lifecycle/gone``: two events, end; a reconnection gets 204 No Content.

    A 204 tells EventSource to stop for good: readyState goes to CLOSED and
    no further request comes, whatever ``retry`` said.
    """

    async def get(self, *args: str) -> None:
        if self.request.headers.get("Last-Event-ID") is not None:
            self.log.add(self, "204")
            self.set_status(204)
            self.clear_header("Content-Type")
            self.finish()
            return
        await super().get(*args)

    async def stream(self) -> None:
        for i in range(2):
            await self.send(f"event {i}", id=str(i), retry=self.retry_ms)
            await asyncio.sleep(self.interval)


class WrongTypeHandler(ContextHandler):
    """``/lifecycle/wrong-type``: 200 with ``text/plain``: EventSource fails, no retry."""

    def initialize(self, context: ServerContext) -> None:
        super().initialize(context)
        self.log = browser_state(context).log

    def get(self) -> None:
        self.log.add(self, "text/plain")
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish("retry: 100\n\ndata: this is not an event stream\n\n")


class NamedHandler(_LoggedStream):
    """``/lifecycle/named``: ``event: status``, ``token``s, ``usage``, then ``done``.

    ``onmessage`` sees none of them (it gets only type ``message``); a page
    listens with ``addEventListener(name, ...)``.
    """

    async def stream(self) -> None:
        words = ["Named", " events", " need", " addEventListener", "."]
        await self.send("thinking", event="status", retry=self.retry_ms)
        for i, word in enumerate(words):
            await asyncio.sleep(self.interval)
            await self.send(word, event="token", id=str(i))
        await self.send("this one is a plain message", id=str(len(words)))
        await self.send(json.dumps({"tokens": len(words)}), event="usage")
        await self.send("bye", event="done")


class SlowHandler(_LoggedStream):
    """``/lifecycle/slow``: one event every ``interval`` s for ``seconds`` s, then [DONE]."""

    def parse_arguments(self) -> None:
        super().parse_arguments()
        self.seconds = _bounded(self, "seconds", 5.0, 60.0)

    async def stream(self) -> None:
        deadline = time.monotonic() + self.seconds
        i = 0
        while time.monotonic() < deadline:
            await self.send(f"tick {i}", id=str(i), retry=self.retry_ms)
            i += 1
            await asyncio.sleep(max(0.05, self.interval))
        await self.send(DONE)


class ArticleStreamHandler(_LoggedStream):
    """``/lifecycle/article``: the article's clock, with :data:`XSS_PAYLOAD` as event 3."""

    def parse_arguments(self) -> None:
        super().parse_arguments()
        self.count = int(_bounded(self, "count", 5, 100))

    async def stream(self) -> None:
        for i in range(self.count):
            text = XSS_PAYLOAD if i == 2 else f"Current Time is {time.strftime('%H:%M:%S')}"
            await self.send(text, id=str(i), retry=self.retry_ms)
            await asyncio.sleep(self.interval)
        await self.send(DONE)


class LogHandler(ContextHandler):
    """``GET /lifecycle/log?tag=``: the lifecycle requests, oldest first."""

    def initialize(self, context: ServerContext) -> None:
        super().initialize(context)
        self.log = browser_state(context).log

    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(json.dumps(self.log.for_tag(self.get_argument("tag", None))))


def routes(context: ServerContext) -> list[tuple[Any, ...]]:
    """The browser family's routes (pages, static files, reports, lifecycle streams)."""
    browser_state(context)  # one per server, from the start
    kw = {"context": context}
    return [
        (r"/static/(.*)", StaticHandler, kw),
        (r"/fetch", _page("fetch.html"), kw),
        (r"/lifecycle", _page("lifecycle.html"), kw),
        (r"/parser-check", _page("parser-check.html"), kw),
        (r"/wechat", _page("wechat.html"), kw),
        (r"/article", _page("article.html"), kw),
        (r"/article-original", _page("article-original.html", ORIGINAL_CSP), kw),
        (r"/article-corrected", _page("article-corrected.html"), kw),
        (r"/conformance/cases.json", CasesHandler, kw),
        (r"/i18n/([^/]+)\.json", I18nHandler, kw),
        (r"/reports", ReportHandler, kw),
        (r"/cancel", CancelHandler, kw),
        (r"/lifecycle/ends", EndsHandler, kw),
        (r"/lifecycle/gone", GoneHandler, kw),
        (r"/lifecycle/wrong-type", WrongTypeHandler, kw),
        (r"/lifecycle/named", NamedHandler, kw),
        (r"/lifecycle/slow", SlowHandler, kw),
        (r"/lifecycle/article", ArticleStreamHandler, kw),
        (r"/lifecycle/log", LogHandler, kw),
    ]
