"""http mode: one warm fprocess, reverse-proxied, with the same timeouts, health and limits."""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.watchdog.conftest import MakeWatchdog
from tests.watchdog.harness import Watchdog, free_port, wait_until

APP = Path(__file__).with_name("upstream_app.py")
MakeHttp = Callable[..., Watchdog]


@pytest.fixture
def make_http(make_watchdog: MakeWatchdog) -> MakeHttp:
    """A watchdog in http mode in front of upstream_app.py on a free port."""

    def factory(**env: str) -> Watchdog:
        upstream = free_port()
        return make_watchdog(
            mode="http",
            fprocess=f"{sys.executable} {APP} {upstream}",
            upstream_url=f"http://127.0.0.1:{upstream}",
            **env,
        )

    return factory


def pid_of(response: httpx.Response) -> int:
    match = re.search(r"pid=(\d+)", response.text)
    assert match, response.text
    return int(match.group(1))


def test_proxies_to_one_warm_process(make_http: MakeHttp) -> None:
    watchdog = make_http()
    assert watchdog.lock.exists()
    with httpx.Client(base_url=watchdog.url) as client:
        assert client.get("/_/health").status_code == 200
        first = client.get("/fn/x?q=1", headers={"X-Call-Id": "c1"})
        assert first.status_code == 200
        assert "path=/fn/x?q=1 call=c1" in first.text
        assert first.headers["x-from-upstream"] == "yes"
        assert first.headers["content-type"] == "text/x-upstream"
        assert re.fullmatch(r"\d+\.\d{6}", first.headers["x-duration-seconds"])
        assert pid_of(client.get("/")) == pid_of(first)
        posted = client.post("/", content=b"x" * 100_000 + b"tail")
        assert (posted.status_code, posted.text) == (201, "got 100004 bytes ending tail")
        chunked = client.post("/", content=iter([b"ab", b"cdef"]))
        assert chunked.text == "got 6 bytes ending cdef"
        streamed = client.get("/chunked")
        assert streamed.text == "one,two,three"
        assert client.head("/").status_code == 501  # the app has no do_HEAD: passed through
    assert "Forking fprocess." not in watchdog.log()


def test_restarts_a_dead_process(make_http: MakeHttp) -> None:
    watchdog = make_http()
    before = pid_of(httpx.get(watchdog.url))
    assert httpx.get(watchdog.url + "/crash").status_code == 502
    assert wait_until(lambda: "fprocess exited with status 3" in watchdog.log())
    assert wait_until(lambda: httpx.get(watchdog.url + "/_/health").status_code == 200, 10)
    after = pid_of(httpx.get(watchdog.url))
    assert after != before
    assert set(watchdog.children()) == {after}


def test_exec_timeout_is_504_and_max_inflight_429(make_http: MakeHttp) -> None:
    watchdog = make_http(exec_timeout="1s", max_inflight="1")
    statuses: list[int] = []
    slow = threading.Thread(
        target=lambda: statuses.append(httpx.get(watchdog.url + "/slow", timeout=10).status_code)
    )
    started = time.monotonic()
    slow.start()
    time.sleep(0.3)
    assert httpx.get(watchdog.url).status_code == 429
    slow.join()
    assert statuses == [504]
    assert time.monotonic() - started < 2.5
    assert httpx.get(watchdog.url).status_code == 200


def test_sigterm_stops_the_warm_process(make_http: MakeHttp) -> None:
    watchdog = make_http()
    child = pid_of(httpx.get(watchdog.url))
    assert watchdog.stop() == 0
    assert wait_until(
        lambda: (
            not Path(f"/proc/{child}").exists()
            or Path(f"/proc/{child}/stat").read_text().split(") ")[1][0] == "Z"
        )
    )


def test_upstream_that_never_listens_fails_at_start(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(
        start=False, mode="http", fprocess="true", upstream_url=f"http://127.0.0.1:{free_port()}"
    )
    watchdog.start(wait=False)
    assert watchdog.wait() == 2
    assert "fprocess exited with status 0 before accepting connections" in watchdog.log()
