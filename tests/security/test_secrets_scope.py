"""Two faasboxes on one engine: neither lists, changes, removes or mounts the other's
secrets, nor any Swarm secret made outside it. Before: /system/secrets listed every
`com.openfaas.owner=openfaas` secret and a deploy could mount any secret by name."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.api import deploy, remove
from tests.support.engine import docker, unique
from tests.support.server import Server

pytestmark = pytest.mark.engine


@pytest.fixture
def other(make_server: Callable[..., Server]) -> Server:
    server = make_server(network=unique("fb14-other"))
    server.start()
    return server


@pytest.fixture
def raw_secret() -> Iterator[str]:
    """A secret made with `docker secret create`, labelled as OpenFaaS's own tools do."""
    name = unique("fb14-raw")
    docker("secret", "create", "--label", "com.openfaas.owner=openfaas", name, "/etc/hostname")
    yield name
    docker("secret", "rm", name, check=False)


def names(server: Server) -> list[str]:
    with server.client() as api:
        return [s["name"] for s in api.get("/system/secrets").json()]


def test_each_instance_sees_and_changes_only_its_own(box: Server, other: Server) -> None:
    name = unique("fb14-mine")
    with box.client() as mine, other.client() as theirs:
        assert mine.post("/system/secrets", json={"name": name, "value": "a"}).status_code == 201
        try:
            assert name in names(box) and name not in names(other)
            assert (
                theirs.put("/system/secrets", json={"name": name, "value": "x"}).status_code == 404
            )
            gone = theirs.request("DELETE", "/system/secrets", json={"name": name})
            assert gone.status_code == 404
            # The same OpenFaaS name is free in the other instance: no Swarm-name clash.
            assert (
                theirs.post("/system/secrets", json={"name": name, "value": "b"}).status_code == 201
            )
            assert (
                theirs.request("DELETE", "/system/secrets", json={"name": name}).status_code == 200
            )
            assert name in names(box)
        finally:
            mine.request("DELETE", "/system/secrets", json={"name": name})


def test_a_function_cannot_mount_another_instances_secret(
    box: Server, other: Server, probe: str, raw_secret: str
) -> None:
    name = unique("fb14-theirs")
    with box.client() as mine, other.client() as theirs:
        assert mine.post("/system/secrets", json={"name": name, "value": "a"}).status_code == 201
        try:
            for secret in (name, raw_secret):
                thief = unique("fb14-thief")
                answer = deploy(theirs, thief, probe, secrets=[secret])
                assert answer.status_code == 400, answer.text
                assert "secret not found" in answer.json()["message"]
            assert raw_secret not in names(box) and raw_secret not in names(other)
        finally:
            mine.request("DELETE", "/system/secrets", json={"name": name})


def test_own_secrets_still_mount(box: Server, probe: str) -> None:
    name, secret = unique("fb14-uses"), unique("fb14-own")
    with box.client() as api:
        assert api.post("/system/secrets", json={"name": secret, "value": "v"}).status_code == 201
        try:
            assert deploy(api, name, probe, secrets=[secret]).status_code == 202
        finally:
            remove(api, name)
            for _ in range(60):  # in use until the service is gone
                gone = api.request("DELETE", "/system/secrets", json={"name": secret})
                if gone.status_code != 409:
                    break
                time.sleep(0.5)


def test_secrets_its_functions_already_mount_are_adopted_at_start(
    make_server: Callable[..., Server], probe: str
) -> None:
    """An upgrade from a faasbox that did not label secrets breaks no function: what its
    own functions mount becomes its own; nothing else does."""
    server = make_server(network=unique("fb14-adopt"))
    server.start()
    secret, stray, name = unique("fb14-legacy"), unique("fb14-stray"), unique("fb14-old")
    for each in (secret, stray):
        docker("secret", "create", "--label", "com.openfaas.owner=openfaas", each, "/etc/hostname")
    try:
        docker(
            "service", "create", "--detach", "--name", name, "--network", server.network,
            "--label", "function=true", "--label", f"com.openfaas.function={name}",
            "--secret", f"source={secret},target=/var/openfaas/secrets/{secret}", probe,
        )  # fmt: skip
        assert secret not in names(server)
        server.stop()
        server.start()
        assert secret in names(server) and stray not in names(server)
        assert "is now its own" in server.logs()
    finally:
        docker("service", "rm", name, check=False)
        for each in (secret, stray):
            for _ in range(60):
                if not docker("secret", "rm", each, check=False):
                    time.sleep(0.5)
                    continue
                break
