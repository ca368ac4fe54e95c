"""The browser pages speak the learner's language, from the lab's one gettext catalogue.

``static/i18n.js`` reads ``?lang=`` (else ``navigator.language``), loads
``GET /i18n/<lang>.json`` (the ``pages`` messages, compiled from the .po files by
:func:`sse_lab.i18n.translations`) and translates ``data-i18n`` elements and every
``t("...")`` the page's code says. Here, in real Chromium: a page opened with
``lang=zh-CN`` shows Chinese headings, buttons and status lines and still streams and
passes its checks; without it (Chromium here says ``en-US``) the page is English as
before; an unknown language falls back to English (the JSON route answers 400 naming
the languages the lab speaks). Also: the notebooks' URL builder adds ``lang=`` in a
Chinese session, and the WeChat page streams the thinking (``reasoning_content``)
apart from the answer.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from sse_lab.conformance import CASES
from sse_lab.i18n import translations, use_language
from sse_lab.i18n.catalogue import page_messages, problems
from sse_lab.lab.urls import public_url, with_language
from sse_lab.model import SimulatedLLM
from sse_lab.server import LabServer

HAN = re.compile(r"[\u4e00-\u9fff]")


def _json(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _finished(page: Any, timeout: float = 60.0) -> dict[str, Any]:
    page.wait_for_function("() => window.sseLab && window.sseLab.finished", timeout=timeout * 1000)
    return page.evaluate("() => window.sseLab")


# -- the catalogue route --------------------------------------------------------------------
def test_the_route_serves_every_page_message_from_the_catalogue(demo_server: LabServer) -> None:
    status, body = _json(demo_server.url + "/i18n/zh-CN.json")
    assert status == 200 and body["language"] == "zh-CN"
    ids = {m.id for m in page_messages() if m.literal}
    assert len(ids) > 60
    zh = translations("zh-CN")
    # Every page message is there, translated exactly as the .po files say (a name
    # the same in both languages, like TextDecoder, needs no entry).
    assert body["messages"] == {mid: zh.gettext(mid) for mid in ids if zh.gettext(mid) != mid}
    assert len(body["messages"]) >= len(ids) - 2
    assert body["messages"]["Send"] == "发送"  # shared with the widgets' catalogue area
    assert body["messages"]["{n} tokens"] == "{n} 个 token"
    # Aliases the lab knows; English needs nothing.
    assert _json(demo_server.url + "/i18n/zh-Hans.json")[1]["language"] == "zh-CN"
    assert _json(demo_server.url + "/i18n/en-US.json")[1] == {"language": "en", "messages": {}}


def test_an_unknown_language_is_a_400_naming_the_ones_the_lab_speaks(
    demo_server: LabServer,
) -> None:
    status, body = _json(demo_server.url + "/i18n/fr.json")
    assert status == 400
    assert body["languages"] == ["en", "zh-CN"] and "en, zh-CN" in body["error"]
    assert _json(demo_server.url + "/i18n/" + "x" * 300 + ".json")[0] == 400


def test_an_untranslated_page_message_fails_the_catalogue_check(tmp_path: Path) -> None:
    static = tmp_path / "sse_lab" / "server" / "static"
    static.mkdir(parents=True)
    (static / "new.js").write_text(
        'import { t } from "./i18n.js";\n'
        '// t("a comment is no message")\n'
        'el.textContent = t("A page message nobody translated yet", { n: 1 });\n'
        "el.title = t(`a template literal`);\n", encoding="utf-8")
    (static / "new.html").write_text(
        '<h1 data-i18n>A <code>heading</code>  nobody\n translated</h1>'
        '<input aria-label="an unlabelled box" data-i18n-label>', encoding="utf-8")
    found = {(m.id, m.literal) for m in page_messages(static, tmp_path)}
    assert ("A page message nobody translated yet", True) in found
    assert ("A `heading` nobody translated", True) in found
    assert ("an unlabelled box", True) in found
    assert not any("comment" in mid for mid, _ in found)
    out = "\n".join(problems("zh-CN", tmp_path))
    assert "'A page message nobody translated yet' is not in any zh-CN catalogue" in out
    assert "'A `heading` nobody translated' is not in any zh-CN catalogue" in out
    assert "new.js:4: the message t(`" in out  # not a literal: cannot be translated


# -- the URLs notebooks build -----------------------------------------------------------------
def test_page_urls_carry_the_notebooks_language() -> None:
    with use_language("zh-CN"):
        assert public_url(4000, "/fetch?autostart=1", proxy=False) == (
            "http://127.0.0.1:4000/fetch?autostart=1&lang=zh-CN")
        assert public_url(4000, proxy=False) == "http://127.0.0.1:4000/?lang=zh-CN"
        assert public_url(4000, "/wechat", proxy="/user/ada/") == (
            "/user/ada/proxy/4000/wechat?lang=zh-CN")
        # Streams and JSON are not pages; a lang already chosen is kept.
        assert public_url(4000, "/chat?prompt=hi", proxy=False).endswith("/chat?prompt=hi")
        assert with_language("/fetch?lang=en") == "/fetch?lang=en"
    with use_language("en"):
        assert public_url(4000, "/fetch?autostart=1", proxy=False) == (
            "http://127.0.0.1:4000/fetch?autostart=1")


# -- the pages in Chromium ----------------------------------------------------------------------
def test_the_fetch_page_in_chinese_streams_and_reports(
    page: Any, demo_server: LabServer, artifacts: Path
) -> None:
    prompt, seed = "为什么要流式输出？", 1
    page.goto(f"{demo_server.url}/fetch?"
              + urlencode({"prompt": prompt, "seed": seed, "speed": 10, "autostart": 1,
                           "lang": "zh-CN"}))
    lab = _finished(page)
    assert lab["done"] and lab["error"] is None and lab["state"] == "done"
    assert page.locator("#answer").text_content() == SimulatedLLM().answer(prompt, seed)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.locator("h1").text_content() == (
        "fetch + POST 流式输出，以及一个真正让模型停下的停止按钮")
    assert page.title() == "sse_lab · fetch + POST 流式输出与停止按钮"
    assert page.locator("#send").text_content() == "发送"
    assert page.locator("#stop").text_content() == "停止"
    assert page.locator("#status b").text_content() == "完成"
    assert f"{len(lab['tokens'])} 个 token" in page.locator("#status").text_content()
    assert page.locator("#metrics td").first.text_content() == "响应头（TTFB）"
    assert page.locator("#prompt").get_attribute("aria-label") == "提示词"
    explanation = page.locator("p.muted")
    assert HAN.search(explanation.text_content())
    codes = explanation.locator("code").all_text_contents()  # <code> elements, built as text
    assert "v1/chat/completions" in codes and "AbortController.abort()" in codes
    page.set_viewport_size({"width": 900, "height": 460})
    page.screenshot(path=str(artifacts / "fetch-page-zh-CN.png"))


def test_without_lang_the_pages_stay_english(page: Any, demo_server: LabServer) -> None:
    assert page.evaluate("navigator.language").startswith("en")
    page.goto(f"{demo_server.url}/fetch?autostart=1&speed=10")
    _finished(page)
    assert page.locator("h1").text_content() == (
        "fetch + POST streaming, and a Stop button that stops the model")
    assert page.locator("#send").text_content() == "Send"
    assert page.locator("#status b").text_content() == "done"
    assert page.locator("#metrics td").first.text_content() == "response headers (TTFB)"
    assert page.evaluate("document.documentElement.lang") == "en"


def test_an_unknown_lang_falls_back_to_english(page: Any, demo_server: LabServer) -> None:
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    page.goto(f"{demo_server.url}/fetch?autostart=1&speed=10&lang=xx")
    lab = _finished(page)
    assert lab["done"] and page.locator("#status b").text_content() == "done"
    assert page.locator("#send").text_content() == "Send"
    assert any("lang must be one of en, zh-CN" in m for m in messages), messages


def test_the_demo_chat_in_chinese(page: Any, demo_server: LabServer) -> None:
    page.goto(f"{demo_server.url}/?"
              + urlencode({"prompt": "你好", "seed": 0, "speed": 10, "autostart": 1,
                           "lang": "zh-CN"}))
    page.wait_for_function("() => window.sseLab.done", timeout=30_000)
    assert page.evaluate("window.sseLab.text") == SimulatedLLM().answer("你好", 0)
    assert page.locator("h1").text_content() == "基于服务器发送事件（SSE）的流式输出"
    assert page.locator("#start").text_content() == "发送"
    assert page.locator("option[value=chat]").text_content() == "/chat（模型 token）"
    status = page.locator("#status").text_content()
    assert status.startswith("完成") and "首 token 时间（TTFT）" in status, status


def test_parser_check_lifecycle_and_article_in_chinese(
    page: Any, demo_server: LabServer
) -> None:
    page.goto(f"{demo_server.url}/parser-check?lang=zh-CN")
    lab = _finished(page)
    assert lab["passed"] == lab["total"] == len(CASES)
    assert page.locator("#score").text_content().startswith(
        f"{len(CASES)}/{len(CASES)} 个规范用例通过")
    page.goto(f"{demo_server.url}/lifecycle?lang=zh-CN&run=named")
    lab = _finished(page)
    assert lab["results"]["named"]["text"] == "Named events need addEventListener."
    assert page.locator("#sc-named h2").text_content() == "具名事件要用 addEventListener 运行"
    assert page.locator("#run-all").text_content() == "全部运行"
    page.goto(f"{demo_server.url}/article?lang=zh-CN&interval=0.05&retry=200")
    lab = _finished(page)
    assert lab["xss"]["corrected"] == 0
    assert page.locator("h1").text_content() == "原文的页面，与改正后的页面并排对照"
    assert "载荷作为文本显示，从未执行" in page.locator("#corrected-status").text_content()


@pytest.mark.timeout(180)
def test_the_wechat_page_in_chinese_shows_thinking_apart_from_the_answer(
    page: Any, demo_server: LabServer, artifacts: Path
) -> None:
    page.goto(f"{demo_server.url}/wechat?lang=zh-CN")
    lab = _finished(page, timeout=120)
    assert "error" not in lab, lab.get("error")
    for mode in ("TextDecoder", "hand-written"):
        assert lab["modes"][mode]["passed"] == lab["modes"][mode]["total"] == len(CASES)
    assert [c["exact"] for c in lab["chats"]] == [True, True]
    assert all(c["thinking"] == "" for c in lab["chats"])  # not asked: none
    thinking = lab["thinkingChat"]
    assert thinking["exact"] and thinking["status"] == "done"
    assert len(thinking["thinking"]) > 10 and thinking["thinking"] not in lab["expected"]
    assert thinking["firstThinkingMs"] <= thinking["firstTextMs"]
    assert page.locator("#thinking").text_content() == thinking["thinking"]
    assert page.locator("#answer").text_content() == lab["expected"]
    assert page.locator("h1").text_content().startswith("微信小程序：")
    assert page.locator("#send").text_content() == "发送"
    assert page.locator("#status").text_content() == "完成"
    assert HAN.search(page.locator("#score").text_content())
    assert page.locator("#chats tr").first.locator("td").first.text_content() == "解码器"
    page.set_viewport_size({"width": 900, "height": 900})
    page.screenshot(path=str(artifacts / "wechat-page-zh-CN.png"), full_page=True)


#: streamChat on the wx shim against /v1/chat/completions, with or without onThinking.
_THINK = """async ([withThinking, textDecoder]) => {
  const { streamChat } = await import('./static/wx-sse.js');
  const { makeWx } = await import('./static/wx-shim.js');
  const order = [];
  let thinking = '', text = '';
  return await new Promise((resolve) => {
    const o = {
      url: 'v1/chat/completions', textDecoder,
      data: { model: 'qwen-plus', stream: true, enable_thinking: true, speed: 20,
              messages: [{ role: 'user', content: '你好' }] },
      onText: (p) => { text += p; order.push('text'); },
      onEnd: (why) => resolve({ why, thinking, text, order: [...new Set(order)] }),
    };
    if (withThinking) o.onThinking = (p) => { thinking += p; order.push('thinking'); };
    streamChat(makeWx({ seed: 5, maxChunk: 3 }), o);
  });
}"""


@pytest.mark.parametrize("text_decoder", ["auto", "never"], ids=["TextDecoder", "hand-written"])
def test_stream_chat_keeps_reasoning_content_apart(
    page: Any, demo_server: LabServer, text_decoder: str
) -> None:
    with urllib.request.urlopen(f"{demo_server.url}/complete?prompt=%E4%BD%A0%E5%A5%BD") as r:
        want = json.loads(r.read())["text"]
    page.goto(demo_server.url + "/fetch")
    got = page.evaluate(_THINK, [True, text_decoder])
    assert got["why"] == "done" and got["text"] == want
    assert len(got["thinking"]) > 10 and got["thinking"] not in got["text"]
    assert got["order"] == ["thinking", "text"]  # Qwen's order: all thinking, then the answer
    # Without onThinking the thinking is dropped, never mixed into the answer.
    got = page.evaluate(_THINK, [False, text_decoder])
    assert got["why"] == "done" and got["text"] == want and got["thinking"] == ""
