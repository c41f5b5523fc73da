"""Fixtures shared by every suite, and the check after it that nothing was left behind."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.engine import have_docker, run_token
from tests.support.images import probe_image
from tests.support.leftovers import sweep
from tests.support.server import Server


def pytest_configure(config: pytest.Config) -> None:
    """The run's token enters the environment before any test starts a process."""
    run_token()


@pytest.fixture(scope="session")
def engine_ready() -> None:
    if not have_docker():
        pytest.fail("no Docker Engine: run scripts/engine.sh (the test command does)")


@pytest.fixture(scope="session")
def faasbox(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One faasbox for the session, on its own network, removed with its functions after."""
    with Server(state_dir=tmp_path_factory.mktemp("faasbox-state")) as server:
        yield server


@pytest.fixture(scope="session")
def probe(engine_ready: None) -> str:
    return probe_image()


@pytest.fixture
def make_server(engine_ready: None, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """A factory for tests that need their own faasbox (restarts, kills, isolation)."""
    numbers = itertools.count()
    with ExitStack() as cleanups:  # every server is cleaned up, even when one cleanup fails

        def factory(**kwargs: object) -> Server:
            state_dir = tmp_path / f"state{next(numbers)}"
            server = Server(state_dir=state_dir, **kwargs)  # type: ignore[arg-type]
            cleanups.callback(server.cleanup)
            return server

        yield factory


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Run after every fixture's teardown: any process still carrying this run's token
    and any engine object named with it is a leak. It is removed, and the run fails."""
    if not have_docker():
        return
    left = sweep(run_token())
    if left:
        print("\nleftovers: the suite left these behind (now removed):", file=sys.stderr)
        for line in left:
            print(f"  {line}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        print("\nleftovers: none (no process or engine object of this run remains)")
