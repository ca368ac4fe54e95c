"""The widgets of notebooks 06-07: Stop, smoothing, markdown while streaming, chat, monitor."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from sse_lab.lab.monitor import Monitor, wait_for_stats
from sse_lab.lab.widgets import (
    MAX_UPDATES_PER_SECOND,
    ChatView,
    MarkdownStreamView,
    MonitorView,
    TypewriterView,
    close_open_markdown,
    render_markdown,
)
from sse_lab.lab.widgets.throttle import RateLimiter
from sse_lab.markdown import IncrementalMarkdown
from sse_lab.model import SimulatedLLM, tokenize
from sse_lab.protocol import Event
from sse_lab.recording import Arrival
from sse_lab.server import LabServer, ServerConfig, start_server
from sse_lab.smoothing import gap_spread

MARKDOWN_ANSWER = """### Streaming, in three steps

1. The model writes **one token** at a time.
2. The server sends each as an `SSE` event.
3. The page appends it with *textContent*.

```python
for token in model.stream(prompt):
    yield f"data: {token}\\n\\n"
```

| step | who |
|------|-----|
| 1 | model |
| 2 | server |

Raw <script>alert(1)</script> stays text.
"""


@pytest.fixture(scope="module")
def lab() -> Iterator[LabServer]:
    model = SimulatedLLM(extra_answers={"markdown": MARKDOWN_ANSWER})
    srv = start_server(config=ServerConfig(model=model))
    yield srv
    srv.stop()


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        if tag not in ("br", "hr", "img", "input"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open and self.open.pop() != tag:
                pass


def tags(fragment: str) -> Tags:
    p = Tags()
    p.feed(fragment)
    p.close()
    return p


# -- Stop -------------------------------------------------------------------------
def test_stop_keeps_the_partial_text_and_ends_generation(lab: LabServer) -> None:
    prompt = "Why do AI chats stream?"
    full = SimulatedLLM().answer(prompt, 0)

    async def run() -> tuple[TypewriterView, object, int]:
        view = TypewriterView("stop me", stop_button=True)
        assert view.stop_button is not None and view.stop_button.disabled
        assert view.stop() is False  # nothing to stop yet
        task = asyncio.ensure_future(view.play(f"{lab.url}/chat?prompt={prompt}&speed=4"))
        while len(view.tokens) < 5:
            await asyncio.sleep(0.005)
        during = lab.stats()["generation_tasks"]
        assert not view.stop_button.disabled
        view.stop_button.click()  # the button calls view.stop()
        rec = await asyncio.wait_for(task, 5)
        return view, rec, during

    view, rec, during = asyncio.run(run())
    assert during >= 1
    assert view.status == "stopped" and view.error is None
    assert 5 <= len(view.tokens) < len(tokenize(full))
    assert full.startswith(view.text) and view.text == rec.text
    assert ">stopped<" in view.header.value and view.text.split()[0] in view.body.value
    assert view.stop_button.disabled
    st = wait_for_stats(lab, lambda s: s["generation_tasks"] == 0)
    assert st["generation_tasks"] == 0 and st["waited_s"] < 2


def test_stop_from_another_thread(lab: LabServer) -> None:
    async def run() -> TypewriterView:
        view = TypewriterView()
        task = asyncio.ensure_future(view.play(f"{lab.url}/chat?prompt=sse&speed=4"))
        while len(view.tokens) < 3:
            await asyncio.sleep(0.005)
        assert await asyncio.to_thread(view.stop)
        await asyncio.wait_for(task, 5)
        return view

    view = asyncio.run(run())
    assert view.status == "stopped" and view.stop() is False


def test_cancel_without_stop_still_reports_cancelled(lab: LabServer) -> None:
    async def run() -> TypewriterView:
        view = TypewriterView()
        task = asyncio.ensure_future(view.play(f"{lab.url}/chat?prompt=sse&speed=4"))
        deadline = time.monotonic() + 30  # cancel mid-stream, however busy the machine
        while not view.text and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return view

    view = asyncio.run(run())
    assert view.status == "error" and view.error == "cancelled"


# -- smoothing ---------------------------------------------------------------------
def test_smooth_typewriter_reveals_bursts_evenly(lab: LabServer) -> None:
    url = f"{lab.url}/chat?prompt=Why do AI chats stream?&speed=4&cadence=bursty"
    mid: list[tuple[str, str]] = []

    async def run() -> tuple[TypewriterView, object]:
        view = TypewriterView(smooth={"max_lag": 0.4})
        task = asyncio.ensure_future(view.play(url))
        for _ in range(40):
            await asyncio.sleep(0.02)
            mid.append((view.shown_text, view.text))
        return view, await task

    view, rec = asyncio.run(run())
    assert view.status == "done" and view.text == rec.text == view.shown_text
    a, d = view.arrival_times, view.display_times
    assert len(a) == len(d) == len(rec.tokens)
    assert all(y >= x - 1e-6 for x, y in zip(a, d, strict=True)), "never shown early"
    assert max(y - x for x, y in zip(a, d, strict=True)) < 0.4 + 0.05
    assert gap_spread(d) < 0.5 * gap_spread(a), (gap_spread(d), gap_spread(a))
    assert all(text.startswith(shown) for shown, text in mid)
    assert any(len(shown) < len(text) for shown, text in mid), "smoothing held some back"


def test_typewriter_without_options_is_unchanged() -> None:
    view = TypewriterView("plain")
    assert view.smooth is None and view.stop_button is None
    assert len(view.children) == 3 and view.arrival_times == [] == view.display_times


# -- markdown ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cut", "closed"),
    [
        ("Hello **wor", "Hello **wor**"),
        ("Hello **", "Hello "),
        ("Use `pri", "Use `pri`"),
        ("```python\nprint(1)", "```python\nprint(1)\n```"),
        ("~~~\ncode\n", "~~~\ncode\n~~~"),
        ("```\ndone\n```\nafter", "```\ndone\n```\nafter"),
        ("an *ital", "an *ital*"),
        ("- item\n- it", "- item\n- it"),
        ("2 * 3 = 6", "2 * 3 = 6"),
        ("a\n\n**b `c", "a\n\n**b `c`**"),
        ("**bold** done", "**bold** done"),
    ],
)
def test_close_open_markdown(cut: str, closed: str) -> None:
    assert close_open_markdown(cut) == closed


def test_render_markdown_escapes_raw_html_and_bad_links() -> None:
    out = render_markdown("hi <img src=x onerror=alert(1)> [x](javascript:alert(1))")
    assert "<img" not in out and "&lt;img" in out
    assert "javascript:" not in out


def test_every_prefix_renders_balanced_html() -> None:
    tokens = tokenize(MARKDOWN_ANSWER)
    text = ""
    for tok in tokens:
        text += tok
        out = render_markdown(text)
        p = tags(out)
        assert "script" not in p.tags
        assert out.count("<pre>") == out.count("</pre>")
        assert "**" not in out, (text[-30:], out[-200:])  # open bold never shows as stars


def test_markdown_view_streams_and_ends_with_the_elements(lab: LabServer) -> None:
    async def run() -> tuple[MarkdownStreamView, list[str]]:
        view = MarkdownStreamView("markdown")
        mids: list[str] = []
        task = asyncio.ensure_future(
            view.play(f"{lab.url}/chat?prompt=show me markdown&speed=6")
        )
        while not task.done():
            await asyncio.sleep(0.03)
            mids.append(view.body.value)
        await task
        return view, mids

    view, mids = asyncio.run(run())
    assert view.status == "done" and view.text == MARKDOWN_ANSWER
    final = view.html
    p = tags(final)
    for tag in ("h3", "ol", "li", "strong", "em", "code", "pre", "table", "th", "td"):
        assert tag in p.tags, tag
    assert 'class="language-python"' in final
    assert "&lt;script&gt;" in final and "<script>" not in final
    assert final in view.body.value
    assert any("<strong>" in m for m in mids[:-1]), "rendered while streaming"
    assert all(m.count("<pre>") == m.count("</pre>") for m in mids)
    assert view.renders >= 5


def test_markdown_view_coalesces_a_flood() -> None:
    async def flood() -> tuple[MarkdownStreamView, float]:
        view = MarkdownStreamView()
        view.start()
        t0 = time.perf_counter()
        for i in range(3000):  # 150 paragraphs of 20 bold words
            word = f"**w{i}**" + ("\n\n" if i % 20 == 19 else " ")
            view.feed(Arrival(time.perf_counter() - t0, Event(data=word)))
            if i % 30 == 0:
                await asyncio.sleep(0.01)
        view.finish()
        return view, time.perf_counter() - t0

    view, duration = asyncio.run(flood())
    assert duration < 10
    assert view.frontend_updates <= MAX_UPDATES_PER_SECOND * duration + 5
    assert view.body.value.count("<strong>") == 3000
    assert view.body.value.count("<p>") == 150


def test_incremental_markdown_equals_a_full_render() -> None:
    text = ""
    renderer = IncrementalMarkdown()
    for tok in tokenize(MARKDOWN_ANSWER):
        text += tok
        renderer.render(text)
    assert renderer.render(text) == render_markdown(text, partial=False)
    assert renderer.prefix and MARKDOWN_ANSWER.startswith(renderer.prefix)


# -- chat ------------------------------------------------------------------------------
def test_chat_view_send_and_stop(lab: LabServer) -> None:
    chat = ChatView(lab, prompt="hello", speed=8)
    assert "prompt=hello" in chat.url("hello") and chat.status == "idle"

    async def run() -> None:
        rec = await chat.send()
        assert rec.done and chat.text == SimulatedLLM().answer("hello", 0)
        assert not chat.send_button.disabled and chat.stop_button.disabled
        chat.prompt_box.value = "Why do AI chats stream?"
        chat.send_button.click()  # as a learner would
        await asyncio.sleep(0)
        while chat.status != "streaming" or len(chat.view.tokens) < 3:
            await asyncio.sleep(0.005)
        assert not chat.stop_button.disabled
        chat.stop_button.click()
        await asyncio.wait_for(chat.task, 5)

    asyncio.run(run())
    assert chat.status == "stopped" and len(chat.history) == 2


def test_chat_view_markdown_and_smooth(lab: LabServer) -> None:
    chat = ChatView(lab.url, speed=8, cadence="bursty", smooth=True, markdown=True)
    assert isinstance(chat.view, MarkdownStreamView) and chat.view.smooth == {}
    assert "cadence=bursty" in chat.url("x")
    rec = asyncio.run(chat.send("markdown please"))
    assert rec.text == MARKDOWN_ANSWER and "<h3>" in chat.view.body.value


# -- monitor view ---------------------------------------------------------------------
class FakeClock:
    """A clock the test moves by hand: rate checks that no machine load can upset."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_caps_grants_on_its_own_clock() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock)
    assert limiter.ready() and limiter.delay() == 0
    assert limiter.grant() == 100.0
    assert not limiter.ready() and limiter.delay() == pytest.approx(0.2)
    clock.now += 0.15
    assert limiter.delay() == pytest.approx(0.05)
    clock.now += 0.05
    assert limiter.ready()
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_monitor_view_redraws_live_at_most_hz(lab: LabServer) -> None:
    mon = Monitor(lab, interval=0.02)
    view = MonitorView(mon, hz=20)  # capped at 5
    assert view.hz == MonitorView.MAX_HZ and view.renders == 1
    with mon:
        # Wait for frames (a busy machine only makes them later), never a fixed time.
        deadline = time.monotonic() + 30
        while view.renders < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert view.renders >= 3
    assert view.flush(timeout=30)  # the last frame, drawn once the monitor stopped
    # The cap holds on the limiter's own clock: every live frame is at least
    # 1/hz after the previous one (only the final "stopped" frame is exempt).
    times = view.render_times
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(g >= 1 / MonitorView.MAX_HZ for g in gaps[:-1]), gaps
    assert view.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "stopped" in view.line.value and "open streams" in view.line.value
    view.close()
    before = view.renders
    with mon:
        mon.mark("after close")
    assert view.renders == before  # closed: no longer listening


def test_monitor_view_draws_off_the_sampling_thread(lab: LabServer) -> None:
    """A slow drawing never delays the monitor's next sample."""
    drawing_threads: set[str] = set()
    mon = Monitor(lab, interval=0.02)
    view = MonitorView(mon, hz=5)

    def spy(_m: Monitor) -> None:
        drawing_threads.add(threading.current_thread().name)

    mon.add_listener(spy)
    with mon:
        deadline = time.monotonic() + 30
        while view.renders < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        marked = mon.mark("checked")
    assert view.flush(timeout=30)
    assert drawing_threads <= {"sse_lab-monitor", threading.current_thread().name}
    assert "sse_lab-monitor-view" in {t.name for t in threading.enumerate()}
    assert marked["mark"] == "checked" and any(s.get("mark") == "checked" for s in mon.samples)
    ts = [s["t"] for s in mon.samples]
    assert ts == sorted(ts)  # a marked sample keeps the series in time order
    view.close()


def test_close_open_markdown_keeps_a_closed_fence_before_a_final_newline() -> None:
    # "$" matches before a trailing "\n": the closing fence was once taken for an open mark.
    closed = "```py\nx = 1\n```\n"
    assert close_open_markdown(closed) == closed
    assert close_open_markdown("```py\nx = 1\n") == "```py\nx = 1\n```"
