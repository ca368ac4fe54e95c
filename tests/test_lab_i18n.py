"""sse_lab.lab's printed text speaks the learner's language; the English stays as it was.

Pure tests: recordings, load results and monitor samples are built by hand, no server.
"""

from __future__ import annotations

import unicodedata

from sse_lab.i18n import use_language
from sse_lab.lab import experiments as ex
from sse_lab.lab.loadtest import ClientResult, LoadResult
from sse_lab.lab.monitor import Monitor
from sse_lab.protocol import DONE, Event
from sse_lab.recording import Arrival, WireRecording

MEASURED = {
    "sse": {"ttft_s": 0.1, "lag_p50_s": 0.01, "lag_p99_s": 0.02, "bytes_per_token": 30.2,
            "requests": 1},
    "poll": {"ttft_s": 0.2, "lag_p50_s": 0.05, "lag_p99_s": 0.2, "bytes_per_token": None,
             "requests": 9},
}


def _load_result() -> LoadResult:
    results = [ClientResult(0, "u", 0.0, ttft=0.1, total=1.0, tokens=10, done=True),
               ClientResult(1, "u", 0.1, ttft=0.2, tokens=3, error="ConnectionResetError")]
    return LoadResult("u", 2, 0.5, results, wall=2.0,
                      samples=[{"t": 0.0, "open_total": 2}], rss_before=2**20, rss_after=2**21)


class _Stats:
    def stats(self) -> dict:
        return {}


def _monitor() -> Monitor:
    mon = Monitor(_Stats())
    mon.samples = [
        {"t": 0.0, "open_total": 0, "subscribers": 0, "generation_tasks": 0, "rss_mb": 50.0},
        {"t": 1.5, "open_total": 3, "subscribers": 1, "generation_tasks": 2, "rss_mb": 51.25},
    ]
    return mon


def _width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_english_text_is_unchanged() -> None:
    with use_language("en"):
        assert _load_result().summary() == (
            "2 clients (ramp 0.5 s): 1 complete, 1 errors, 13 tokens in 2.00 s "
            "(6 tokens/s overall)\n"
            "TTFT   p50 150 ms  p90 190 ms  p99 199 ms  max 200 ms\n"
            "total  p50 1000 ms  p90 1000 ms  p99 1000 ms\n"
            "server: peak 2 open streams, RSS 1.0 MB before, peak 2.0 MB, 2.0 MB after")
        assert _load_result().errors == ["client 1: ConnectionResetError"]
        summary = _monitor().summary()
        assert summary.splitlines()[0] == "2 samples over 1.50 s"
        assert summary.splitlines()[1] == (
            "  open_total        first         0  peak         3  last         3")
        table = ex.comparison_markdown(MEASURED)
        assert table.startswith("| 特性 feature | SSE | short polling |")
        assert "| **measured: time to first token** | 100 ms | 200 ms |" in table
        assert "| 通信方向 direction | 单向 one-way (server → client) |" in table


def test_chinese_text() -> None:
    with use_language("zh-CN"):
        text = _load_result().summary()
        assert text.startswith("2 个客户端（0.5 s 内逐个启动）：1 个完整收到，1 个出错")
        assert "服务器：" in text and "clients" not in text
        assert _monitor().summary().splitlines()[0] == "1.50 s 内共 2 个样本"
        table = ex.comparison_markdown(MEASURED)
        assert table.startswith("| 特性 | SSE | 短轮询 |")
        assert "| **实测：首 token 时间** | 100 ms | 200 ms |" in table
        assert "| 通信方向 | 单向（服务器 → 客户端） |" in table
        assert "feature" not in table and "polling" not in table


def test_drop_description_in_chinese() -> None:
    rec = WireRecording(url="http://x/ws", transport="websocket")
    rec.arrivals = [Arrival(0.1 * i, Event(data=t, id=str(i))) for i, t in
                    enumerate(["你", "好"])]
    drop = ex.DropResult("websocket", rec, "你好，世界。今天天气很好。", 2)
    with use_language("en"):
        assert drop.describe().startswith("just ended: 2/")
    with use_language("zh-CN"):
        assert drop.describe().startswith("直接结束：只收到 2/")
        rest = WireRecording(url="http://x/ws", transport="websocket")
        rest.arrivals = [Arrival(0.5, Event(data="，世界。今天天气很好。", id="9")),
                         Arrival(0.6, Event(data=DONE))]
        drop.resumed = rest
        assert drop.describe().endswith("文本完全一致")


def test_distribution_table_aligns_chinese_labels() -> None:
    with use_language("zh-CN"):
        table = ex.distribution_table({"TTFT": ([0.01, 0.02], "ms", 1000),
                                       "首 token 时间": ([0.01, 0.03], "ms", 1000)})
    lines = table.splitlines()
    assert lines[0].endswith("单位")
    # Every row's numbers end in the same column on screen, CJK labels included.
    assert len({_width(line[: line.rindex(" ms")]) for line in lines[2:]}) == 1
