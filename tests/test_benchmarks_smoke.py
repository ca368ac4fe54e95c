"""The benchmark harness works (counts right, reports render); never its speed.

The benchmarks themselves run on demand (``python -m benchmarks.run``); this
only checks, in a few seconds, that the parser benchmark, the load generator
and the sse_lab benchmark server agree on what they count.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks` is not installed

from benchmarks import loadgen, parsers, run  # noqa: E402
from benchmarks.servers import express_server, sse_lab_server  # noqa: E402
from sse_lab.protocol import EventParser  # noqa: E402
from sse_lab.server import ServerConfig, start_server  # noqa: E402


def test_parser_benchmark_counts_events_on_a_tiny_input() -> None:
    results = parsers.run(tiny=True, runs=1)
    for name, row in results["streams"].items():
        assert row["events"] > 0
        expected = len(EventParser().feed(parsers.streams(tiny=True)[name]))
        assert row["events"] == expected
        for decoder in ("sse_lab", "httpx-sse", "httpx-sse (decoders)"):
            assert row["by_decoder"][decoder]["events"] == expected, (name, decoder)
            assert row["by_decoder"][decoder]["mb_per_s"] > 0
    conformance = results["decoders"]["sse_lab"]
    assert conformance["whole"] == conformance["bytewise"] == conformance["cases"]
    assert "sse_lab" in parsers.table(results)


def test_dechunker_handles_any_split() -> None:
    body = [b"data: 1 x\n\n", b"data: 2 y\r\n\r\n", b"data: [DONE]\n\n"]
    wire = b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in body) + b"0\r\n\r\n"
    for step in (1, 2, 3, 7, len(wire)):
        dechunk = loadgen.Dechunker()
        out = b"".join(
            piece for i in range(0, len(wire), step) for piece in dechunk.feed(wire[i : i + step])
        )
        assert out == b"".join(body)
        assert dechunk.done


@pytest.fixture(scope="module")
def bench_server():
    server = start_server(config=ServerConfig())
    sse_lab_server.add_routes(server)
    yield server
    server.stop()


def test_loadgen_against_the_sse_lab_benchmark_server(bench_server) -> None:
    port = bench_server.port
    host = "127.0.0.1"

    async def scenarios() -> dict[str, dict]:
        return {
            "stream": await loadgen.scenario_stream(host, port, n=500, runs=2, warmup=50),
            "paced": await loadgen.scenario_paced(host, port, n=5, interval=0.0),
            "tail": await loadgen.scenario_tail(
                host, port, n=5, interval_ms=0.0, streams=2, preheat=100
            ),
            "fanout": await loadgen.scenario_fanout(
                host, port, clients=3, window=0.5, period=0.05, warmup=0.2
            ),
            "cycles": await loadgen.scenario_cycles(
                host, port, cycles=10, concurrency=5, warmup=2, period=0.05, settle=0.3
            ),
        }

    res = asyncio.run(scenarios())

    stream = res["stream"]
    assert stream["ok"], stream
    assert all(r["events"] == 500 for r in stream["runs"])
    assert stream["events_per_s_median"] > 0

    assert res["paced"]["ok"] and res["paced"]["events"] == 5
    tail = res["tail"]
    assert tail["ok"] and tail["events"] == 10, tail
    assert tail["latency_us"]["p50"] is not None

    fan = res["fanout"]
    assert fan["connected"] == 3 and fan["connect_failures"] == 0
    assert fan["bad_lines"] == 0
    assert fan["delivered"] > 0 and fan["published_in_window"] > 0
    # every delivered event was sent in the window, to one of the 3 clients
    assert fan["delivered"] <= 3 * (fan["published_in_window"] + 1)
    assert fan["server_stats"]["server"] == "sse_lab"

    cycles = res["cycles"]
    assert cycles["failures"] == 0
    assert cycles["leaked"] == 0

    # The report renders from these results.
    report = {
        "quick": True,
        "started": "now",
        "sizes": {"cycles": {"cycles": 10}},
        "environment": {"python": "3", "cpus": 2, "loadavg_start": [0, 0, 0]},
        "servers": {
            "sse_lab": {
                "stream": stream,
                "paced": res["paced"],
                "tail": tail,
                "fanout": {"3": fan},
                "cycles": cycles,
            },
            "tornado": {"stream": stream, "tail": tail, "fanout": {"3": fan}},
            "express": {"stream": stream, "fanout": {"3": fan}},
        },
    }
    report["targets"] = run.targets(report)
    text = run.report(report)
    assert "sse_lab" in text and "events/s" in text
    assert {t["status"] for t in report["targets"]} <= {"PASS", "GAP", "n/a"}
    names = {t["target"] for t in report["targets"]}
    assert "events/s ÷ express events/s ≥ 1.0×" in names
    assert any(n.startswith("tail:") for n in names)


def test_express_server_speaks_the_contract() -> None:
    """The Node peer serves /stream, /tail and /stats like the Python servers."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js/npm not installed: the express peer runs only where Node is")
    express_server.ensure_installed()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["node", str(express_server.HERE / "server.js"), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=2) as r:
                    stats = r.read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        assert b'"server":"express"' in stats

        async def scenarios() -> dict[str, dict]:
            return {
                "stream": await loadgen.scenario_stream("127.0.0.1", port, n=300, runs=1,
                                                        warmup=10),
                "tail": await loadgen.scenario_tail("127.0.0.1", port, n=5, interval_ms=0.0,
                                                    streams=1, preheat=50),
            }

        res = asyncio.run(scenarios())
        assert res["stream"]["ok"], res["stream"]
        assert res["tail"]["ok"] and res["tail"]["events"] == 5, res["tail"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
