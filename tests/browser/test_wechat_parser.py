"""``/static/wx-sse.js``: SSE parsed by hand for WeChat mini-programs, tested in Chromium.

WeChat itself cannot run here. The mini-program API it uses (``wx.request`` with
``enableChunked`` and ``RequestTask.onChunkReceived``, whose ``res.data`` is an
ArrayBuffer cut anywhere) is imitated by a **shim** on ``fetch`` (``static/wx-shim.js``)
that delivers the lab server's real response bytes as ArrayBuffer chunks of random
sizes. What is tested is the parser and the page code a mini-program runs unchanged:

* every spec case of ``sse_lab.conformance``: whole, byte by byte and at random
  splits, with ``TextDecoder`` and with the hand-written UTF-8 decoder forced on;
* the hand-written decoder gives exactly ``TextDecoder``'s text on random bytes
  (valid and invalid UTF-8) at random splits;
* a Chinese answer, streamed from ``/v1/chat/completions`` in 1-2 byte chunks
  that end inside characters, comes out exact; Stop aborts and the server's
  generation ends; markup in an answer stays text;
* the mini-program example's ``utils/`` files are the tested ones.
"""

from __future__ import annotations

import json
import random
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sse_lab.conformance import CASES, Case
from sse_lab.lab.browser_reports import wait_for_reports
from sse_lab.server import LabServer
from sse_lab.server.cli import write_wechat_example

from .conftest import MARKUP, MARKUP_ANSWER, MARKUP_TOPIC
from .test_js_parser import _problems, _splits

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "sse_lab" / "server" / "static"
CHINESE_PROMPT = "你好"

#: Runs every case with every chunking, in both decoder modes, in the page.
_RUN_ALL = """async ([cases, textDecoder]) => {
  const { WxEventStreamParser } = await import('./static/wx-sse.js');
  const out = [];
  let decoder = null;
  for (const c of cases) {
    const bytes = Uint8Array.from(c.bytes);
    const results = {};
    for (const [mode, cuts] of Object.entries(c.splits)) {
      const p = new WxEventStreamParser({ textDecoder });
      decoder = p.decoder;
      const fed = [];
      let prev = 0;
      try {
        for (const cut of [...cuts, bytes.length]) {
          fed.push(...p.feed(bytes.slice(prev, cut).buffer));  // an ArrayBuffer, as wx gives
          prev = cut;
        }
        const late = p.close();
        results[mode] = { fed, late, retry: p.retry, lastEventId: p.lastEventId };
      } catch (e) {
        results[mode] = { error: String(e) };
      }
    }
    out.push(results);
  }
  return { decoder, out };
}"""

#: Streams one chat through the mini-program page code on the wx shim.
_CHAT = """async ([url, prompt, textDecoder, seed, maxChunk, stopAfter]) => {
  const { chatPage } = await import('./static/wx-chat-page.js');
  const { makeWx, mountPage } = await import('./static/wx-shim.js');
  if (!document.querySelector('[data-bind=answer]')) {  // where setData renders the answer
    const box = document.createElement('div');
    box.dataset.bind = 'answer';
    box.id = 'wx-answer';
    document.body.append(box);
  }
  const chunks = [];
  const wx = makeWx({ seed, maxChunk, log: chunks });
  const options = chatPage(wx, { url, textDecoder, every: 0 });
  const page = mountPage(options, document.body);
  page.setData({ prompt });
  const pieces = [];
  return await new Promise((resolve) => {
    const setData = page.setData;
    page.setData = (patch) => {
      setData(patch);
      if (patch.answer) pieces.push(patch.answer);
      if (stopAfter && page.data.answer.length >= stopAfter && page.data.streaming) page.onStop();
      if (patch.streaming === false) {
        const inside = chunks.slice(1).filter((c) => c.length && c[0] >= 0x80 && c[0] <= 0xbf);
        resolve({ text: page.data.answer, status: page.data.status, chunks: chunks.length,
                  maxLen: Math.max(...chunks.map((c) => c.length)),
                  insideCharacters: inside.length, shown: pieces.length });
      }
    };
    page.onSend();
  });
}"""


def _complete(server: LabServer, prompt: str) -> str:
    query = urllib.parse.urlencode({"prompt": prompt})
    with urllib.request.urlopen(f"{server.url}/complete?{query}") as resp:
        return json.loads(resp.read())["text"]


def _stats(server: LabServer) -> dict[str, Any]:
    with urllib.request.urlopen(server.url + "/stats") as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("text_decoder", ["auto", "never"], ids=["TextDecoder", "hand-written"])
def test_wx_parser_passes_every_spec_case(
    page: Any, demo_server: LabServer, text_decoder: str
) -> None:
    page.goto(demo_server.url + "/fetch")
    payload = [{"bytes": list(c.stream), "splits": _splits(c.stream, c.name)} for c in CASES]
    got = page.evaluate(_RUN_ALL, [payload, text_decoder])
    assert got["decoder"] == ("TextDecoder" if text_decoder == "auto" else "hand-written")
    results: list[tuple[Case, dict[str, Any]]] = list(zip(CASES, got["out"], strict=True))
    failed = {case.name: p for case, res in results if (p := _problems(case, res))}
    modes = len(results[0][1])
    print(
        f"wx-sse.js ({got['decoder']}) spec score: {len(CASES) - len(failed)}/{len(CASES)} "
        f"cases, each in {modes} chunkings"
    )
    assert not failed, "\n".join(f"{name}: {p[0]}" for name, p in failed.items())


def test_hand_written_utf8_decoder_matches_textdecoder(page: Any, demo_server: LabServer) -> None:
    """Random bytes (mostly UTF-8 with Chinese and emoji, some broken) at random splits."""
    rng = random.Random("wx-utf8")
    samples = []
    alphabet = "你好流式输出，。AI data:\r\n🎉é\ufeff\ud7ff\ue000\U0010ffff"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        raw = bytearray(text.encode("utf-8", "surrogatepass"))
        for _ in range(rng.randint(0, 3)):  # break it: drop, insert or flip bytes
            if raw and rng.random() < 0.5:
                del raw[rng.randrange(len(raw))]
            else:
                raw.insert(
                    rng.randint(0, len(raw)),
                    rng.choice(
                        [0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
                    ),
                )
        n = len(raw)
        cuts = sorted(rng.sample(range(1, n), rng.randint(0, n - 1))) if n > 1 else []
        samples.append({"bytes": list(raw), "cuts": cuts})
    page.goto(demo_server.url + "/fetch")
    mismatches = page.evaluate(
        """async (samples) => {
      const { Utf8StreamDecoder } = await import('./static/wx-sse.js');
      const bad = [];
      for (const s of samples) {
        const bytes = Uint8Array.from(s.bytes);
        const want = new TextDecoder('utf-8').decode(bytes);
        const d = new Utf8StreamDecoder({ textDecoder: 'never' });
        let got = '';
        let prev = 0;
        for (const cut of [...s.cuts, bytes.length]) {
          got += d.decode(bytes.slice(prev, cut));
          prev = cut;
        }
        got += d.flush();
        if (d.kind !== 'hand-written' || got !== want) bad.push({ bytes: s.bytes, got, want });
      }
      return bad;
    }""",
        samples,
    )
    assert mismatches == [], mismatches[:3]


@pytest.mark.parametrize(
    ("endpoint", "text_decoder"),
    [("v1/chat/completions", "auto"), ("v1/chat/completions", "never")],
    ids=["openai-TextDecoder", "openai-hand-written"],
)
def test_chinese_answer_split_inside_characters_comes_out_exact(
    page: Any, demo_server: LabServer, endpoint: str, text_decoder: str
) -> None:
    want = _complete(demo_server, CHINESE_PROMPT)
    assert sum(ord(c) > 0x7F for c in want) >= 10, want  # the answer is Chinese
    page.goto(demo_server.url + "/fetch")
    inside = 0
    for seed in range(3):
        got = page.evaluate(_CHAT, [endpoint, CHINESE_PROMPT, text_decoder, seed, 2, 0])
        assert got["status"] == "done", got
        assert got["text"] == want, got
        assert got["maxLen"] <= 2
        inside += got["insideCharacters"]
    assert inside >= 10, "the chunks must cut through characters for this test to mean much"


def test_stop_aborts_and_the_server_stops_generating(page: Any, demo_server: LabServer) -> None:
    want = _complete(demo_server, CHINESE_PROMPT)
    page.goto(demo_server.url + "/fetch")
    got = page.evaluate(_CHAT, ["v1/chat/completions", CHINESE_PROMPT, "never", 7, 64, 3])
    assert got["status"] == "stopped", got
    assert 3 <= len(got["text"]) < len(want) and want.startswith(got["text"])
    deadline = time.monotonic() + 10
    while _stats(demo_server)["generation_tasks"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _stats(demo_server)["generation_tasks"] == 0, "abort() must end the generation"


def test_markup_in_an_answer_stays_text(page: Any, markup_server: LabServer) -> None:
    page.goto(markup_server.url + "/fetch")
    got = page.evaluate(_CHAT, ["v1/chat/completions", MARKUP_TOPIC, "auto", 3, 5, 0])
    assert got["text"] == MARKUP_ANSWER and MARKUP in got["text"]
    box = page.locator("#wx-answer")
    assert box.text_content() == MARKUP_ANSWER  # shown as characters
    assert box.locator("img").count() == 0
    assert page.dialogs == []


def test_the_wechat_page_grades_and_streams_in_the_browser(
    page: Any, demo_server: LabServer
) -> None:
    """``/wechat``: both decoder modes graded, a Chinese chat exact, reported back."""
    page.goto(demo_server.url + "/wechat")
    page.wait_for_function("() => window.sseLab.finished", timeout=90_000)
    lab = page.evaluate("() => window.sseLab")
    assert "error" not in lab, lab.get("error")
    for mode in ("TextDecoder", "hand-written"):
        assert lab["modes"][mode]["decoder"] == mode
        assert lab["modes"][mode]["passed"] == lab["modes"][mode]["total"] == len(CASES)
    assert [c["exact"] for c in lab["chats"]] == [True, True]
    assert page.locator("#answer").text_content() == lab["expected"]
    [rep] = wait_for_reports(demo_server, "wechat", timeout=10)
    assert rep["modes"]["hand-written"]["passed"] == len(CASES)


def test_the_mini_program_example_uses_the_tested_files(tmp_path: Path) -> None:
    # What `python -m sse_lab wechat-example DIR` writes: the template plus the very
    # modules this file tests in Chromium.
    example = tmp_path / "wx"
    files = write_wechat_example(example)
    assert example / "utils" / "wx-sse.js" in files
    for name in ("wx-sse.js", "wx-chat-page.js"):
        assert (example / "utils" / name).read_bytes() == (STATIC / name).read_bytes()
    wxml = (example / "pages" / "chat" / "chat.wxml").read_text(encoding="utf-8")
    code = wxml.split("-->", 1)[1]  # after the comment that warns about rich-text
    assert "{{answer}}" in code and "rich-text" not in code
    page_js = (STATIC / "wx-chat-page.js").read_text(encoding="utf-8")
    assert "enableChunked: true" in (STATIC / "wx-sse.js").read_text(encoding="utf-8")
    assert "innerHTML" not in page_js and "rich-text nodes" in page_js  # only in the warning
    config = json.loads((example / "app.json").read_text(encoding="utf-8"))
    assert config["pages"] == ["pages/chat/chat"]
    chat_js = (example / "pages" / "chat" / "chat.js").read_text(encoding="utf-8")
    assert 'from "../../utils/wx-chat-page.js"' in chat_js


def test_the_decoder_is_chosen_by_what_the_runtime_can_do(
    page: Any, demo_server: LabServer
) -> None:
    """No TextDecoder, or a polyfill that ignores ``{stream: true}``: the hand-written one runs.

    Both happen in mini-programs (some base-library versions have no TextDecoder;
    polyfills often decode each call on its own). Here the page's TextDecoder is
    replaced by such a polyfill, then removed; a Chinese character split across
    two chunks must still come out whole.
    """
    page.goto(demo_server.url + "/fetch")
    got = page.evaluate(
        """async () => {
      const { WxEventStreamParser, hasStreamingTextDecoder } = await import('./static/wx-sse.js');
      const bytes = new TextEncoder().encode('data: 你好\\n\\n');
      const parse = () => {
        const p = new WxEventStreamParser();
        const events = [...p.feed(bytes.slice(0, 8).buffer), ...p.feed(bytes.slice(8).buffer)];
        return { decoder: p.decoder, data: events.map((e) => e.data) };
      };
      const real = globalThis.TextDecoder;
      const out = { native: { ok: hasStreamingTextDecoder(), ...parse() } };
      // A polyfill that decodes every call on its own (stream ignored).
      globalThis.TextDecoder = class {
        decode(b) { return new real().decode(b); }
      };
      out.polyfill = { ok: hasStreamingTextDecoder(), ...parse() };
      delete globalThis.TextDecoder;
      out.missing = { ok: hasStreamingTextDecoder(), ...parse() };
      globalThis.TextDecoder = real;
      return out;
    }"""
    )
    assert got["native"] == {"ok": True, "decoder": "TextDecoder", "data": ["你好"]}
    for case in ("polyfill", "missing"):
        assert got[case] == {"ok": False, "decoder": "hand-written", "data": ["你好"]}, got
