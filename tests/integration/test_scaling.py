"""Autoscaling, scale to zero and back, manual scaling and /system/alert on the real engine.

One faasbox with fast scaling clocks (tests/integration/test_scaling_kit.py) serves the
module; each test deploys its own functions and removes them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.test_scaling_kit import (
    FAST_SCALING,
    SLOW_HEALTHCHECK,
    Load,
    burst,
    fork_image,
    replicas_are,
    status,
    wait_until,
)
from tests.support.api import deploy, remove, wait_for
from tests.support.engine import docker, unique
from tests.support.server import Server

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def server(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(state_dir=tmp_path_factory.mktemp("scaling"), env=dict(FAST_SCALING)) as server:
        yield server


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def functions(api: httpx.Client) -> Iterator[list[str]]:
    """Names a test deploys; removed after it."""
    names: list[str] = []
    yield names
    for name in names:
        remove(api, name)


def _deploy(
    api: httpx.Client, names: list[str], image: str, labels: dict[str, str], **fields: object
) -> str:
    name = unique("scale")
    names.append(name)
    response = deploy(api, name, image, labels=labels, **fields)
    assert response.status_code == 202, response.text
    return name


def _alert(function: str, state: str) -> dict[str, object]:
    return {
        "status": state,
        "labels": {"alertname": "APIHighInvocationRate", "function_name": function},
        "annotations": {"summary": f"High invocation total on {function}"},
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
    }


def _webhook(*alerts: dict[str, object]) -> dict[str, object]:
    return {
        "receiver": "scale-up",
        "status": "firing",
        "alerts": list(alerts),
        "groupLabels": {"alertname": "APIHighInvocationRate"},
        "commonLabels": {"alertname": "APIHighInvocationRate"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="APIHighInvocationRate"}',
    }


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        ({"com.openfaas.scale.min": "two"}, "whole number"),
        ({"com.openfaas.scale.max": "-3"}, "negative"),
        ({"com.openfaas.scale.min": "4", "com.openfaas.scale.max": "2"}, "above"),
        ({"com.openfaas.scale.factor": "150"}, "between 0 and 100"),
    ],
)
def test_bad_labels_are_refused_at_deploy(
    api: httpx.Client, probe: str, labels: dict[str, str], words: str
) -> None:
    name = unique("badlabel")
    response = deploy(api, name, probe, labels=labels)
    assert response.status_code == 400
    assert words in response.json()["message"]
    assert api.get(f"/system/function/{name}").status_code == 404


def test_alerts_step_up_and_reset(api: httpx.Client, probe: str, functions: list[str]) -> None:
    labels = {"com.openfaas.scale.max": "5", "com.openfaas.scale.factor": "40"}  # step 2
    first = _deploy(api, functions, probe, labels)
    second = _deploy(api, functions, probe, labels)
    wait_for(api, first, available=1)
    wait_for(api, second, available=1)

    grouped = _webhook(_alert(first, "firing"), _alert(f"{second}.openfaas-fn", "firing"))
    assert api.post("/system/alert", json=grouped).status_code == 200
    assert status(api, first)["replicas"] == 3 and status(api, second)["replicas"] == 3
    assert api.post("/system/alert", json=_webhook(_alert(first, "firing"))).status_code == 200
    assert api.post("/system/alert", json=_webhook(_alert(first, "firing"))).status_code == 200
    assert status(api, first)["replicas"] == 5  # capped at max
    wait_until(lambda: replicas_are(api, first, 5), 60, "5 ready replicas")

    mixed = _webhook(
        _alert(first, "resolved"),
        _alert(second, "firing"),
        {"status": "firing", "labels": {"alertname": "service_down", "instance": "x"}},
        _alert("no-such-function", "firing"),
    )
    assert api.post("/system/alert", json=mixed).status_code == 200
    assert status(api, first)["replicas"] == 1
    assert status(api, second)["replicas"] == 5


def test_alert_payload_must_be_alertmanagers(api: httpx.Client) -> None:
    empty = api.post("/system/alert", content=b"", headers={"Content-Type": "application/json"})
    assert empty.status_code == 400
    assert api.post("/system/alert", json={"alerts": "nope"}).status_code == 400
    assert api.post("/system/alert", json=[1, 2]).status_code == 400


def test_min_equal_max_pins(
    api: httpx.Client, server: Server, probe: str, functions: list[str]
) -> None:
    labels = {"com.openfaas.scale.min": "2", "com.openfaas.scale.max": "2"}
    name = _deploy(api, functions, probe, labels)
    wait_for(api, name, available=2)
    assert api.post("/system/alert", json=_webhook(_alert(name, "firing"))).status_code == 200
    load = Load(f"{server.url}/function/{name}", rate=40).start()
    try:
        time.sleep(6)  # well past the fast hold and window
    finally:
        load.stop()
    assert status(api, name)["replicas"] == 2
    assert set(load.codes) == {200}


def test_manual_scale_holds(api: httpx.Client, probe: str, functions: list[str]) -> None:
    name = _deploy(api, functions, probe, {})
    wait_for(api, name, available=1)
    response = api.post(f"/system/scale-function/{name}", json={"serviceName": name, "replicas": 3})
    assert response.status_code == 202
    wait_until(lambda: replicas_are(api, name, 3), 60, "3 ready replicas")
    time.sleep(float(FAST_SCALING["FAASBOX_SCALE_WINDOW"]) + 2)
    assert status(api, name)["replicas"] == 3

    response = api.post(f"/system/scale-function/{name}", json={"serviceName": name, "replicas": 0})
    assert response.status_code == 202
    wait_until(lambda: replicas_are(api, name, 0), 30, "0 replicas")
    time.sleep(float(FAST_SCALING["FAASBOX_SCALE_WINDOW"]) + 2)
    assert status(api, name)["replicas"] == 0


def test_sustained_load_scales_up_and_back(
    api: httpx.Client, server: Server, probe: str, functions: list[str]
) -> None:
    labels = {"com.openfaas.scale.max": "4", "com.openfaas.scale.factor": "50"}  # step 2
    name = _deploy(api, functions, probe, labels)
    wait_for(api, name, available=1)
    load = Load(f"{server.url}/function/{name}", rate=30).start()
    try:
        took = wait_until(lambda: replicas_are(api, name, 3), 60, "3 ready replicas under load")
        before = sum(load.hosts.values())
        wait_until(lambda: sum(load.hosts.values()) > before + 60, 30, "traffic after the scale-up")
    finally:
        load.stop()
    print(f"load start -> 3 ready replicas: {took:.1f} s")
    assert len(load.hosts) >= 2, f"new replicas served nothing: {load.hosts}"
    assert load.codes[200] == sum(load.codes.values()), load.codes
    wait_until(lambda: replicas_are(api, name, 1), 60, "back to min once load stops")


def test_target_mode_sizes_by_concurrency(
    api: httpx.Client, server: Server, functions: list[str]
) -> None:
    labels = {"com.openfaas.scale.target": "2", "com.openfaas.scale.max": "6"}
    name = _deploy(api, functions, fork_image(), labels, envProcess="/bin/sleep 0.5")
    wait_for(api, name, available=1)
    load = Load(f"{server.url}/function/{name}", rate=1000, threads=8).start()  # 8 busy
    try:
        took = wait_until(
            lambda: status(api, name)["replicas"] == 4, 30, "4 replicas for 8 in flight"
        )
    finally:
        load.stop()
    print(f"target mode: load start -> 4 replicas decided: {took:.1f} s")
    assert set(load.codes) == {200}, load.codes
    wait_until(lambda: replicas_are(api, name, 1), 60, "back to min once load stops")


def test_idle_function_sleeps_and_a_burst_wakes_it(
    api: httpx.Client, server: Server, functions: list[str], tmp_path: Path
) -> None:
    labels = {
        "com.openfaas.scale.zero": "true",
        "com.openfaas.scale.zero-duration": "3s",
        "com.faasbox.scale.pause": "false",  # straight to zero (test_scaling_pause: tiers)
    }
    name = _deploy(api, functions, fork_image(), labels)
    # Deployed with one replica (min), it goes to zero 3 s after faasbox first saw it.
    slept = wait_until(lambda: replicas_are(api, name, 0), 30, "scaled to zero when idle")
    print(f"idle -> 0 replicas after {slept:.1f} s (zero-duration 3s)")

    result = burst(f"{server.url}/function/{name}", 200)
    print(
        f"200-burst on a cold function: {dict(result.codes)}; first 200 after "
        f"{result.first_ok * 1000:.0f} ms; p50 {result.median * 1000:.0f} ms, "
        f"p99 {result.percentile(99) * 1000:.0f} ms"
    )
    assert result.codes == {200: 200}
    wait_until(lambda: replicas_are(api, name, 0), 30, "asleep again after the burst")


def test_wake_does_not_wait_for_the_image_healthcheck(
    api: httpx.Client, server: Server, functions: list[str]
) -> None:
    """Template images carry a HEALTHCHECK, and Swarm keeps a task "starting" until its
    first check (30 s here). The waker probes /_/health itself, so the first request is
    answered while Docker still says the container's health is starting."""
    labels = {"com.openfaas.scale.zero": "true"}
    name = _deploy(api, functions, fork_image(SLOW_HEALTHCHECK), labels)
    response = api.post(f"/system/scale-function/{name}", json={"serviceName": name, "replicas": 0})
    assert response.status_code == 202
    wait_until(lambda: replicas_are(api, name, 0), 60, "0 replicas")
    answer = httpx.get(f"{server.url}/function/{name}", timeout=60)
    health = docker(
        "ps", "--filter", f"label=com.docker.swarm.service.name={name}", "--format", "{{.Status}}"
    )
    assert answer.status_code == 200, answer.text
    assert "health: starting" in health, health
    assert status(api, name)["availableReplicas"] == 1


def test_wake_gives_up_with_504(api: httpx.Client, server: Server, functions: list[str]) -> None:
    """A function whose replicas never get healthy: waiting callers get a clear 504."""
    labels = {"com.openfaas.scale.zero": "true"}
    name = _deploy(api, functions, fork_image(), labels, envVars={"suppress_lock": "true"})
    response = api.post(f"/system/scale-function/{name}", json={"serviceName": name, "replicas": 0})
    assert response.status_code == 202
    wait_until(lambda: replicas_are(api, name, 0), 30, "0 replicas")
    begin = time.monotonic()
    answer = httpx.get(f"{server.url}/function/{name}", timeout=60)
    waited = time.monotonic() - begin
    assert answer.status_code == 504
    assert "no ready replica" in answer.text
    assert waited == pytest.approx(float(FAST_SCALING["FAASBOX_SCALE_FROM_ZERO_TIMEOUT"]), abs=3)
