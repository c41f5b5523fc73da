"""Bring the engine to what faasbox needs: Swarm active and the functions network present."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from faasbox.engine.client import ApiError, Engine
from faasbox.engine.errors import EngineRejected

log = logging.getLogger("faasbox.engine")

NETWORK_LABEL = "com.faasbox.network"
# The engine bind-mounts /etc/hostname (and resolv.conf, hosts) from the container's
# own folder, so the id shows in this process's mount table on cgroup v1 and v2 alike.
_CONTAINER_MOUNT = re.compile(r"/containers/([0-9a-f]{64})/(?:hostname|hosts|resolv\.conf) ")


async def ensure_swarm(engine: Engine) -> str:
    """Initialise a single-node Swarm when the engine is not in one; returns the node id."""
    info = await engine.call("GET", "info")
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") == "active":
        return str(swarm.get("NodeID", ""))
    if not swarm.get("ControlAvailable") and swarm.get("LocalNodeState") not in ("inactive", None):
        raise EngineRejected(f"Swarm is {swarm.get('LocalNodeState')}; fix it with `docker swarm`")
    log.info("[swarm] initialising a single-node swarm")
    try:
        node = await engine.call("POST", "swarm/init", body={"ListenAddr": "0.0.0.0:2377"})
    except ApiError as exc:
        if "multiple addresses" in exc.message or "advertise address" in exc.message:
            raise EngineRejected(
                "this host has several network addresses, so Swarm cannot pick one: run "
                "`docker swarm init --advertise-addr <address>` once, then start faasbox again"
            ) from None
        if "could not find the system's IP address" not in exc.message:
            raise EngineRejected(f"could not initialise Swarm: {exc.message}") from None
        # Loopback only (an offline box, a sandbox): a single node needs no other address.
        log.info("[swarm] no network address besides loopback; advertising 127.0.0.1")
        node = await engine.call(
            "POST",
            "swarm/init",
            body={"ListenAddr": "127.0.0.1:2377", "AdvertiseAddr": "127.0.0.1"},
        )
    return str(node)


async def ensure_network(engine: Engine, name: str, *, overlay: bool = False) -> str:
    """The functions network's id, creating it when missing.

    On the host (the default) it is a swarm-scoped attachable bridge: the host
    reaches task IPs directly and nothing depends on IPVS. As a Swarm service on
    several nodes, an attachable overlay is needed instead.
    """
    networks = await engine.call("GET", "networks", params={"filters": f'{{"name":["{name}"]}}'})
    for network in networks:
        if network["Name"] == name:
            return str(network["Id"])
    log.info("[swarm] creating network %s", name)
    created = await engine.call(
        "POST",
        "networks/create",
        body={
            "Name": name,
            "Driver": "overlay" if overlay else "bridge",
            "Scope": "swarm",
            "Attachable": True,
            "CheckDuplicate": True,
            "Labels": {NETWORK_LABEL: name, "openfaas": "true"},
        },
    )
    return str(created["Id"])


def mounted_container_id(mountinfo: Path = Path("/proc/self/mountinfo")) -> str:
    """The container id in this process's mount table; "" outside a container."""
    try:
        match = _CONTAINER_MOUNT.search(mountinfo.read_text())
    except OSError:
        return ""
    return match.group(1) if match else ""


async def own_container(engine: Engine, container_id: str) -> str:
    """`container_id` when it is one of this engine's containers; "" when it is not (a
    container of another engine, reached through a remote DOCKER_HOST) or empty."""
    if not container_id:
        return ""
    try:
        await engine.call("GET", f"containers/{container_id}/json")
    except ApiError as exc:
        if exc.status == 404:
            return ""
        raise
    return container_id


async def attach(engine: Engine, network_id: str, container_id: str) -> None:
    """Connect faasbox's own container to the functions network (a stack may have done
    it already), so the gateway reaches task IPs directly instead of through IPVS."""
    container = await engine.call("GET", f"containers/{container_id}/json")
    attached = (container.get("NetworkSettings") or {}).get("Networks") or {}
    if any(n.get("NetworkID") == network_id for n in attached.values()):
        return
    log.info("[swarm] attaching this container to the functions network")
    await engine.call("POST", f"networks/{network_id}/connect", body={"Container": container_id})
