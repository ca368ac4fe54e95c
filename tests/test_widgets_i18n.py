"""The widgets speak the learner's language: every label, button and status line.

Headless, no server needed: the views are driven with :meth:`feed`/:meth:`finish` on
hand-made arrivals, and the text each one would show is read from its widget traits.
"""

from __future__ import annotations

import re

import pytest

from sse_lab.i18n import use_language
from sse_lab.lab.widgets import (
    ChatView,
    MarkdownStreamView,
    RaceView,
    TypewriterView,
    WireInspector,
)
from sse_lab.protocol import DONE, Event
from sse_lab.recording import Arrival

CJK = re.compile(r"[\u4e00-\u9fff]")


def visible_text(markup: str) -> str:
    """What a reader sees of an HTML widget's value: tags and the <style> block gone."""
    markup = re.sub(r"<style>.*?</style>", "", markup, flags=re.S)
    return re.sub(r"<[^>]+>", "", markup)


def fed_view(cls: type[TypewriterView] = TypewriterView) -> TypewriterView:
    view = cls("你好", stop_button=True)
    view.start()
    for i, token in enumerate(["你", "好", "，", "我"]):
        view.feed(Arrival(0.1 + i * 0.05, Event(data=token)))
    view.feed(Arrival(0.4, Event(data=DONE)))
    view.finish()
    return view


def test_typewriter_in_chinese() -> None:
    with use_language("zh-CN"):
        idle = TypewriterView("标题", stop_button=True)
        assert ">空闲<" in idle.header.value
        assert "尚未开始" in idle.body.value
        assert idle.stop_button is not None and idle.stop_button.description == "停止"
        assert "保留" in idle.stop_button.tooltip
        view = fed_view()
        footer = visible_text(view.footer.value)
    assert ">完成<" in view.header.value
    assert "首 token 时间" in footer and "4 个 token" in footer and "已用时" in footer
    assert "elapsed" not in footer and "tokens/s" not in footer


def test_typewriter_in_english_is_unchanged() -> None:
    with use_language("en"):
        idle = TypewriterView("title", stop_button=True)
        assert ">idle<" in idle.header.value and "not started" in idle.body.value
        assert idle.stop_button is not None and idle.stop_button.description == "Stop"
        view = fed_view()
    assert ">done<" in view.header.value
    footer = view.footer.value
    assert "TTFT <b>" in footer and "<b>4</b> tokens" in footer and "elapsed" in footer
    assert not CJK.search(visible_text(footer))


def test_unfinished_stream_and_markdown_view_in_chinese() -> None:
    with use_language("zh-CN"):
        md = MarkdownStreamView("markdown")
        assert "尚未开始" in md.body.value
        view = TypewriterView()
        view.start()
        assert "正在等待第一个 token" in view.body.value
        assert ">连接中<" in view.header.value


def test_chat_view_in_chinese() -> None:
    with use_language("zh-CN"):
        chat = ChatView("http://127.0.0.1:9")
    assert chat.send_button.description == "发送" and chat.stop_button.description == "停止"
    assert chat.prompt_box.placeholder == "随便问点什么……"
    assert "聊天" in chat.view.header.value
    with use_language("en"):
        chat = ChatView("http://127.0.0.1:9")
    assert chat.send_button.description == "Send" and "Chat" in chat.view.header.value


def test_race_view_in_chinese() -> None:
    with use_language("zh-CN"):
        race = RaceView("http://127.0.0.1:9", prompt="你好", seed=1, speed=2)
    shown = " ".join(visible_text(w.value) for w in (
        race.heading, race.blocking_head, race.blocking_body, race.blocking_foot,
        race.streaming_head, race.summary))
    for words in ("赛跑", "阻塞式", "流式", "提示词", "种子", "尚未开始", "首 token 时间",
                  "同时发出两个请求"):
        assert words in shown, words
    assert "Race" not in shown and "Blocking" not in shown


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_wire_inspector_speaks_the_language(language: str) -> None:
    with use_language(language):
        insp = WireInspector()
        insp.set("ok", id="1", split=4)
        whole, split = visible_text(insp.output.value), visible_text(insp.split_output.value)
        slider = insp.slider.description
        insp.set("x", id="a\nb")
        error = insp.error or ""
    if language == "zh-CN":
        assert "编码后的字节" in whole and "EventParser 派发的事件" in whole
        assert "在第 4 字节处切分" in split and "与整体喂入结果相同：是" in split
        assert slider == "切分位置" and "必须写在一行里" in error
    else:
        assert "Encoded bytes" in whole and "Split at byte 4 of" in split
        assert "Same result as whole: yes" in split and slider == "split at"
        assert "must stay on one line" in error and not CJK.search(whole + split + error)
