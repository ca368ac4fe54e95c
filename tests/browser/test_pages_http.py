"""The browser family's endpoints over plain HTTP (no browser needed).

Content types and security headers; bad input answered with a 4xx that names
the parameter and the rule; reports stored, bounded and read back.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from sse_lab.lab.browser_reports import page_loads, read_reports
from sse_lab.server import LabServer, start_server
from sse_lab.server.routes.pages import MAX_REPORT_BYTES, PAGE_CSP


@pytest.fixture
def server() -> Iterator[LabServer]:
    srv = start_server()
    yield srv
    srv.stop()


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _post(url: str, body: bytes, ctype: str = "application/json") -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.mark.parametrize(
    ("path", "ctype"),
    [
        ("/fetch", "text/html; charset=utf-8"),
        ("/lifecycle", "text/html; charset=utf-8"),
        ("/article", "text/html; charset=utf-8"),
        ("/parser-check", "text/html; charset=utf-8"),
        ("/static/sse-parser.js", "text/javascript; charset=utf-8"),
        ("/static/lab.css", "text/css; charset=utf-8"),
    ],
)
def test_pages_and_files_have_their_type_and_a_strict_policy(
    server: LabServer, path: str, ctype: str
) -> None:
    status, headers, _ = _get(server.url + path)
    assert status == 200 and headers["Content-Type"] == ctype
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == PAGE_CSP
    assert "Access-Control-Allow-Origin" not in headers


def test_static_serves_only_known_types_inside_its_directory(server: LabServer) -> None:
    assert _get(server.url + "/static/../routes/pages.py")[0] in (403, 404)
    assert _get(server.url + "/static/nothing.js")[0] == 404


def test_pages_use_text_not_html_for_stream_data(server: LabServer) -> None:
    for name in ("fetch.js", "lifecycle.js", "article.js", "article-corrected.js"):
        js = _get(f"{server.url}/static/{name}")[2].decode()
        assert "innerHTML" not in js and "outerHTML" not in js and "insertAdjacentHTML" not in js


def test_reports_round_trip_and_reject_bad_input(server: LabServer) -> None:
    url = server.url + "/reports"
    assert _post(url, json.dumps({"page": "fetch", "kind": "completed", "x": 1}).encode()) == (
        200,
        {"seq": 1},
    )
    status, text = _post(url, b'{"page": "fetch"}', ctype="text/plain")
    assert status == 415 and "Content-Type must be application/json" in text
    status, text = _post(url, b"[1, 2]")
    assert status == 400 and "'page'" in text
    status, text = _post(url, b"{nope")
    assert status == 400 and "valid JSON" in text
    status, text = _post(url, b'{"page": "x", "pad": "' + b"x" * MAX_REPORT_BYTES + b'"}')
    assert status == 413
    status, _, body = _get(url + "?since=-1")
    assert status == 400 and b"since" in body
    [rep] = read_reports(server)
    assert rep.page == "fetch" and rep.kind == "completed" and rep["x"] == 1
    _get(server.url + "/fetch")
    assert page_loads(server) == {"fetch": 1}


@pytest.mark.parametrize(
    ("query", "name"),
    [("interval=x", "interval"), ("interval=99", "interval"), ("per=nan", "per")],
)
def test_lifecycle_arguments_are_checked(server: LabServer, query: str, name: str) -> None:
    status, _, body = _get(f"{server.url}/lifecycle/ends?{query}")
    assert status == 400 and name in body.decode()


def test_cancel_needs_json_and_a_plausible_id(server: LabServer) -> None:
    url = server.url + "/cancel"
    assert _post(url, b'{"request": "x"}')[0] == 400
    assert _post(url, b'{"request": "0123456789abcdef"}', ctype="text/plain")[0] == 415
    assert _post(url, b'{"request": "0123456789abcdef"}') == (200, {"cancelled": False})
