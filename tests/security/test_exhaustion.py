"""Resource exhaustion: 10,000 mixed good and bad calls (the NUL path and hung-up log
follows included) leave the fds and RSS of faasbox and of a faasbox-watchdog replica where
they were. Raw keep-alive sockets on a few threads keep it to seconds; the numbers are
printed for the report."""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.conftest import container_of
from tests.support.api import deploy, remove, wait_for
from tests.support.engine import docker, unique
from tests.support.server import Server
from tests.watchdog.harness import wait_until

pytestmark = pytest.mark.engine

CALLS = 10_000
THREADS = 4
# Every this many calls, one is a followed /system/logs whose caller hangs up at once
# (50 in all: each holds an engine stream while it lasts, on a shared engine).
FOLLOW_EVERY = 200
# Slack for lazily grown pools (upstream keep-alive connections, allocator arenas).
FD_SLACK = 16
RSS_SLACK_KB = 16 * 1024


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Client:
    """One keep-alive connection; reconnects when the server closes (after a 400)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = b""

    def call(self, raw: bytes) -> int:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.buf = b""
        self.sock.sendall(raw)
        status, close = self._answer()
        if close:
            self.sock.close()
            self.sock = None
        return status

    def _fill(self) -> None:
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        self.buf += data

    def _answer(self) -> tuple[int, bool]:
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (x.partition(b":") for x in lines[1:])
        }
        close = headers.get(b"connection", b"").lower() == b"close"
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._fill()
                self.buf = self.buf[size + 2 :]
                if size == 0:
                    break
        else:
            length = int(headers.get(b"content-length", b"0"))
            while len(self.buf) < length:
                self._fill()
            self.buf = self.buf[length:]
        return status, close


def mix(box: Server, name: str) -> list[tuple[bytes, int]]:
    host = f"Host: 127.0.0.1:{box.port}\r\n".encode()
    wrong = base64.b64encode(f"{box.user}:nope".encode())
    return [
        (b"POST /function/" + name.encode() + b" HTTP/1.1\r\n" + host
         + b"Content-Length: 5\r\n\r\nhello", 200),
        (b"GET /function/" + name.encode() + b"/%00 HTTP/1.1\r\n" + host + b"\r\n", 400),
        (b"GET /function/fb14-nothere HTTP/1.1\r\n" + host + b"\r\n", 404),
        (b"GET /system/functions HTTP/1.1\r\n" + host + b"Authorization: Basic " + wrong
         + b"\r\n\r\n", 401),
        (b"POST /function/" + name.encode() + b" HTTP/1.1\r\n" + host
         + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\n" + host + b"\r\n", 200),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def target(box: Server, lockdown_image: str) -> Iterator[tuple[str, int]]:
    """A deployed faasbox-watchdog function (fork mode, cat) and its watchdog's host pid."""
    name = unique("fb14-leak")
    with box.client() as api:
        # One replica, whatever the load: the autoscaler must not add (or, on the way
        # down, remove) the very replica being measured.
        one = {"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "1"}
        assert deploy(api, name, lockdown_image, labels=one).status_code == 202
        try:
            wait_for(api, name, available=1)
            pid = int(docker("inspect", container_of(name), "--format", "{{.State.Pid}}"))
            yield name, pid
        finally:
            remove(api, name)


def run_calls(box: Server, name: str, total: int) -> Counter[str]:
    requests = mix(box, name)
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    token = base64.b64encode(f"{box.user}:{box.password}".encode())
    follow = (
        f"GET /system/logs?name={name}&follow=true HTTP/1.1\r\nHost: x\r\n".encode()
        + b"Authorization: Basic " + token + b"\r\n\r\n"
    )  # fmt: skip

    def worker(index: int) -> None:
        client = Client(box.port)
        local: Counter[str] = Counter()
        for i in range(index, total, THREADS):
            if i % FOLLOW_EVERY == 0:
                with socket.create_connection(("127.0.0.1", box.port), timeout=30) as sock:
                    sock.sendall(follow)
                    got = int(sock.recv(4096).split(b" ", 2)[1])  # the head, then hang up
                local["ok" if got == 200 else f"follow->{got}"] += 1
                continue
            raw, expected = requests[i % len(requests)]
            got = client.call(raw)
            local["ok" if got == expected else f"{expected}->{got}"] += 1
        with lock:
            seen.update(local)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen


def test_ten_thousand_mixed_calls_leak_nothing(box: Server, target: tuple[str, int]) -> None:
    name, watchdog = target
    assert box.process is not None
    server = box.process.pid
    run_calls(box, name, 600)  # warm pools and caches first
    time.sleep(1)
    before = {
        "faasbox": (fds(server), rss_kb(server)),
        "watchdog": (fds(watchdog), rss_kb(watchdog)),
    }
    began = time.monotonic()
    seen = run_calls(box, name, CALLS)
    took = time.monotonic() - began
    wait_until(lambda: fds(server) <= before["faasbox"][0] + FD_SLACK, timeout=10)
    after = {
        "faasbox": (fds(server), rss_kb(server)),
        "watchdog": (fds(watchdog), rss_kb(watchdog)),
    }
    print(f"\n{CALLS} mixed calls in {took:.1f}s: {dict(seen)}")
    for who in before:
        print(
            f"{who}: fds {before[who][0]} -> {after[who][0]}, "
            f"RSS {before[who][1] / 1024:.1f} -> {after[who][1] / 1024:.1f} MiB"
        )
    assert seen["ok"] == CALLS, seen
    for who in before:
        assert after[who][0] <= before[who][0] + FD_SLACK, (who, before, after)
        assert after[who][1] <= before[who][1] + RSS_SLACK_KB, (who, before, after)
