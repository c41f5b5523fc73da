"""The hostile-client suite: shared fixtures, raw sockets, and the closing probe count.

Every test here is one probe (or one family of probes) of what an attacker would try;
the run ends with `N probes, F failed` so a report can quote it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from faasbox.builder.resources import watchdog_app
from tests.support.engine import PYTHON_BASE, REPO, docker, ensure_base, unique
from tests.support.images import Source, built_image
from tests.support.server import Server
from tests.watchdog.conftest import make_watchdog

# The watchdog suite's factory: local watchdog processes, each closed with its children.
__all__ = ["make_watchdog"]
HERE = Path(__file__).resolve().parent
_counts = {"probes": 0, "failed": 0}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not Path(str(report.fspath)).resolve().is_relative_to(HERE):
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _counts["probes"] += 1
        if report.failed:
            _counts["failed"] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _counts["probes"]:
        terminalreporter.write_line(f"{_counts['probes']} probes, {_counts['failed']} failed")


def exchange(port: int, raw: bytes, host: str = "127.0.0.1", timeout: float = 10) -> bytes:
    """Send raw bytes, read until the server closes (or the timeout): what came back."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(raw)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return answer


def status_of(answer: bytes) -> int:
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


@pytest.fixture(scope="session")
def box(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This suite's own faasbox (fresh state dir, own network), defaults otherwise."""
    state = tmp_path_factory.mktemp("fb14-state")
    with Server(state_dir=state, network=unique("fb14-net")) as server:
        yield server


@pytest.fixture(scope="session")
def lockdown_image(engine_ready: None) -> str:
    """The dockerfile template as it ships, with this checkout's watchdog: what
    `faasbox build` makes of a `lang: dockerfile` function."""
    ensure_base()
    context: dict[str, Source] = {
        "Dockerfile": REPO / "templates" / "dockerfile" / "function" / "Dockerfile",
        "fwatchdog.py": watchdog_app(),
    }
    return built_image("fb14-lockdown", context, base=None, BASE_IMAGE=PYTHON_BASE)


def container_of(service: str) -> str:
    ids = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}").split()
    assert ids, f"no running container for {service}"
    return ids[0]
