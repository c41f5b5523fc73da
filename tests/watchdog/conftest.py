"""Fixtures for the watchdog suite: a factory of watchdog processes and a static C handler."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.watchdog.harness import Watchdog

REPLY_SOURCE = Path(__file__).resolve().parents[1] / "images" / "reply" / "reply.c"

MakeWatchdog = Callable[..., Watchdog]


@pytest.fixture
def make_watchdog(tmp_path: Path) -> Iterator[MakeWatchdog]:
    """`make_watchdog(fprocess="cat", ...)` starts one; all are stopped after the test."""
    made: list[Watchdog] = []

    def factory(python: str | None = None, start: bool = True, **env: str) -> Watchdog:
        workdir = tmp_path / f"wd{len(made)}"
        workdir.mkdir()
        kwargs = {"python": python} if python else {}
        watchdog = Watchdog(workdir, env, **kwargs)
        made.append(watchdog)
        return watchdog.start() if start else watchdog

    yield factory
    for watchdog in made:
        watchdog.close()


@pytest.fixture(scope="session")
def reply_program(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A static C program that reads stdin and answers one line: the cheapest child."""
    binary = tmp_path_factory.mktemp("reply") / "reply"
    subprocess.run(["gcc", "-O2", "-static", "-o", str(binary), str(REPLY_SOURCE)], check=True)
    return str(binary)
