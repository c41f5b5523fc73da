"""Fixtures shared by every suite. Engine tests skip only where no engine can exist."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.engine import have_docker, probe_image
from tests.support.server import Server


@pytest.fixture(scope="session")
def engine_ready() -> None:
    if not have_docker():
        pytest.fail("no Docker Engine: run scripts/engine.sh (the test command does)")


@pytest.fixture(scope="session")
def faasbox(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One faasbox for the session, on its own network, removed with its functions after."""
    server = Server(state_dir=tmp_path_factory.mktemp("faasbox-state"))
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def probe(engine_ready: None) -> str:
    return probe_image()


@pytest.fixture
def make_server(engine_ready: None, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """A factory for tests that need their own faasbox (restarts, kills, isolation)."""
    made: list[Server] = []

    def factory(**kwargs: object) -> Server:
        server = Server(state_dir=tmp_path / f"state{len(made)}", **kwargs)  # type: ignore[arg-type]
        made.append(server)
        return server

    yield factory
    for server in made:
        server.cleanup()
