"""Browser URLs for the in-kernel server: direct, or through jupyter-server-proxy."""

from __future__ import annotations

import pytest

from sse_lab.lab.urls import proxy_prefix, public_url


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    monkeypatch.delenv("SSE_LAB_PROXY", raising=False)


def test_local_urls_are_direct() -> None:
    assert proxy_prefix() is None
    assert public_url(1314) == "http://127.0.0.1:1314/"
    assert public_url(1314, "/?autostart=1") == "http://127.0.0.1:1314/?autostart=1"
    assert public_url(1314, "chat") == "http://127.0.0.1:1314/chat"


def test_jupyterhub_and_binder_use_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    assert public_url(4000) == "/user/ada/proxy/4000/"
    assert public_url(4000, "/chat?prompt=hi") == "/user/ada/proxy/4000/chat?prompt=hi"
    assert public_url(4000, proxy=False) == "http://127.0.0.1:4000/"
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada")  # no trailing slash
    assert public_url(4000) == "/user/ada/proxy/4000/"


def test_told_to_use_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert public_url(4000, proxy=True) == "/proxy/4000/"
    assert public_url(4000, proxy="/base") == "/base/proxy/4000/"
    monkeypatch.setenv("SSE_LAB_PROXY", "1")
    assert public_url(4000) == "/proxy/4000/"
    monkeypatch.setenv("SSE_LAB_PROXY", "/hub/user/x/")
    assert public_url(4000) == "/hub/user/x/proxy/4000/"
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    monkeypatch.setenv("SSE_LAB_PROXY", "0")
    assert public_url(4000) == "http://127.0.0.1:4000/"


def test_accepts_a_server_object(server) -> None:
    assert public_url(server, proxy=False) == server.url + "/"
