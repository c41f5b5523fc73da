"""Timeouts, SIGTERM and disconnects: every path that must end a child ends its group."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.watchdog.conftest import MakeWatchdog
from tests.watchdog.harness import alive, script, wait_until


@pytest.fixture
def spawner(tmp_path: Path) -> tuple[str, Path]:
    """A handler that starts a sleeping grandchild, records both pids, then sleeps."""
    pids = tmp_path / "pids"
    handler = script(
        tmp_path,
        "spawner.sh",
        f"sleep 30 &\necho $$ $! > {pids}.tmp\nmv {pids}.tmp {pids}\necho started\nsleep 30\n",
    )
    return handler, pids


def read_pids(pids: Path) -> list[int]:
    assert wait_until(pids.exists)
    return [int(pid) for pid in pids.read_text().split()]


def test_exec_timeout_is_408_and_kills_the_whole_group(
    make_watchdog: MakeWatchdog, spawner: tuple[str, Path]
) -> None:
    handler, pids = spawner
    watchdog = make_watchdog(fprocess=handler, exec_timeout="500ms")
    started = time.monotonic()
    response = httpx.get(watchdog.url, timeout=10)
    assert time.monotonic() - started < 3
    assert (response.status_code, response.text) == (408, "Killed process.\n")
    child, grandchild = read_pids(pids)
    assert wait_until(lambda: not alive(child) and not alive(grandchild))
    assert "Killed process after exec_timeout (0.5s)." in watchdog.log()


def test_client_disconnect_kills_the_child(
    make_watchdog: MakeWatchdog, spawner: tuple[str, Path]
) -> None:
    handler, pids = spawner
    watchdog = make_watchdog(fprocess=handler)
    with socket.create_connection(("127.0.0.1", watchdog.port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        child, grandchild = read_pids(pids)
    assert wait_until(lambda: not alive(child) and not alive(grandchild))
    assert wait_until(lambda: not watchdog.children())


def test_disconnect_mid_upload_kills_the_child(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat")
    with socket.create_connection(("127.0.0.1", watchdog.port)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\npartial")
        assert wait_until(lambda: len(watchdog.children()) == 1)
    assert wait_until(lambda: not watchdog.children())


def test_read_timeout_closes_a_stalled_upload(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat", read_timeout="1")
    with socket.create_connection(("127.0.0.1", watchdog.port)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        sock.settimeout(5)
        started = time.monotonic()
        assert sock.recv(100) == b""
        assert 0.8 < time.monotonic() - started < 3
    assert wait_until(lambda: not watchdog.children())


def test_read_timeout_closes_idle_keep_alive(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat", read_timeout="500ms")
    with socket.create_connection(("127.0.0.1", watchdog.port)) as sock:
        sock.settimeout(5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(1000).startswith(b"HTTP/1.1 200 OK")
        assert sock.recv(100) == b""


def test_write_timeout_cuts_a_slow_response(
    make_watchdog: MakeWatchdog, spawner: tuple[str, Path]
) -> None:
    handler, pids = spawner
    watchdog = make_watchdog(fprocess=handler, write_timeout="1")
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(watchdog.url, timeout=10)
    assert time.monotonic() - started < 3
    child, grandchild = read_pids(pids)
    assert wait_until(lambda: not alive(child) and not alive(grandchild))


def test_sigterm_unhealthy_at_once_then_drains_in_flight(
    make_watchdog: MakeWatchdog, tmp_path: Path
) -> None:
    slow = script(tmp_path, "slow.sh", "sleep 1.5\necho finished\n")
    watchdog = make_watchdog(fprocess=slow, healthcheck_interval="1")
    results: list[httpx.Response] = []
    request = threading.Thread(target=lambda: results.append(httpx.get(watchdog.url, timeout=10)))
    request.start()
    assert wait_until(lambda: len(watchdog.children()) == 1)
    assert watchdog.proc is not None
    watchdog.proc.terminate()
    assert wait_until(lambda: not watchdog.lock.exists(), 1)
    assert httpx.get(watchdog.url + "/_/health").status_code == 503
    request.join()
    assert [(r.status_code, r.text) for r in results] == [(200, "finished\n")]
    assert watchdog.wait() == 0
    assert "SIGTERM received" in watchdog.log()


def test_sigterm_exit_bounded_by_write_timeout(
    make_watchdog: MakeWatchdog, spawner: tuple[str, Path]
) -> None:
    handler, pids = spawner
    watchdog = make_watchdog(fprocess=handler, write_timeout="1")
    with socket.create_connection(("127.0.0.1", watchdog.port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        child, _ = read_pids(pids)
        started = time.monotonic()
        assert watchdog.stop() == 0
        assert time.monotonic() - started < 3
    assert wait_until(lambda: not alive(child))
