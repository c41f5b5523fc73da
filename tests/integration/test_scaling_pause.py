"""The pause tier on the real engine: idle functions are frozen, calls thaw them, a
second idle duration takes them to zero, and faasbox copes with restarts, with people
thawing or removing containers, and with an engine that cannot pause.

Short idle durations come from the functions' own labels; the clocks of
tests/integration/test_scaling_kit.py make faasbox tick four times a second.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.test_scaling_kit import FAST_SCALING, burst, fork_image, status, wait_until
from tests.support.api import deploy, remove
from tests.support.engine import docker, unique
from tests.support.pause_refusing_engine import PauseRefusingEngine
from tests.support.server import Server

pytestmark = pytest.mark.engine

PAUSE_SOON = {"com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "2s"}
PAUSE_STAYS = {**PAUSE_SOON, "com.faasbox.scale.zero-duration": "1h"}


def _server(state_dir: Path, **env: str) -> Server:
    return Server(state_dir=state_dir, network=unique("fb15-net"), env={**FAST_SCALING, **env})


@pytest.fixture(scope="module")
def server(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = _server(tmp_path_factory.mktemp("pause"))
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def _deploy(api: httpx.Client, labels: dict[str, str]) -> str:
    name = unique("fb15-pause")
    response = deploy(api, name, fork_image(), labels=labels)
    assert response.status_code == 202, response.text
    return name


def _tier(api: httpx.Client, name: str) -> str:
    tier: str = status(api, name)["faasbox"]["tier"]
    return tier


def _containers(name: str) -> list[str]:
    return docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={name}").split()


def _frozen(name: str) -> list[bool]:
    return [
        docker("inspect", "--format", "{{.State.Paused}}", c) == "true" for c in _containers(name)
    ]


def _metric(server: Server, family: str, name: str, tier: str) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    pattern = rf'^{family}{{function_name="{name}",tier="{tier}"}} (\S+)$'
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _paused(api: httpx.Client, name: str, timeout: float = 30) -> None:
    wait_until(lambda: _tier(api, name) == "paused", timeout, f"{name} paused")


def _at_zero(api: httpx.Client, name: str, timeout: float = 30) -> None:
    wait_until(lambda: _tier(api, name) == "zero", timeout, f"{name} at zero")


def test_idle_function_is_paused_and_a_call_thaws_it(api: httpx.Client, server: Server) -> None:
    name = _deploy(api, PAUSE_STAYS)
    try:
        _paused(api, name)
        assert _frozen(name) == [True]
        now = status(api, name)
        assert (now["replicas"], now["availableReplicas"]) == (1, 0)

        answer = httpx.get(f"{server.url}/function/{name}", timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.text.strip() == "ok"
        assert _tier(api, name) == "running"
        assert _frozen(name) == [False]
        assert status(api, name)["availableReplicas"] == 1
        assert _metric(server, "faasbox_wakes_total", name, "paused") == 1
        assert _metric(server, "faasbox_wake_seconds_count", name, "paused") == 1

        # Idle again, frozen again; fifty calls at once share one thaw and all succeed.
        _paused(api, name)
        result = burst(f"{server.url}/function/{name}", 50)
        assert result.codes == {200: 50}
        assert _metric(server, "faasbox_wakes_total", name, "paused") == 2
        assert _containers(name) and _frozen(name) == [False]
    finally:
        remove(api, name)


def test_second_idle_duration_goes_to_zero_and_a_call_wakes_it(
    api: httpx.Client, server: Server
) -> None:
    name = _deploy(api, {**PAUSE_SOON, "com.faasbox.scale.zero-duration": "3s"})
    try:
        _paused(api, name)
        _at_zero(api, name)
        assert status(api, name)["replicas"] == 0
        wait_until(lambda: not _containers(name), 30, "its container gone")

        answer = httpx.get(f"{server.url}/function/{name}", timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.text.strip() == "ok"
        assert _metric(server, "faasbox_wakes_total", name, "zero") == 1
        assert _metric(server, "faasbox_wake_seconds_count", name, "zero") == 1
        assert _metric(server, "faasbox_wakes_total", name, "paused") == 0
        logs = server.logs()
        assert f"[scale] {name} paused 1 replica(s)" in logs
        assert f"[scale] {name} 1->0: no requests for" in logs
    finally:
        remove(api, name)


def test_thawed_or_removed_behind_faasboxs_back(api: httpx.Client, server: Server) -> None:
    name = _deploy(api, {**PAUSE_STAYS, "com.openfaas.scale.zero-duration": "3s"})
    try:
        _paused(api, name)
        [container] = _containers(name)
        docker("unpause", container)
        wait_until(lambda: _tier(api, name) == "running", 15, "seen running after the unpause")
        assert status(api, name)["availableReplicas"] == 1
        answer = httpx.get(f"{server.url}/function/{name}", timeout=30)
        assert answer.status_code == 200
        assert _metric(server, "faasbox_wakes_total", name, "paused") == 0  # no wake needed

        _paused(api, name)
        [container] = _containers(name)
        docker("rm", "-f", container)
        # Swarm replaces the task; the function is still idle, so the new replica is
        # frozen in turn once it is up, and a call thaws it.
        wait_until(
            lambda: _containers(name) not in ([], [container]) and _frozen(name) == [True],
            60,
            "the replacement paused",
        )
        _paused(api, name)
        answer = httpx.get(f"{server.url}/function/{name}", timeout=30)
        assert answer.status_code == 200
        assert _metric(server, "faasbox_wakes_total", name, "paused") == 1
    finally:
        remove(api, name)


def test_scaling_up_a_paused_function_thaws_it_first(api: httpx.Client, server: Server) -> None:
    labels = {**PAUSE_STAYS, "com.openfaas.scale.max": "3", "com.openfaas.scale.factor": "50"}
    name = _deploy(api, labels)
    try:
        _paused(api, name)
        alert = {
            "status": "firing",
            "labels": {"alertname": "APIHighInvocationRate", "function_name": name},
        }
        assert api.post("/system/alert", json={"alerts": [alert]}).status_code == 200
        assert status(api, name)["replicas"] == 3
        # Still idle, all three are frozen together: the old replica ran again beside the
        # new ones instead of staying frozen behind them.
        wait_until(lambda: f"{name} paused 3 replica(s)" in server.logs(), 60, "three paused")
        assert _frozen(name) == [True, True, True]
    finally:
        remove(api, name)


def test_restart_while_paused_then_wake(engine_ready: None, tmp_path: Path) -> None:
    server = _server(tmp_path / "state")
    try:
        server.start()
        with server.client() as api:
            name = _deploy(api, PAUSE_STAYS)
            _paused(api, name)
            server.stop()
            server.start()
            assert _tier(api, name) == "paused"  # read back from the engine alone
            assert status(api, name)["availableReplicas"] == 0
            answer = httpx.get(f"{server.url}/function/{name}", timeout=30)
            assert answer.status_code == 200, answer.text
            assert answer.text.strip() == "ok"
            assert _frozen(name) == [False]
            assert _metric(server, "faasbox_wakes_total", name, "paused") == 1
    finally:
        server.cleanup()


def test_engine_that_cannot_pause_falls_back_to_zero(engine_ready: None, tmp_path: Path) -> None:
    with PauseRefusingEngine(tmp_path / "engine.sock") as engine:
        server = _server(tmp_path / "state", DOCKER_HOST=engine.url)
        try:
            server.start()
            with server.client() as api:
                names = [_deploy(api, PAUSE_STAYS) for _ in range(2)]
                for name in names:
                    _at_zero(api, name)
                answer = httpx.get(f"{server.url}/function/{names[0]}", timeout=30)
                assert answer.status_code == 200, answer.text
                assert _metric(server, "faasbox_wakes_total", names[0], "zero") == 1
            assert engine.refused >= 1
            logs = server.logs()
            assert logs.count("pausing is not possible on this engine") == 1, logs
            assert "cannot toggle freezer" in logs
        finally:
            server.cleanup()
