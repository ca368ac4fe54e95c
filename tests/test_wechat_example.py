"""``python -m sse_lab wechat-example DIR``: the mini-program project, ready for WeChat
DevTools, written from the package (its ``utils/`` are the modules the browser tests
check: tests/browser/test_wechat_parser.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "sse_lab" / "server" / "static"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sse_lab", "wechat-example", *args],
                          capture_output=True, text=True, timeout=60)


def test_the_command_writes_a_whole_project(tmp_path: Path) -> None:
    out = tmp_path / "wx"
    done = _run(str(out))
    assert done.returncode == 0, done.stderr
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"app.js", "app.json", "project.config.json", "README.md", "pages/chat/chat.js",
            "pages/chat/chat.wxml", "pages/chat/chat.wxss", "pages/chat/chat.json",
            "utils/wx-sse.js", "utils/wx-chat-page.js"} <= names
    assert (out / "utils" / "wx-sse.js").read_bytes() == (STATIC / "wx-sse.js").read_bytes()
    pages = json.loads((out / "app.json").read_text(encoding="utf-8"))["pages"]
    assert all((out / f"{page}.js").exists() for page in pages)
    assert "WeChat DevTools" in done.stdout


def test_a_non_empty_folder_is_refused_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me", encoding="utf-8")
    refused = _run(str(tmp_path))
    assert refused.returncode == 2 and "not empty" in refused.stderr and "--force" in refused.stderr
    assert not (tmp_path / "app.json").exists()
    forced = _run(str(tmp_path), "--force")
    assert forced.returncode == 0 and (tmp_path / "app.json").exists()
    assert (tmp_path / "mine.txt").read_text(encoding="utf-8") == "keep me"
