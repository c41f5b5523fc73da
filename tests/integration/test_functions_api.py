"""/system/functions and friends against a real faasbox on the real engine."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.api import deploy, remove, replica_addresses, wait_for
from tests.support.engine import docker, unique
from tests.support.server import Server

pytestmark = pytest.mark.engine


@pytest.fixture
def api(faasbox: Server) -> Iterator[httpx.Client]:
    with faasbox.client() as client:
        yield client


def listed(api: httpx.Client) -> list[str]:
    return [f["name"] for f in api.get("/system/functions").json()]


def seen_within(check: Callable[[], bool], bound: float) -> float:
    """Seconds until `check()` holds; fails past `bound`."""
    begin = time.monotonic()
    while not check():
        assert time.monotonic() - begin < bound, f"not seen within {bound} s"
        time.sleep(0.02)
    return time.monotonic() - begin


def probe_get(address: str, path: str) -> httpx.Response:
    return httpx.get(f"http://{address}:8080{path}", timeout=10)


def test_full_lifecycle(api: httpx.Client, faasbox: Server, probe: str) -> None:
    name, secret = unique("life"), unique("sec")
    assert api.post("/system/secrets", json={"name": secret, "value": "s3cr3t"}).status_code == 201
    fields = {
        "envProcess": "python3 probe.py",
        "envVars": {"GREETING": "hello"},
        "labels": {"team": "core", "com.openfaas.scale.min": "1"},
        "annotations": {"topic": "tests"},
        "secrets": [secret],
        "constraints": ["node.role == manager"],
        "limits": {"memory": "128M", "cpu": "500m"},
        "requests": {"memory": "5Mi"},
        "readOnlyRootFilesystem": True,
        "network": faasbox.network,
        "someFutureField": {"ignored": True},
    }
    try:
        response = deploy(api, name, probe, **fields)
        assert response.status_code == 202, response.text
        listed = {f["name"]: f for f in api.get("/system/functions").json()}
        assert listed[name]["labels"]["faas_function"] == name

        status = wait_for(api, name, available=1)
        assert status["image"] == probe
        assert status["namespace"] == "openfaas-fn"
        assert status["envProcess"] == "python3 probe.py"
        assert status["envVars"] == {"GREETING": "hello"}
        labels = {"team": "core", "com.openfaas.scale.min": "1", "faas_function": name}
        assert status["labels"] == labels
        assert status["annotations"] == {"topic": "tests"}
        assert status["secrets"] == [secret]
        assert status["constraints"] == ["node.role == manager"]
        assert status["limits"] == {"memory": "128M", "cpu": "500m"}
        assert status["requests"] == {"memory": "5Mi"}
        assert status["readOnlyRootFilesystem"] is True
        assert isinstance(status["replicas"], int) and isinstance(status["availableReplicas"], int)
        assert status["createdAt"].endswith("Z")
        assert api.get(f"/system/function/{name}.openfaas-fn").json()["name"] == name

        (address,) = replica_addresses(name, faasbox.network)
        seen = probe_get(address, "/").json()
        assert seen["env"]["GREETING"] == "hello"
        assert seen["env"]["fprocess"] == "python3 probe.py"
        assert probe_get(address, f"/secret/{secret}").text == "s3cr3t"

        # An update with new env rolls the task; the new replica sees it. The labels are
        # sent back as read, faas_function included, as a client copying them would.
        fields["envVars"] = {"GREETING": "bonjour"}
        fields["labels"] = status["labels"]
        assert (
            api.put(
                "/system/functions", json={"service": name, "image": probe, **fields}
            ).status_code
            == 202
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            addresses = replica_addresses(name, faasbox.network)
            if addresses and addresses != [address]:
                try:
                    if probe_get(addresses[0], "/").json()["env"]["GREETING"] == "bonjour":
                        break
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        else:
            raise AssertionError("update did not roll the task")
        updated = api.get(f"/system/function/{name}").json()
        assert updated["envVars"] == {"GREETING": "bonjour"}
        assert updated["labels"] == labels
        (service,) = json.loads(docker("service", "inspect", name))
        assert "faas_function" not in service["Spec"]["Labels"], "derived, never stored"

        # Secret rotation reaches the function without a window where the file is missing.
        assert (
            api.put("/system/secrets", json={"name": secret, "value": "rotated"}).status_code == 200
        )
        deadline = time.monotonic() + 60
        texts: list[str] = []
        while time.monotonic() < deadline:
            try:
                texts = [
                    probe_get(a, f"/secret/{secret}").text
                    for a in replica_addresses(name, faasbox.network)
                ]
            except httpx.HTTPError:  # the old task is being stopped mid-roll
                texts = []
            if texts == ["rotated"]:
                break
            time.sleep(0.3)
        else:
            raise AssertionError(f"secret not rotated: {texts}")
        assert api.get(f"/system/function/{name}").json()["secrets"] == [secret]

        assert (
            api.post(
                f"/system/scale-function/{name}", json={"serviceName": name, "replicas": 3}
            ).status_code
            == 202
        )
        assert wait_for(api, name, available=3)["replicas"] == 3
        assert len(set(replica_addresses(name, faasbox.network))) == 3
        assert (
            api.post(
                f"/system/scale-function/{name}", json={"serviceName": name, "replicas": 1}
            ).status_code
            == 202
        )
        wait_for(api, name, available=1)

        delete = api.request("DELETE", "/system/functions", json={"functionName": name})
        assert delete.status_code == 202
        assert api.get(f"/system/function/{name}").status_code == 404
        assert name not in [f["name"] for f in api.get("/system/functions").json()]
    finally:
        remove(api, name)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if api.request("DELETE", "/system/secrets", json={"name": secret}).status_code in (
                200,
                404,
            ):
                break
            time.sleep(0.5)


def test_scale_to_zero_is_allowed(api: httpx.Client, probe: str) -> None:
    name = unique("zero")
    try:
        assert deploy(api, name, probe).status_code == 202
        wait_for(api, name, available=1)
        assert api.post(f"/system/scale-function/{name}", json={"replicas": 0}).status_code == 202
        status = wait_for(api, name, available=0)
        assert status["replicas"] == 0
    finally:
        remove(api, name)


def test_functions_made_with_docker_cli_appear_and_vanish(
    api: httpx.Client, faasbox: Server, probe: str
) -> None:
    name = unique("cli")
    try:
        docker(
            "service",
            "create",
            "--detach",
            "--name",
            name,
            "--label",
            "function=true",
            "--network",
            faasbox.network,
            "--endpoint-mode",
            "dnsrr",
            probe,
        )
        # Event-driven, not the 15 s safety resync: a few seconds bound the wait even on a
        # loaded machine; the measured delays are printed (the issue asks for under 1 s).
        appeared = seen_within(lambda: name in listed(api), 5.0)
        docker("service", "rm", name)
        vanished = seen_within(lambda: name not in listed(api), 5.0)
        print(
            f"\nservice made with docker: listed after {appeared * 1000:.0f} ms, "
            f"gone {vanished * 1000:.0f} ms after docker service rm"
        )
    finally:
        docker("service", "rm", name, check=False)


def test_two_instances_do_not_see_each_other(
    faasbox: Server, make_server: Callable[..., Server], probe: str
) -> None:
    other = make_server()
    other.start()
    name = unique("iso")
    with faasbox.client() as mine, other.client() as theirs:
        try:
            assert deploy(theirs, name, probe).status_code == 202
            assert name in [f["name"] for f in theirs.get("/system/functions").json()]
            assert name not in [f["name"] for f in mine.get("/system/functions").json()]
            assert mine.get(f"/system/function/{name}").status_code == 404
            delete = mine.request("DELETE", "/system/functions", json={"functionName": name})
            assert delete.status_code == 404
            scale = mine.post(f"/system/scale-function/{name}", json={"replicas": 2})
            assert scale.status_code == 404
            assert theirs.get(f"/system/function/{name}").status_code == 200
        finally:
            remove(theirs, name)
