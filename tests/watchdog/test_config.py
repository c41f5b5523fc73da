"""Bad configuration fails at start with one clear line and a non-zero exit."""

from __future__ import annotations

import socket

import pytest

from tests.watchdog.conftest import MakeWatchdog


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "fprocess is not set"),
        ({"fprocess": "no-such-program-here"}, "not an executable file or on PATH"),
        ({"fprocess": "cat", "read_timeout": "soon"}, "read_timeout='soon' is not a duration"),
        ({"fprocess": "cat", "write_timeout": "10 s"}, "write_timeout='10 s' is not a duration"),
        ({"fprocess": "cat", "exec_timeout": "-1s"}, "exec_timeout='-1s' is not a duration"),
        ({"fprocess": "cat", "healthcheck_interval": "x"}, "healthcheck_interval='x'"),
        ({"fprocess": "cat", "max_inflight": "many"}, "max_inflight='many' is not an integer"),
        ({"fprocess": "cat", "port": "99999"}, "port='99999' is not an integer"),
        ({"fprocess": "cat", "mode": "afterburn"}, "mode='afterburn' must be fork or http"),
        ({"fprocess": "cat", "mode": "http"}, "mode=http needs upstream_url"),
        ({"fprocess": "cat", "mode": "http", "upstream_url": "ftp://x"}, "must be http://host"),
        ({"fprocess": "cat", "watchdog_workers": "0"}, "watchdog_workers='0' is not an integer"),
        (
            {
                "fprocess": "cat",
                "mode": "http",
                "upstream_url": "http://127.0.0.1:1",
                "watchdog_workers": "2",
            },
            "watchdog_workers applies to fork mode only",
        ),
    ],
)
def test_bad_setting_fails_at_start(
    make_watchdog: MakeWatchdog, env: dict[str, str], message: str
) -> None:
    watchdog = make_watchdog(start=False, **env)
    if "fprocess" not in env:
        watchdog.env.pop("fprocess", None)
    watchdog.start(wait=False)
    assert watchdog.wait() == 2
    lines = watchdog.log().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("fwatchdog: ")
    assert message in lines[0]


def test_port_in_use_fails_at_start(make_watchdog: MakeWatchdog) -> None:
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        watchdog = make_watchdog(start=False, fprocess="cat", port=str(taken.getsockname()[1]))
        watchdog.start(wait=False)
        assert watchdog.wait() == 2
    assert watchdog.log().strip().endswith("Address already in use")
    assert "Forking" not in watchdog.log()


def test_durations_accept_seconds_and_go_forms(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(
        fprocess="cat",
        read_timeout="7",
        write_timeout="1m30s",
        exec_timeout="1.5s",
        healthcheck_interval="250ms",
    )
    assert "Timeouts: read: 7s, write: 90s, hard: 1.5s, health: 0.25s." in watchdog.log()
    assert watchdog.stop() == 0


def test_healthcheck_interval_defaults_to_write_timeout(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(start=False, fprocess="cat", write_timeout="2s")
    del watchdog.env["healthcheck_interval"]
    watchdog.start()
    assert "write: 2s, hard: 0s, health: 2s." in watchdog.log()
