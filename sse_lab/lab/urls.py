"""URLs a *browser* can open for an in-kernel server, locally or behind a hub.

The server listens on the kernel's 127.0.0.1. A browser on the same machine
reaches it directly; on JupyterHub or Binder the browser is elsewhere and can
only reach kernel ports through jupyter-server-proxy, at
``{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/``. The proxy streams a response
chunk by chunk only when the request says ``Accept: text/event-stream``,
which is exactly what ``EventSource`` sends; anything else is buffered whole.

The lab's pages speak the notebook's language: :func:`public_url` adds
``lang=zh-CN`` (:func:`sse_lab.i18n.get_language`) to a page's URL when the
lab does not speak English, so the IFrames of a zh-CN notebook show Chinese.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import Protocol

from sse_lab.i18n import get_language

__all__ = ["PAGES", "proxy_prefix", "public_url", "with_language"]

#: The lab server's pages (they read ``?lang=``); streams and JSON do not need it.
PAGES = frozenset({"/", "/fetch", "/lifecycle", "/parser-check", "/wechat", "/article"})


class _HasPort(Protocol):
    port: int


def proxy_prefix() -> str | None:
    """The Jupyter server's base path when the browser must use the proxy.

    ``SSE_LAB_PROXY`` overrides the detection: ``0`` forces direct URLs,
    ``1`` forces the proxy at the Jupyter server's root, any other value
    starting with ``/`` is used as the prefix. Otherwise JupyterHub and
    Binder are detected by ``JUPYTERHUB_SERVICE_PREFIX`` (e.g. ``/user/ada/``).
    """
    forced = os.environ.get("SSE_LAB_PROXY", "").strip()
    if forced == "0":
        return None
    if forced.startswith("/"):
        return forced if forced.endswith("/") else forced + "/"
    hub = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if hub:
        return hub if hub.endswith("/") else hub + "/"
    if forced == "1":
        return "/"
    return None


def with_language(path: str, language: str | None = None) -> str:
    """``path`` with ``lang=<language>`` added when it is a page and not English.

    ``language`` defaults to :func:`sse_lab.i18n.get_language`; a ``lang`` already
    in the query is kept.
    """
    language = get_language() if language is None else language
    parts = urllib.parse.urlsplit(path)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if language == "en" or parts.path not in PAGES or any(k == "lang" for k, _ in query):
        return path
    # Appended as is: the query the caller wrote stays byte for byte.
    extra = urllib.parse.urlencode({"lang": language})
    return urllib.parse.urlunsplit(
        parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def public_url(
    server: _HasPort | int, path: str = "/", *, proxy: bool | str | None = None
) -> str:
    """A URL for ``path`` on the lab server that the user's browser can open.

    Args:
        server: A :class:`~sse_lab.server.LabServer` or a port number.
        path: Path (and query) on the lab server, e.g. ``"/?autostart=1"``; a page
            (:data:`PAGES`) gets ``lang=`` when the lab speaks another language than
            English (:func:`with_language`).
        proxy: ``None`` detects (see :func:`proxy_prefix`); ``True`` forces the
            proxy path (at the detected prefix, else ``/``); ``False`` forces a
            direct ``http://127.0.0.1:PORT`` URL; a string is the prefix to use.

    Returns:
        ``http://127.0.0.1:PORT/path`` directly, or ``/PREFIX/proxy/PORT/path``
        behind jupyter-server-proxy (relative to the Jupyter server's origin).
    """
    port = server if isinstance(server, int) else server.port
    if not path.startswith("/"):
        path = "/" + path
    path = with_language(path)
    if proxy is False:
        prefix = None
    elif isinstance(proxy, str):
        prefix = proxy if proxy.endswith("/") else proxy + "/"
    else:
        prefix = proxy_prefix()
        if proxy is True and prefix is None:
            prefix = "/"
    if prefix is None:
        return f"http://127.0.0.1:{port}{path}"
    return f"{prefix}proxy/{port}{path}"
