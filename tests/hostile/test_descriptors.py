"""Out of file descriptors: the server pauses accepting, stays quiet, and recovers by itself.

The server runs in a child process whose ``RLIMIT_NOFILE`` is lowered to 64, so
the test can exhaust it without touching the test runner's own descriptors.
"""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path

from .conftest import wait_until
from .measure import Child

NOFILE = 64


def test_at_the_descriptor_limit_the_server_pauses_instead_of_spinning() -> None:
    tree = str(Path(__file__).resolve().parents[2])
    with Child(tree, {"accept_pause": 0.2}, nofile=NOFILE) as child:
        socks = []
        try:
            for _ in range(NOFILE + 40):  # more than it can hold: the rest wait in the backlog
                socks.append(socket.create_connection(("127.0.0.1", child.port), timeout=2))
            wait_until(lambda: child.stats()["limits"]["fd_exhausted"] > 0, timeout=10)
            cpu0, log0, t0 = child.cpu(), child.stderr_bytes, time.monotonic()
            time.sleep(1.5)
            seconds = time.monotonic() - t0
            cpu = (child.cpu() - cpu0) / seconds
            log = child.stderr_bytes - log0
            stats = child.stats()
        finally:
            for s in socks:
                s.close()
        # Tornado's own accept loop spins at ~100 % of a core here, writing
        # megabytes of "Too many open files" tracebacks a second.
        assert cpu < 0.3, f"the server used {cpu:.0%} of a core while out of descriptors"
        assert log < 2_000, f"{log} bytes of log in {seconds:.1f} s"
        assert stats["limits"]["fd_exhausted"] >= 1
        assert stats["limits"]["accept_paused_s"] > 0
        # Once the clients leave, a new one is served without any help.
        url = f"http://127.0.0.1:{child.port}/stats"

        def served() -> bool:
            try:
                return urllib.request.urlopen(url, timeout=2).status == 200
            except OSError:
                return False

        wait_until(served, timeout=10, step=0.1)
