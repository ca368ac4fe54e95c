"""URLs a *browser* can open for an in-kernel server, locally or behind a hub.

The server listens on the kernel's 127.0.0.1. A browser on the same machine
reaches it directly; on JupyterHub or Binder the browser is elsewhere and can
only reach kernel ports through jupyter-server-proxy, at
``{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/``. The proxy streams a response
chunk by chunk only when the request says ``Accept: text/event-stream``,
which is exactly what ``EventSource`` sends; anything else is buffered whole.
"""

from __future__ import annotations

import os
from typing import Protocol

__all__ = ["proxy_prefix", "public_url"]


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


def public_url(
    server: _HasPort | int, path: str = "/", *, proxy: bool | str | None = None
) -> str:
    """A URL for ``path`` on the lab server that the user's browser can open.

    Args:
        server: A :class:`~sse_lab.server.LabServer` or a port number.
        path: Path (and query) on the lab server, e.g. ``"/?autostart=1"``.
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
