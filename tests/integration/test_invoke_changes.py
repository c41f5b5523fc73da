"""Replicas change under a steady load of POSTs, and callers notice nothing they should not.

The echo function (tests/images/invoke) prints `executed <call id>` for every /record call
it runs, so each replica's container log is the list of calls it executed; every call
carries its own id. On SIGTERM echo keeps serving for a second, then finishes what it
runs, as a watchdog does.
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support import images
from tests.support.engine import DOCKER, docker, unique
from tests.support.server import Server

pytestmark = pytest.mark.engine

CALLERS = 4
REPLICAS = 3


@dataclass
class Load:
    """Callers POSTing /record in a loop until stopped; every outcome by call id. Each
    replica's log is followed from the start (Swarm deletes the containers of a scale
    down), and `executed` holds what every container logged, by container id."""

    server: Server
    name: str
    outcomes: dict[str, int] = field(default_factory=dict)  # call id -> status, 0: error
    executed: dict[str, list[str]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _followers: dict[str, subprocess.Popen[str]] = field(default_factory=dict)

    def __enter__(self) -> Load:
        self._follow()
        self._threads = [threading.Thread(target=self._call) for _ in range(CALLERS)]
        self._threads.append(threading.Thread(target=self._watch))
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        time.sleep(0.5)  # the last lines reach the followers
        for container, follower in self._followers.items():
            follower.terminate()
            out, _ = follower.communicate()
            self.executed[container] = [
                line.split()[1] for line in out.splitlines() if line.startswith("executed ")
            ]

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            self._follow()

    def _follow(self) -> None:
        listed = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={self.name}")
        for container in listed.split():
            if container not in self._followers:
                self._followers[container] = subprocess.Popen(
                    [DOCKER, "logs", "-f", container],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )

    def counts(self, containers: Iterable[str] | None = None) -> Counter[str]:
        """How often each call id was executed, on these containers (default: all)."""
        chosen = self.executed if containers is None else containers
        return Counter(i for c in chosen for i in self.executed.get(c, []))

    def _call(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            while not self._stop.is_set():
                call_id = str(uuid.uuid4())
                try:
                    status = client.post(
                        f"/function/{self.name}/record?s=0.02",
                        content=b"order #%d" % len(self.outcomes),
                        headers={"X-Call-Id": call_id},
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                self.outcomes[call_id] = status

    def failed(self) -> dict[str, int]:
        return {k: v for k, v in self.outcomes.items() if v != 200}


ENV = {"write_timeout": "5s"}


@pytest.fixture
def recorder(faasbox: Server) -> Iterator[str]:
    """An echo function with REPLICAS replicas, removed after the test."""
    with _function(faasbox, REPLICAS, ENV) as name:
        yield name


def _spec(name: str, env: dict[str, str]) -> dict[str, object]:
    """What deploy and the rolling update both send: only the env differs."""
    return {
        "service": name,
        "image": images.echo_image(),
        "labels": {"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "3"},
        "envVars": env,
    }


@contextmanager
def _function(server: Server, replicas: int, env: dict[str, str]) -> Iterator[str]:
    name = unique("fb11-chg")
    with server.client() as api:
        response = api.post("/system/functions", json=_spec(name, env))
        assert response.status_code == 202, response.text
        assert api.post(f"/system/scale-function/{name}", json={"replicas": replicas}).is_success
    try:
        _wait(server, name, lambda f: f["availableReplicas"] == replicas)
        yield name
    finally:
        with server.client() as api:
            api.request("DELETE", "/system/functions", json={"functionName": name})


def _wait(
    server: Server, name: str, done: Callable[[dict[str, Any]], bool], timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    with server.client() as api:
        while time.monotonic() < deadline:
            response = api.get(f"/system/function/{name}")
            if response.status_code == 200 and done(response.json()):
                return
            time.sleep(0.1)
    raise AssertionError(f"{name} never reached the state asked for")


def _ran_once(load: Load, executed: Counter[str]) -> None:
    """Every call answered 200 was executed exactly once."""
    twice = [i for i, status in load.outcomes.items() if status == 200 and executed[i] != 1]
    assert not twice, [(i, executed[i]) for i in twice[:5]]


def _updated(name: str) -> bool:
    state = docker(
        "service", "inspect", name, "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}"
    )
    return state == "completed"


def test_scale_down_under_load_fails_no_call(faasbox: Server, recorder: str) -> None:
    with Load(faasbox, recorder) as load:
        time.sleep(1.5)
        with faasbox.client() as api:
            assert api.post(f"/system/scale-function/{recorder}", json={"replicas": 1}).is_success
        _wait(faasbox, recorder, lambda f: f["availableReplicas"] == 1 and f["replicas"] == 1)
        time.sleep(3.0)  # past the leaving replicas' drain
    assert len(load.outcomes) > 100
    assert load.failed() == {}
    _ran_once(load, load.counts())


def test_rolling_update_under_load_fails_no_call(faasbox: Server, recorder: str) -> None:
    with Load(faasbox, recorder) as load:
        time.sleep(1.5)
        with faasbox.client() as api:
            response = api.put("/system/functions", json=_spec(recorder, {**ENV, "VERSION": "2"}))
            assert response.is_success, response.text
        deadline = time.monotonic() + 90
        while not _updated(recorder):
            assert time.monotonic() < deadline, "the update never completed"
            time.sleep(0.2)
        time.sleep(2.0)
    assert len(load.outcomes) > 100
    assert load.failed() == {}
    _ran_once(load, load.counts())


def test_a_killed_replica_fails_only_its_calls_and_none_runs_twice(
    faasbox: Server, recorder: str
) -> None:
    victim = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={recorder}")
    victim = victim.split()[0]
    with Load(faasbox, recorder) as load:
        time.sleep(1.5)
        docker("kill", victim)
        _wait(faasbox, recorder, lambda f: f["availableReplicas"] < REPLICAS)
        time.sleep(2.0)
    on_victim = set(load.counts([victim]))
    others = [c for c in load.executed if c != victim]  # the replacement included
    on_survivors = load.counts(others)
    assert len(load.outcomes) > 100
    assert max(on_survivors.values()) == 1, "a call ran twice on the survivors"
    assert not on_victim & set(on_survivors), "a call ran on the killed replica and again"
    failed = load.failed()
    assert len(failed) <= CALLERS, failed  # at most the calls on it when it died
    assert not set(failed) & set(on_survivors), "a failed call ran on a replica that lives"
    _ran_once(load, on_survivors + Counter(on_victim))


def test_a_new_replica_gets_calls_only_once_it_answers(faasbox: Server) -> None:
    """Swarm calls these replicas healthy at once (their lock file exists) while their
    server answers 503 for three seconds: calls must not see that."""
    with _function(faasbox, 1, {**ENV, "WARMUP": "3"}) as name, Load(faasbox, name) as load:
        time.sleep(1.0)
        with faasbox.client() as api:
            assert api.post(f"/system/scale-function/{name}", json={"replicas": 2}).is_success
        _wait(faasbox, name, lambda f: f["availableReplicas"] == 2)
        time.sleep(1.0)
    served = [len(calls) for calls in load.executed.values()]
    assert load.failed() == {}
    assert len(served) == 2 and min(served) > 0, served  # the new replica took calls too


def test_after_an_update_the_new_replica_takes_every_call_before_swarm_is_done(
    faasbox: Server,
) -> None:
    """A template's healthcheck runs every 60 s, so Swarm stops the old replica of a
    start-first update only a minute after the new one starts; faasbox serves the new
    one as soon as it answers, and from then on only it, as a user who just deployed a
    fix expects."""
    slow_check = f"FROM {images.echo_image()}\nHEALTHCHECK --interval=60s CMD [ -e /tmp/.lock ]\n"
    image = images.built_image("invoke-echo-60s", {"Dockerfile": slow_check}, base=None)
    name = unique("fb17-upd")
    spec = {**_spec(name, ENV), "image": image}
    with faasbox.client() as api:
        try:
            assert api.post("/system/functions", json=spec).status_code == 202
            _wait(faasbox, name, lambda f: f["availableReplicas"] == 1)
            old = api.post(f"/function/{name}/record?s=0").text
            updated = {**spec, "envVars": {**ENV, "VERSION": "2"}}
            assert api.put("/system/functions", json=updated).is_success
            deadline = time.monotonic() + 30
            while (host := api.post(f"/function/{name}/record?s=0").text) == old:
                assert time.monotonic() < deadline, "the new replica never took a call"
                time.sleep(0.1)
            hosts = {api.post(f"/function/{name}/record?s=0").text for _ in range(20)}
            assert hosts == {host}, hosts
            assert not _updated(name), "Swarm finished first: the test showed nothing"
        finally:
            api.request("DELETE", "/system/functions", json={"functionName": name})
