"""No zombies and no leaked descriptors after 10,000 requests, timeouts and hang-ups."""

from __future__ import annotations

import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.watchdog.conftest import MakeWatchdog
from tests.watchdog.harness import wait_until

ECHO_C = r"""
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    char buf[65536];
    ssize_t n;
    const char *query = getenv("Http_Query");
    if (query && strcmp(query, "sleep") == 0) sleep(30);
    while ((n = read(0, buf, sizeof buf)) > 0) {
        if (write(1, buf, n) != n) return 1;
    }
    return 0;
}
"""
REQUESTS = 10_000
TIMEOUTS = 24
HANGUPS = 24


@pytest.fixture(scope="module")
def echo_program(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("echo")
    (directory / "echo.c").write_text(ECHO_C)
    binary = directory / "echo"
    subprocess.run(
        ["gcc", "-O2", "-static", "-o", str(binary), str(directory / "echo.c")], check=True
    )
    return str(binary)


def keep_alive_burst(url: str, count: int, worker: int) -> int:
    ok = 0
    with httpx.Client(base_url=url, timeout=30) as client:
        for number in range(count):
            body = f"{worker}-{number}".encode()
            response = client.post("/", content=body)
            ok += response.status_code == 200 and response.content == body
    return ok


def timed_out(url: str) -> int:
    return httpx.get(url + "/?sleep", timeout=30).status_code


def hang_up(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /?sleep HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        time.sleep(0.2)


def test_no_zombies_or_leaked_descriptors(
    make_watchdog: MakeWatchdog, echo_program: str, tmp_path: Path
) -> None:
    watchdog = make_watchdog(fprocess=echo_program, exec_timeout="1s")
    with httpx.Client(base_url=watchdog.url) as warm:
        assert warm.post("/", content=b"warm").content == b"warm"
    baseline = watchdog.descriptors()
    per_worker = (REQUESTS - TIMEOUTS - HANGUPS) // 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        bursts = [pool.submit(keep_alive_burst, watchdog.url, per_worker, w) for w in range(4)]
        timeouts = [pool.submit(timed_out, watchdog.url) for _ in range(TIMEOUTS)]
        hangups = [pool.submit(hang_up, watchdog.port) for _ in range(HANGUPS)]
        assert sum(burst.result() for burst in bursts) == per_worker * 4
        assert [future.result() for future in timeouts] == [408] * TIMEOUTS
        for future in hangups:
            future.result()
    assert per_worker * 4 + TIMEOUTS + HANGUPS >= REQUESTS - 4
    assert wait_until(lambda: not watchdog.children(), 5), watchdog.children()
    assert wait_until(lambda: watchdog.descriptors() <= baseline, 5), (
        watchdog.descriptors(),
        baseline,
    )
    assert watchdog.log().count("Forking fprocess.") >= REQUESTS - 4
