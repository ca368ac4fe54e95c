"""The notebook widgets, headless: real server, real sockets, no front end."""

from __future__ import annotations

import asyncio
import html
import threading
import time
from collections.abc import Iterator

import pytest

from sse_lab.client import HTTPError
from sse_lab.lab.widgets import MAX_UPDATES_PER_SECOND, RaceView, TypewriterView, WireInspector
from sse_lab.model import SOURCE_ANSWER, SimulatedLLM
from sse_lab.protocol import Event, encode_event
from sse_lab.recording import Arrival
from sse_lab.server import LabServer, start_server


@pytest.fixture(scope="module")
def lab_server() -> Iterator[LabServer]:
    srv = start_server()
    yield srv
    srv.stop()


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The largest number of timestamps inside any window of ``window`` seconds."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


# -- TypewriterView ----------------------------------------------------------------
def test_typewriter_plays_the_whole_answer(lab_server: LabServer) -> None:
    prompt, seed = "hello, who are you?", 3
    view = TypewriterView("Chat")
    assert view.status == "idle"
    rec = asyncio.run(view.play(f"{lab_server.url}/chat?prompt={prompt}&seed={seed}&speed=8"))
    expected = "".join(SimulatedLLM().tokens(prompt, seed))
    assert view.text == expected == rec.text
    assert view.status == "done" and view.error is None
    assert rec.done and view.recording is rec
    assert view.ttft == rec.token_times[0]
    assert html.escape(expected) in view.body.value
    assert ">done<" in view.header.value and "Chat" in view.header.value
    assert "TTFT" in view.footer.value and f"<b>{len(rec.tokens)}</b> tokens" in view.footer.value
    assert "[DONE]" not in view.body.value


def test_typewriter_shows_errors_and_reraises(lab_server: LabServer) -> None:
    view = TypewriterView()
    with pytest.raises(HTTPError):
        asyncio.run(view.play(f"{lab_server.url}/no-such-stream"))
    assert view.status == "error"
    assert "404" in (view.error or "") and "404" in view.footer.value


def test_typewriter_coalesces_a_flood_of_tokens() -> None:
    n = 2000

    async def flood() -> tuple[TypewriterView, float]:
        view = TypewriterView()
        view.start()
        t0 = time.perf_counter()
        fed = 0
        while fed < n:  # 2,000 tokens/s, fed in bursts as fast as the loop allows
            due = min(n, int((time.perf_counter() - t0) * n) + 1)
            while fed < due:
                view.feed(Arrival(time.perf_counter() - t0, Event(data=f"w{fed} ")))
                fed += 1
            await asyncio.sleep(0.0005)
        duration = time.perf_counter() - t0
        view.finish()
        return view, duration

    view, duration = asyncio.run(flood())
    expected = "".join(f"w{i} " for i in range(n))
    assert 0.8 < duration < 10
    assert view.text == expected and view.status == "done"
    assert view.body.value.count(" w") == n - 1  # the final push holds every token
    assert html.escape(expected) in view.body.value
    pushes = view.frontend_updates
    assert pushes == len(view.push_times)
    assert pushes <= MAX_UPDATES_PER_SECOND * duration + 5, (pushes, duration)
    assert max_in_window(view.push_times) <= 35
    assert pushes >= 10  # still live: the text moved while it streamed


def test_typewriter_can_be_fed_from_a_thread() -> None:
    view = TypewriterView("from a thread")

    def worker() -> None:
        view.start()
        t0 = time.perf_counter()
        for i in range(3000):
            view.feed(Arrival(time.perf_counter() - t0, Event(data=f"{i},")))
            if i % 50 == 0:
                time.sleep(0.01)
        view.finish()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert view.status == "done"
    assert view.text == "".join(f"{i}," for i in range(3000))
    assert view.text in view.body.value
    assert max_in_window(view.push_times) <= 35


def test_typewriter_escapes_token_html() -> None:
    view = TypewriterView(title="<b>title</b>")
    view.start()
    evil = "<img src=x onerror=alert(1)>"
    for t, piece in enumerate(["<img", " src=x", " onerror=alert(1)>"]):
        view.feed(Arrival(0.01 * (t + 1), Event(data=piece)))
    view.finish()
    assert view.text == evil
    assert "<img" not in view.body.value
    assert html.escape(evil) in view.body.value
    assert "<b>title</b>" not in view.header.value and "&lt;b&gt;title" in view.header.value


def test_typewriter_finish_shows_a_recording_directly(lab_server: LabServer) -> None:
    from sse_lab.client import record

    rec = asyncio.run(record(f"{lab_server.url}/chat?prompt=sse&speed=20"))
    view = TypewriterView()
    view.finish(rec)
    assert view.text == rec.text and view.status == "done"
    assert view.elapsed == rec.end_time


# -- RaceView ------------------------------------------------------------------
def test_race_blocking_vs_streaming(lab_server: LabServer) -> None:
    race = RaceView(lab_server.url, "why stream tokens?", seed=1, speed=8)
    assert "await race.run()" in race.summary.value

    async def watch() -> tuple[dict, str, str]:
        task = asyncio.ensure_future(race.run())
        # mid-race: the first words on the right while the left still spins
        deadline = time.monotonic() + 30
        while not race.typewriter.text and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        mid = (race.blocking_body.value, race.typewriter.text)
        return await task, *mid

    t0 = time.perf_counter()
    result, mid_blocking, mid_streaming = asyncio.run(watch())
    wall = time.perf_counter() - t0
    assert 'class="sse-lab-spinner"' in mid_blocking and "waiting" in mid_blocking
    assert mid_streaming and race.blocking_url.split("?")[0].endswith("/complete")
    blocking, streaming = result["blocking"], result["streaming"]
    assert race.blocking is blocking and race.streaming is streaming
    assert blocking.text == streaming.text == race.typewriter.text
    assert blocking.text == SimulatedLLM().answer("why stream tokens?", 1)
    b_ttft, s_ttft = blocking.token_times[0], streaming.token_times[0]
    assert b_ttft >= 5 * s_ttft, (b_ttft, s_ttft)
    # The blocking column: a ticking timer while waiting (<= 10 Hz), then the text.
    assert 2 <= race.blocking_updates <= 10 * wall + 3
    assert html.escape(blocking.text) in race.blocking_body.value
    assert 'class="sse-lab-spinner"' not in race.blocking_body.value
    assert race.typewriter.status == "done"
    summary = race.summary.value
    assert "Blocking" in summary and "Streaming" in summary and "sooner" in summary
    assert "the same final text" in summary


# -- WireInspector -------------------------------------------------------------
def test_inspector_shows_multiline_data_as_data_lines() -> None:
    insp = WireInspector()
    insp.set(data="a\nb")
    assert insp.error is None
    assert insp.encoded == b"data: a\ndata: b\n\n"
    assert insp.events_whole == [Event(data="a\nb")]
    shown = insp.output.value
    assert shown.count("data: ") == 2
    assert 'data: a<span class="sse-lab-ctl">\\n</span>\n' in shown
    assert "Same result as whole: yes" in insp.split_output.value


def test_inspector_every_split_gives_the_same_events() -> None:
    insp = WireInspector()
    insp.set(data="line 1\r\nline 2", event="update", id="42", retry=1500, comment="hi")
    whole = insp.events_whole
    assert whole == [Event("update", "line 1\nline 2", "42", 1500)]
    assert insp.parser_whole.last_event_id == "42" and insp.parser_whole.retry == 1500
    for k in range(len(insp.encoded) + 1):
        insp.split = k
        first, second = insp.chunks
        assert first + second == insp.encoded and len(first) == k
        assert insp.events_split == whole, k
        assert insp.same_as_whole
        assert "Same result as whole: yes" in insp.split_output.value
    # The slider, as the front end moves it, drives the same computation.
    insp.slider.value = 3
    assert f"Split at byte 3 of {len(insp.encoded)}" in insp.split_output.value


def test_inspector_reacts_to_typing() -> None:
    insp = WireInspector()
    insp.set()
    assert insp.encoded == b"\n" and insp.events_whole == []
    insp.data_box.value = "x"
    insp.event_box.value = "ping"
    assert insp.encoded == encode_event("x", event="ping")
    insp.data_box.value = "tab\\\\n"  # an escaped backslash stays a backslash
    assert insp.events_whole[0].data == "tab\\n"


@pytest.mark.parametrize(
    ("box", "typed", "words"),
    [
        ("id_box", "x\\ny", "must stay on one line"),
        ("event_box", "a\\rb", "must stay on one line"),
        ("id_box", "a\\0b", "NUL"),
        ("retry_box", "soon", "whole, non-negative number of milliseconds"),
        ("retry_box", "-5", "whole, non-negative number of milliseconds"),
    ],
)
def test_inspector_explains_invalid_input(box: str, typed: str, words: str) -> None:
    insp = WireInspector()
    getattr(insp, box).value = typed
    assert insp.error is not None and words in insp.error
    assert insp.encoded == b"" and insp.events_whole == []
    assert "Cannot encode this event" in insp.output.value
    assert html.escape(insp.error) in insp.output.value
    insp.set(data="ok")  # and it recovers
    assert insp.error is None and insp.events_whole == [Event(data="ok")]


def test_inspector_forbidden_id_from_code() -> None:
    insp = WireInspector()
    insp.set(data="hi", id="1\ndata: forged")
    assert insp.error is not None and "id" in insp.error
    assert "forged" not in insp.output.value.replace("forge data", "")


def test_inspector_split_inside_a_chinese_character() -> None:
    insp = WireInspector()
    insp.set(data=SOURCE_ANSWER, id="1")
    raw = insp.encoded
    inside = [k for k in range(1, len(raw)) if raw[k] & 0xC0 == 0x80]
    assert len(inside) == 2 * sum(1 for ch in SOURCE_ANSWER if ord(ch) > 0x7F)
    for k in inside:
        insp.split = k
        assert insp.events_split == [Event(data=SOURCE_ANSWER, id="1")], k
        assert "inside a multi-byte UTF-8 character" in insp.split_output.value
        assert 'class="sse-lab-byte"' in insp.split_output.value  # the half character
        assert "Same result as whole: yes" in insp.split_output.value
