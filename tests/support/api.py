"""Small helpers over the /system API for tests: deploy, wait, address of a replica."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.support.engine import docker


def deploy(client: httpx.Client, name: str, image: str, **fields: Any) -> httpx.Response:
    return client.post("/system/functions", json={"service": name, "image": image, **fields})


def wait_for(
    client: httpx.Client, name: str, *, available: int, timeout: float = 60.0
) -> dict[str, Any]:
    """The function's status once `available` replicas are ready (and no more)."""
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/system/function/{name}")
        if response.status_code == 200:
            status = response.json()
            if status["availableReplicas"] == available and status["replicas"] == available:
                return status
        time.sleep(0.2)
    raise AssertionError(f"{name} never had {available} ready replicas; last: {status}")


def replica_addresses(service: str, network: str) -> list[str]:
    """IPs of the service's running containers on the network, read from Docker itself."""
    ids = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}").split()
    addresses = []
    for container in ids:
        ip = docker(
            "inspect",
            container,
            "--format",
            f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}',
        )
        if ip:
            addresses.append(ip)
    return addresses


def remove(client: httpx.Client, name: str) -> None:
    client.request("DELETE", "/system/functions", json={"functionName": name})
