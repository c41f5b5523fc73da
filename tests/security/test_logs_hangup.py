"""A followed /system/logs whose caller hangs up gives back everything it held.

Each followed request holds a connection to the engine; a caller that goes away
must not leave it open (20 callers hanging up must not cost 20+ descriptors).
"""

from __future__ import annotations

import base64
import os
import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.api import deploy, wait_for
from tests.support.engine import unique
from tests.support.server import Server

pytestmark = pytest.mark.engine

CALLERS = 20
# The engine pool may keep an idle keep-alive connection or two more than at the
# baseline (other engine calls run meanwhile); a leak keeps one per caller.
POOL_SLACK = 2


def open_fds(server: Server) -> int:
    assert server.process is not None
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


def follow_logs(server: Server, name: str) -> socket.socket:
    """A followed log request, read up to its first log line, left open."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    token = base64.b64encode(f"{server.user}:{server.password}".encode()).decode()
    sock.sendall(
        f"GET /system/logs?name={name}&follow=true&tail=1 HTTP/1.1\r\n"
        f"Host: faasbox\r\nAuthorization: Basic {token}\r\n\r\n".encode()
    )
    seen = b""
    # Headers, then the chunk holding the function's first line: the engine stream is open.
    while b'"text"' not in seen:
        chunk = sock.recv(65536)
        assert chunk, f"faasbox closed the log stream: {seen!r}"
        seen += chunk
    assert seen.startswith(b"HTTP/1.1 200"), seen[:200]
    return sock


@pytest.fixture
def logged_function(faasbox: Server, probe: str) -> Iterator[str]:
    name = unique("fb16-hangup")
    with faasbox.client() as client:
        deploy(client, name, probe).raise_for_status()
        wait_for(client, name, available=1)
        # The probe logs each call; call until the engine has such a line to tail (a
        # replica that just turned ready may still refuse the very first call).
        deadline = time.monotonic() + 60
        while not client.get("/system/logs", params={"name": name, "tail": 1}).text:
            assert time.monotonic() < deadline, "the function never logged a line"
            client.get(f"/function/{name}")
            time.sleep(0.5)
    yield name
    with faasbox.client() as client:
        client.request("DELETE", "/system/functions", json={"functionName": name})


def settled_fds(server: Server, at_most: int, seconds: float = 20.0) -> int:
    """The descriptor count once it is at most `at_most`, or the last count seen."""
    deadline = time.monotonic() + seconds
    count = open_fds(server)
    while count > at_most and time.monotonic() < deadline:
        time.sleep(0.2)
        count = open_fds(server)
    return count


def test_hung_up_followers_release_their_engine_streams(
    faasbox: Server, logged_function: str
) -> None:
    # One round first, so pools and caches that stay for the process are already made.
    follow_logs(faasbox, logged_function).close()
    time.sleep(1)
    baseline = open_fds(faasbox)

    callers = [follow_logs(faasbox, logged_function) for _ in range(CALLERS)]
    held = open_fds(faasbox)
    # Each open follower holds its caller's socket and its engine stream.
    assert held >= baseline + CALLERS, (baseline, held)
    for sock in callers:
        sock.close()

    after = settled_fds(faasbox, at_most=baseline + POOL_SLACK)
    kept = after - baseline
    assert after <= baseline + POOL_SLACK, f"{kept} descriptors kept after {CALLERS} hang-ups"
