"""Run every benchmark side by side and print one report: ``python -m benchmarks.run``.

Options: ``--quick`` (small sizes, a ~1 minute smoke run), ``--only NAME``
(repeatable or comma-separated: ``sse_lab``, ``tornado``, ``starlette``,
``aiohttp``, ``parsers``), ``--json PATH`` (also write the results there),
``--sse-lab-copy DIR`` (also run ``DIR/sse_lab``, e.g. a patched copy, as an
extra column with the same targets).
Always writes ``benchmarks/results/latest.json`` and ``latest.md``
(``benchmarks/results/`` is git-ignored).

How it measures:

* Each server (:mod:`benchmarks.servers`) runs as its own process pinned to
  core 0 (``taskset -c 0``); the load generator (:mod:`benchmarks.loadgen`)
  runs as one process pinned to core 1 (``taskset -c 1``), one process per
  measurement. Scenarios run server after server (stream for all, then
  paced for all, ...), so a burst of outside load hits one figure, not one
  server.
* Every fan-out size and the connect/disconnect cycles get a fresh server
  process, so "RSS idle" is a clean baseline and no test inherits another's
  heap.
* This machine may be shared: for every measurement the run records how busy
  cores 0 and 1 were with *other* processes (``/proc/stat`` busy time minus the
  server's and the load generator's own CPU time). A key measurement (events/s,
  fan-out at the largest size) that saw more than ``--max-foreign`` % of
  outside load on either core is repeated (up to ``--retries`` times) and the
  least disturbed attempt is kept; the report shows the outside load beside
  each figure.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

from .servers import LABELS, SERVERS

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SERVER_CORE = "0"
LOADGEN_CORE = "1"

FULL = {
    "stream": {"n": 100_000, "runs": 5, "warmup": 10_000},
    "paced": {"n": 300, "interval": 0.01},
    "tail": {"n": 200, "interval-ms": 5, "streams": 3, "preheat": 50_000},
    "fanout": [100, 1000, 5000],
    "window": 8.0,
    "fanout_warmup": 1.0,
    "cycles": {"cycles": 2000, "concurrency": 20, "warmup": 200, "settle": 5.0},
}
QUICK = {
    "stream": {"n": 20_000, "runs": 3, "warmup": 2_000},
    "paced": {"n": 50, "interval": 0.01},
    "tail": {"n": 100, "interval-ms": 5, "streams": 2, "preheat": 5_000},
    "fanout": [100, 500],
    "window": 2.0,
    "fanout_warmup": 0.5,
    "cycles": {"cycles": 200, "concurrency": 20, "warmup": 20, "settle": 1.0},
}
PERIOD = 0.1


# -- the machine --------------------------------------------------------------------------------
def _cpu_jiffies() -> dict[str, tuple[int, int]]:
    """Per-core (busy, total) jiffies from /proc/stat."""
    out: dict[str, tuple[int, int]] = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *vals = line.split()
                nums = [int(v) for v in vals]
                idle = nums[3] + (nums[4] if len(nums) > 4 else 0)
                out[name] = (sum(nums[:8]) - idle, sum(nums[:8]))
    return out


def _proc_jiffies(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class Contention:
    """How busy cores 0/1 were with other processes during one measurement."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.hz = os.sysconf("SC_CLK_TCK")
        self.t0 = time.monotonic()
        self.cores0 = _cpu_jiffies()
        self.server0 = _proc_jiffies(server_pid) if server_pid else 0
        self.children0 = _children_cpu_s()
        self.load0 = os.getloadavg()[0]

    def finish(self) -> dict[str, Any]:
        wall = time.monotonic() - self.t0
        cores1 = _cpu_jiffies()
        server = 0.0
        if self.server_pid:
            server = (_proc_jiffies(self.server_pid) - self.server0) / self.hz
        loadgen = _children_cpu_s() - self.children0  # the load generator, reaped meanwhile

        def busy(core: str) -> float:
            (b0, _), (b1, _) = self.cores0.get(core, (0, 0)), cores1.get(core, (0, 0))
            return (b1 - b0) / self.hz
        c0, c1 = busy("cpu" + SERVER_CORE), busy("cpu" + LOADGEN_CORE)
        return {
            "wall_s": round(wall, 2),
            "core0_busy_pct": round(100 * c0 / wall, 1),
            "core1_busy_pct": round(100 * c1 / wall, 1),
            "server_cpu_pct": round(100 * server / wall, 1),
            "loadgen_cpu_pct": round(100 * loadgen / wall, 1),
            "foreign_core0_pct": round(max(0.0, 100 * (c0 - server) / wall), 1),
            "foreign_core1_pct": round(max(0.0, 100 * (c1 - loadgen) / wall), 1),
            "loadavg_1m": [round(self.load0, 2), round(os.getloadavg()[0], 2)],
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Server key -> directory holding the ``sse_lab`` copy it must import (``--sse-lab-copy``).
COPIES: dict[str, str] = {}


def child_env(copy: str | None = None) -> dict[str, Any]:
    """Where children run: outside the repository, with it appended to PYTHONPATH.

    ``python -m`` puts the working directory first on ``sys.path``; running the
    children from ``benchmarks/results`` instead lets ``PYTHONPATH`` choose the
    ``sse_lab`` they import (e.g. a patched copy: ``PYTHONPATH=/tmp/copy``);
    ``copy`` goes first.
    """
    env = dict(os.environ)
    path = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([*([copy] if copy else []), *path, str(HERE.parent)])
    RESULTS.mkdir(parents=True, exist_ok=True)
    return {"cwd": RESULTS, "env": env}


def _get_json(port: int, path: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return json.loads(r.read())


# -- servers ------------------------------------------------------------------------------------
class Server:
    """One benchmark server process pinned to core 0."""

    def __init__(self, name: str, tag: str) -> None:
        self.name = name
        self.port = _free_port()
        logs = RESULTS / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.log = open(logs / f"{name.replace('*', '-patched')}-{tag}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, sys.executable, "-m",
             SERVERS.get(name, SERVERS["sse_lab"]), "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, **child_env(COPIES.get(name)),
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.info = _get_json(self.port, "/stats", 1.0)
                if "cpu_s" in self.info:  # the benchmark's /stats, not a default one
                    break
                time.sleep(0.05)
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{name} did not start; see {self.log.name}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def loadgen(port: int, scenario: str, args: dict[str, Any], server_pid: int | None,
            timeout: float = 300) -> dict[str, Any]:
    cmd = ["taskset", "-c", LOADGEN_CORE, sys.executable, "-m", "benchmarks.loadgen",
           "--port", str(port), scenario]
    for key, value in args.items():
        cmd += [f"--{key}", str(value)]
    watch = Contention(server_pid)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **child_env())
    contention = watch.finish()
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"],
                "contention": contention}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["contention"] = contention
    return result


def _foreign(result: dict[str, Any]) -> float:
    c = result.get("contention", {})
    return max(c.get("foreign_core0_pct", 0), c.get("foreign_core1_pct", 0))


def measure(name: str, tag: str, scenario: str, args: dict[str, Any], *,
            retries: int = 0, max_foreign: float = 15.0, log: Any = print) -> dict[str, Any]:
    """Run one scenario against a fresh server; repeat while the machine was busy."""
    best: dict[str, Any] | None = None
    attempts = 0
    for attempt in range(1, retries + 2):
        attempts = attempt
        try:
            with Server(name, tag) as server:
                result = loadgen(server.port, scenario, args, server.proc.pid)
                result["server_info"] = {
                    k: server.info.get(k) for k in ("loop", "http", "server", "sse_lab")
                }
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            result = {"error": str(exc)}
        ok = "error" not in result
        if best is None or (ok and ("error" in best or _foreign(result) < _foreign(best))):
            best = result
        if ok and _foreign(result) <= max_foreign:
            break
        if attempt <= retries:
            why = result["error"] if not ok else f"{_foreign(result):.0f}% outside load on a core"
            log(f"    {label(name)} {tag}: {why}; repeating")
    assert best is not None
    best["attempts"] = attempts
    return best


def run_parsers(quick: bool, copy: str | None = None) -> dict[str, Any]:
    cmd = ["taskset", "-c", LOADGEN_CORE, sys.executable, "-c",
           "import json,sys; from benchmarks import parsers; "
           f"json.dump(parsers.run(quick={quick}), sys.stdout)"]
    watch = Contention(None)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **child_env(copy))
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    result = json.loads(proc.stdout)
    result["contention"] = watch.finish()
    return result


# -- the report ---------------------------------------------------------------------------------
def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _get(d: Any, *path: Any) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


PATCHED = "sse_lab*"  # the server key of a patched sse_lab copy (--sse-lab-copy)


def label(name: str) -> str:
    return LABELS.get(name, "sse_lab (patched copy)" if name == PATCHED else name)


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target, for sse_lab (and a patched copy): what, measured, PASS/GAP and the gap."""
    out: list[dict[str, Any]] = []
    servers = res["servers"]
    peers = {n: s for n, s in servers.items() if n not in ("sse_lab", PATCHED)}
    variants = [n for n in ("sse_lab", PATCHED) if n in servers]
    parser_rows = [n for n in ("sse_lab", "sse_lab (patched copy)")
                   if n in (_get(res, "parsers", "ratios_by_parser") or {})]

    def add(who: str, target: str, ok: bool | None, measured: str, gap: str = "") -> None:
        status = "n/a" if ok is None else ("PASS" if ok else "GAP")
        out.append({"who": who, "target": target, "status": status, "measured": measured,
                    "gap": gap})

    for name in variants:
        lab, who = servers[name], label(name)
        lab_eps = _get(lab, "stream", "events_per_s_median")
        tor_eps = _get(peers.get("tornado"), "stream", "events_per_s_median")
        if lab_eps and tor_eps:
            r = lab_eps / tor_eps
            add(who, "events/s ÷ plain Tornado events/s ≥ 2×", r >= 2,
                f"{lab_eps:,.0f} / {tor_eps:,.0f} = {r:.2f}×",
                "" if r >= 2 else f"{2 * tor_eps - lab_eps:,.0f} events/s short (×{2 / r:.2f})")
        ex_eps = _get(peers.get("express"), "stream", "events_per_s_median")
        if lab_eps and ex_eps:
            r = lab_eps / ex_eps
            add(who, "events/s ÷ express events/s ≥ 1.0×", r >= 1,
                f"{lab_eps:,.0f} / {ex_eps:,.0f} = {r:.2f}×",
                "" if r >= 1 else f"{ex_eps - lab_eps:,.0f} events/s short")
        mine_t, tor_t = _get(lab, "tail", "latency_us"), _get(peers.get("tornado"), "tail",
                                                               "latency_us")
        if mine_t and tor_t and None not in (*mine_t.values(), *tor_t.values()):
            ok = mine_t["p99"] <= tor_t["p99"] and mine_t["p50"] <= tor_t["p50"] * 1.1
            add(who, "tail: p99 ≤ plain Tornado's, p50 no worse (±10 %)", ok,
                f"p50 {mine_t['p50']:.0f} vs {tor_t['p50']:.0f} µs, "
                f"p99 {mine_t['p99']:.0f} vs {tor_t['p99']:.0f} µs",
                "" if ok else f"p99 {mine_t['p99'] - tor_t['p99']:+.0f} µs")
        sizes = [int(k) for k in lab.get("fanout", {})]
        if not sizes:
            continue
        top = str(max(sizes))
        mine = lab["fanout"][top]
        holds = mine.get("period_holds")
        sat = " (load generator saturated: figures are bounded by the client)" \
            if mine.get("loadgen_saturated") else ""
        peers_hold = ", ".join(
            f"{label(n)}: {_fmt(_get(s, 'fanout', top, 'period_holds'))}" for n, s in peers.items()
        )
        add(who, f"{top} clients: 100 ms period holds", holds,
            f"delivered {_fmt(mine.get('delivered_ratio'), 3)} of expected, "
            f"p99 {_fmt(_get(mine, 'latency_ms', 'p99'))} ms{sat}; peers: {peers_hold}",
            "" if holds else "events late or missing")
        p99 = _get(mine, "latency_ms", "p99")
        peer_p99 = {n: _get(s, "fanout", top, "latency_ms", "p99") for n, s in peers.items()}
        peer_p99 = {n: v for n, v in peer_p99.items() if v is not None}
        if p99 is not None and peer_p99:
            best_peer = min(peer_p99, key=lambda n: peer_p99[n])
            ok = all(p99 < v for v in peer_p99.values())
            add(who, f"{top} clients: p99 below every peer's", ok,
                f"{p99:.1f} ms vs " + ", ".join(
                    f"{label(n)} {v:.1f} ms" for n, v in peer_p99.items()),
                "" if ok else f"{p99 - peer_p99[best_peer]:+.1f} ms vs {label(best_peer)}")
        kib = mine.get("kib_per_conn")
        tor_kib = _get(peers.get("tornado"), "fanout", top, "kib_per_conn")
        if kib is not None and tor_kib is not None:
            ok = kib <= tor_kib
            add(who, f"{top} clients: KiB/conn ≤ plain Tornado's", ok,
                f"{kib:.1f} vs {tor_kib:.1f} KiB", "" if ok else f"{kib - tor_kib:+.1f} KiB/conn")
    for row in parser_rows:
        for stream, ratios in res["parsers"]["ratios_by_parser"][row].items():
            full, dec = ratios["httpx-sse"], ratios["httpx-sse (decoders)"]
            worst = min(full, dec)
            add(row, f"parser MB/s ÷ httpx-sse ≥ 2× ({stream})", worst >= 2,
                f"{full:.2f}× vs httpx-sse (full path), {dec:.2f}× vs its decoders alone",
                "" if worst >= 2 else f"needs ×{2 / worst:.2f} more")
    return out


def report(res: dict[str, Any]) -> str:
    servers = res["servers"]
    names = list(servers)
    lines: list[str] = []
    env = res["environment"]
    lines.append(f"# SSE benchmarks ({'quick' if res['quick'] else 'full'} run, {res['started']})")
    lines.append("")
    lines.append(
        f"Python {env['python']}, {env['cpus']} cores; servers on core {SERVER_CORE}, load "
        f"generator on core {LOADGEN_CORE}. Load average (1 min) at start {env['loadavg_start']}, "
        f"at end {env.get('loadavg_end', '-')}. Took {res.get('seconds', 0):.0f} s."
    )
    for key in ("sse_lab", PATCHED):
        lab_path = _get(servers.get(key), "stream", "server_info", "sse_lab")
        if lab_path and Path(lab_path).resolve() != (HERE.parent / "sse_lab").resolve():
            lines.append(f"**{label(key)}: sse_lab imported from {lab_path}**.")
    lines.append("")
    if names:
        head = "| figure | " + " | ".join(label(n) for n in names) + " |"
        lines += [head, "|---|" + "---|" * len(names)]

        def row(label: str, fn: Any) -> None:
            lines.append(f"| {label} | " + " | ".join(fn(servers[n]) for n in names) + " |")

        row("server stack", lambda s: " / ".join(
            x for x in (_get(s, "stream", "server_info", "loop"),
                        _get(s, "stream", "server_info", "http")) if x) or "-")
        row("**events/s, one fast stream** (median)",
            lambda s: _fmt(_get(s, "stream", "events_per_s_median"), 0))
        row("events/s best / runs ok", lambda s: (
            f"{_fmt(_get(s, 'stream', 'events_per_s_best'), 0)} / "
            f"{_fmt(_get(s, 'stream', 'ok'))}"))
        row("outside load during stream (core0/core1 %)", lambda s: (
            f"{_fmt(_get(s, 'stream', 'contention', 'foreign_core0_pct'))}/"
            f"{_fmt(_get(s, 'stream', 'contention', 'foreign_core1_pct'))}"))
        row("paced 10 ms: latency p50 / p99 ms", lambda s: (
            f"{_fmt(_get(s, 'paced', 'latency_ms', 'p50'), 2)} / "
            f"{_fmt(_get(s, 'paced', 'latency_ms', 'p99'), 2)}"))
        row("**tail: paced 5 ms JSON+id after 3×50k-event streams**, p50 / p99 µs", lambda s: (
            f"{_fmt(_get(s, 'tail', 'latency_us', 'p50'), 0)} / "
            f"**{_fmt(_get(s, 'tail', 'latency_us', 'p99'), 0)}**"))
        sizes = sorted({int(k) for s in servers.values() for k in s.get("fanout", {})})
        for size in sizes:
            k = str(size)
            row(f"**{size:,} subscribers**: delivery p50 / p99 ms", lambda s, k=k: (
                f"{_fmt(_get(s, 'fanout', k, 'latency_ms', 'p50'))} / "
                f"**{_fmt(_get(s, 'fanout', k, 'latency_ms', 'p99'))}**"))
            row(f"{size:,}: period holds? (delivered/expected)", lambda s, k=k: (
                f"{_fmt(_get(s, 'fanout', k, 'period_holds'))} "
                f"({_fmt(_get(s, 'fanout', k, 'delivered_ratio'), 3)})"))
            row(f"{size:,}: inter-arrival p50 / p99 ms", lambda s, k=k: (
                f"{_fmt(_get(s, 'fanout', k, 'interarrival_ms', 'p50'))} / "
                f"{_fmt(_get(s, 'fanout', k, 'interarrival_ms', 'p99'))}"))
            row(f"{size:,}: server CPU % / KiB per conn", lambda s, k=k: (
                f"{_fmt(_get(s, 'fanout', k, 'server_cpu_pct'), 0)} / "
                f"{_fmt(_get(s, 'fanout', k, 'kib_per_conn'))}"))
            row(f"{size:,}: load gen CPU % / µs per delivery / lag p99 ms / outside load %",
                lambda s, k=k: (
                f"{_fmt(_get(s, 'fanout', k, 'loadgen_cpu_pct'), 0)} / "
                f"{_fmt(_get(s, 'fanout', k, 'loadgen_us_per_delivery'))} / "
                f"{_fmt(_get(s, 'fanout', k, 'loadgen_lag_ms', 'p99'))} / "
                f"{_fmt(_get(s, 'fanout', k, 'contention', 'foreign_core0_pct'), 0)}+"
                f"{_fmt(_get(s, 'fanout', k, 'contention', 'foreign_core1_pct'), 0)}"
                + (" **SATURATED**" if _get(s, 'fanout', k, 'loadgen_saturated') else "")))
        cyc = res["sizes"]["cycles"]["cycles"]
        marks = list(_get(next(iter(servers.values())), "cycles", "subscribers_after") or {})
        row(f"{cyc:,} connect/disconnect: subscribers left after {' / '.join(marks)}", lambda s: (
            " / ".join(_fmt(_get(s, "cycles", "subscribers_after", m)) for m in marks)
            + (f" ({_fmt(_get(s, 'cycles', 'failures'))} failed)"
               if _get(s, "cycles", "failures") else "")))
        row(f"{cyc:,} connect/disconnect: RSS growth KiB",
            lambda s: _fmt(_get(s, "cycles", "rss_growth_kib")))
        errors = [f"{label(n)} {sc}: {v['error']}" for n, s in servers.items()
                  for sc, v in s.items() if isinstance(v, dict) and "error" in v]
        errors += [f"{label(n)} fanout {k}: {v['error']}" for n, s in servers.items()
                   for k, v in s.get("fanout", {}).items() if "error" in v]
        if errors:
            lines += ["", "Errors: " + "; ".join(errors)]
        lines += [
            "",
            "Delivery latency = client receive time − server send time (CLOCK_MONOTONIC), per "
            "event per client, for events sent inside the window. \"Period holds\" = ≥ 99 % of "
            f"clients × (window / {PERIOD * 1000:.0f} ms) events delivered and p99 ≤ "
            f"{PERIOD * 1000:.0f} ms. KiB per conn = (RSS with N subscribers − RSS of the fresh "
            "server) / N. Outside load = busy time of other processes on core 0 + core 1.",
        ]
    parsers = res.get("parsers")
    if parsers and "streams" in parsers:
        from .parsers import table as parser_table

        lines += ["", "## Decoders (MB/s, best of runs; conformance = spec cases passed)", "",
                  parser_table(parsers), "",
                  "sse_lab = `EventParser.feed` per chunk; httpx-sse = "
                  "`EventSource(httpx.Response(...)).iter_sse()` (httpx's text decoding, "
                  "httpx-sse's line iterator and `SSEDecoder`); httpx-sse (decoders) = the same "
                  "decoding without httpx's response plumbing (its fastest path; the 2× target "
                  "is checked against it); sseclient-py = `SSEClient(iter(chunks)).events()`."]
    elif parsers:
        lines += ["", f"Parsers: {parsers.get('error')}"]
    tg = res.get("targets") or []
    if tg:
        lines += ["", "## Targets", "", "| who | target | result | measured | gap |",
                  "|---|---|---|---|---|"]
        for t in tg:
            lines.append(f"| {t['who']} | {t['target']} | **{t['status']}** | {t['measured']} "
                         f"| {t['gap']} |")
    return "\n".join(lines) + "\n"


# -- main ---------------------------------------------------------------------------------------
def merge_patched_parser(parsers: dict[str, Any], patched: dict[str, Any]) -> None:
    """Add the patched copy's EventParser as a row beside the others."""
    if "streams" not in patched:
        parsers["patched_error"] = patched.get("error")
        return
    row = "sse_lab (patched copy)"
    for stream, r in parsers["streams"].items():
        mine = patched["streams"][stream]["by_decoder"]["sse_lab"]
        by = r["by_decoder"]
        r["by_decoder"] = {k: v for k, v in by.items() if k == "sse_lab"}
        r["by_decoder"][row] = mine
        r["by_decoder"].update({k: v for k, v in by.items() if k != "sse_lab"})
    decoders = parsers["decoders"]
    parsers["decoders"] = {"sse_lab": decoders["sse_lab"], row: patched["decoders"]["sse_lab"],
                           **{k: v for k, v in decoders.items() if k != "sse_lab"}}
    parsers["ratios_by_parser"][row] = patched["ratios"]


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("tornado", "sse-starlette", "starlette", "uvicorn", "aiohttp", "aiohttp-sse",
                "uvloop", "httpx-sse", "sseclient-py"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "-"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (~1 minute)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="sse_lab, tornado, starlette, aiohttp or parsers (repeatable)")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    parser.add_argument("--retries", type=int, default=None,
                        help="repeats of a disturbed key measurement (default 2; quick 0)")
    parser.add_argument("--sse-lab-copy", metavar="DIR",
                        help="also run sse_lab imported from DIR/sse_lab (a patched copy) "
                        "as an extra column, with the same targets")
    parser.add_argument("--max-foreign", type=float, default=15.0,
                        help="outside load %% on a core above which a key figure is repeated")
    args = parser.parse_args(argv)

    only = {x.strip() for item in args.only for x in item.split(",") if x.strip()}
    unknown = only - set(SERVERS) - {"parsers"}
    if unknown:
        parser.error(f"unknown --only {sorted(unknown)}; choose from {[*SERVERS, 'parsers']}")
    names = [n for n in SERVERS if not only or n in only]
    if args.sse_lab_copy:
        copy = str(Path(args.sse_lab_copy).resolve())
        if not (Path(copy) / "sse_lab" / "__init__.py").exists():
            parser.error(f"{copy}/sse_lab/__init__.py not found")
        COPIES[PATCHED] = args.sse_lab_copy = copy
        names.insert(names.index("sse_lab") + 1 if "sse_lab" in names else 0, PATCHED)
    with_parsers = not only or "parsers" in only
    sizes = QUICK if args.quick else FULL
    retries = args.retries if args.retries is not None else (0 if args.quick else 2)
    started = time.monotonic()
    RESULTS.mkdir(parents=True, exist_ok=True)

    res: dict[str, Any] = {
        "quick": args.quick,
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
        "sizes": sizes,
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "versions": _versions(),
        },
        "servers": {n: {} for n in names},
    }

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    log(f"load average at start: {res['environment']['loadavg_start']}")
    for name in names:
        log(f"stream   {label(name)}")
        res["servers"][name]["stream"] = measure(
            name, "stream", "stream", sizes["stream"], retries=retries,
            max_foreign=args.max_foreign, log=log)
    for name in names:
        log(f"paced    {label(name)}")
        res["servers"][name]["paced"] = measure(name, "paced", "paced", sizes["paced"], log=log)
    for name in names:
        log(f"tail     {label(name)}")
        res["servers"][name]["tail"] = measure(
            name, "tail", "tail", sizes["tail"], retries=retries,
            max_foreign=args.max_foreign, log=log)
    top = max(sizes["fanout"])
    for size in sizes["fanout"]:
        for name in names:
            log(f"fan-out  {size:>5} {label(name)}")
            fan = {"clients": size, "window": sizes["window"], "period": PERIOD,
                   "warmup": sizes["fanout_warmup"]}
            res["servers"][name].setdefault("fanout", {})[str(size)] = measure(
                name, f"fanout{size}", "fanout", fan,
                retries=retries if size == top else 0, max_foreign=args.max_foreign, log=log)
    for name in names:
        log(f"cycles   {label(name)}")
        cyc = dict(sizes["cycles"], period=PERIOD)
        res["servers"][name]["cycles"] = measure(name, "cycles", "cycles", cyc, log=log)
    if with_parsers:
        log("parsers")
        res["parsers"] = parsers = run_parsers(args.quick)
        if "ratios" in parsers:
            parsers["ratios_by_parser"] = {"sse_lab": parsers["ratios"]}
        if args.sse_lab_copy and "streams" in parsers:
            log("parsers  (patched sse_lab copy)")
            merge_patched_parser(parsers, run_parsers(args.quick, args.sse_lab_copy))

    res["environment"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    res["seconds"] = round(time.monotonic() - started, 1)
    res["targets"] = targets(res)
    text = report(res)
    print(text)
    (RESULTS / "latest.json").write_text(json.dumps(res, indent=1))
    (RESULTS / "latest.md").write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    log(f"wrote {RESULTS / 'latest.json'} and {RESULTS / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
