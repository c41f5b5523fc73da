"""fork mode's worker processes: one limit across them, one drain, one PID 1, one file."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import socket
import threading
from pathlib import Path

import httpx

from faasbox.builder.resources import watchdog, watchdog_app
from tests.watchdog.conftest import MakeWatchdog
from tests.watchdog.harness import Watchdog, script, wait_until

# Enough connections that SO_REUSEPORT gives every worker more than the limit: a limit
# kept per worker would then admit LIMIT per worker, not LIMIT in all.
CONNECTIONS = 24
LIMIT = 3
WORKERS = 3


def held_handler(directory: Path) -> tuple[str, Path]:
    """A handler that records its worker (its parent) and answers once `release` exists."""
    release = directory / "release"
    handler = script(
        directory,
        "held.sh",
        f"echo $PPID >> {directory}/parents\n"
        f"while [ ! -e {release} ]; do sleep 0.05; done\necho released\n",
    )
    return handler, release


def answers(watchdog: Watchdog, count: int) -> list[socket.socket]:
    """`count` connections, each with one request sent, all before any is answered."""
    conns = []
    for _ in range(count):
        conn = socket.create_connection(("127.0.0.1", watchdog.port))
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        conns.append(conn)
    return conns


def read_statuses(conns: list[socket.socket], until: int) -> dict[socket.socket, int]:
    """The status of each of the first `until` connections to answer in full (the
    watchdog closes each after its answer)."""
    finished: dict[socket.socket, int] = {}
    conn: socket.socket
    buffers = dict.fromkeys(conns, b"")
    with selectors.DefaultSelector() as selector:
        for conn in conns:
            selector.register(conn, selectors.EVENT_READ, conn)
        while len(finished) < until:
            events = selector.select(timeout=20)
            assert events, f"only {len(finished)} answers"
            for key, _ in events:
                conn = key.data
                data = conn.recv(65536)
                buffers[conn] += data
                if not data:
                    selector.unregister(conn)
                    head = buffers[conn].split(b" ", 2)
                    finished[conn] = int(head[1]) if len(head) > 1 else 0
    return finished


def test_max_inflight_is_one_limit_across_workers(
    make_watchdog: MakeWatchdog, tmp_path: Path
) -> None:
    handler, release = held_handler(tmp_path)
    watchdog = make_watchdog(
        fprocess=handler, max_inflight=str(LIMIT), watchdog_workers=str(WORKERS)
    )
    assert len(watchdog.servers()) == WORKERS
    conns = answers(watchdog, CONNECTIONS)
    try:
        rejected = read_statuses(conns, CONNECTIONS - LIMIT)
        assert list(rejected.values()) == [429] * (CONNECTIONS - LIMIT)
        assert wait_until(lambda: len(watchdog.children()) == LIMIT)
        release.touch()
        admitted = read_statuses([c for c in conns if c not in rejected], LIMIT)
        assert list(admitted.values()) == [200] * LIMIT
    finally:
        for conn in conns:
            conn.close()
    assert httpx.get(watchdog.url + "/_/health").status_code == 200


def test_a_dead_worker_is_replaced_and_its_requests_forgotten(
    make_watchdog: MakeWatchdog, tmp_path: Path
) -> None:
    handler, release = held_handler(tmp_path)
    watchdog = make_watchdog(fprocess=handler, max_inflight="1", watchdog_workers="2")
    conns = answers(watchdog, 1)
    try:
        assert wait_until(lambda: (tmp_path / "parents").exists())
        holder = int((tmp_path / "parents").read_text())
        os.kill(holder, signal.SIGKILL)
        assert list(read_statuses(conns, 1).values()) == [0]  # it dies with its worker
    finally:
        for conn in conns:
            conn.close()
    assert wait_until(lambda: holder not in watchdog.servers() and len(watchdog.servers()) == 2)
    release.touch()
    assert [httpx.get(watchdog.url, timeout=10).status_code for _ in range(4)] == [200] * 4
    assert "restarting it" in watchdog.log()


def test_sigterm_drains_every_worker(make_watchdog: MakeWatchdog, tmp_path: Path) -> None:
    slow = script(tmp_path, "slow.sh", "sleep 1.5\necho finished\n")
    watchdog = make_watchdog(fprocess=slow, healthcheck_interval="1", watchdog_workers="2")
    results: list[tuple[int, str]] = []

    def call() -> None:
        response = httpx.get(watchdog.url, timeout=10)
        results.append((response.status_code, response.text))

    calls = [threading.Thread(target=call) for _ in range(8)]
    for thread in calls:
        thread.start()
    assert wait_until(lambda: len(watchdog.children()) == 8)
    workers = watchdog.servers()
    watchdog.proc.terminate()  # type: ignore[union-attr]
    assert wait_until(lambda: not watchdog.lock.exists(), 1)
    for thread in calls:
        thread.join()
    assert results == [(200, "finished\n")] * 8
    assert watchdog.wait() == 0
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert watchdog.log().count("SIGTERM received") == 1
    assert watchdog.log().count("Exiting.") == 1


def test_one_worker_runs_alone(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat", watchdog_workers="1")
    assert httpx.post(watchdog.url, content=b"alone").text == "alone"
    assert "Workers: " not in watchdog.log()
    assert watchdog.servers() == [watchdog.pid]


def test_the_shipped_file_is_the_same_bytes_for_the_same_sources(tmp_path: Path) -> None:
    """Image layers (and test image tags) hash this file: checkout times must not move it."""
    copy = tmp_path / "watchdog"
    shutil.copytree(watchdog(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    for path in copy.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    assert watchdog_app(copy) == watchdog_app()
    (copy / "fwatchdog" / "log.py").write_text("# changed\n", encoding="utf-8")
    assert watchdog_app(copy) != watchdog_app()
