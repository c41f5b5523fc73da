"""Bring the engine to what faasbox needs: Swarm active and the functions network present."""

from __future__ import annotations

import logging

from faasbox.engine.client import ApiError, Engine
from faasbox.engine.errors import EngineRejected

log = logging.getLogger("faasbox.engine")

NETWORK_LABEL = "com.faasbox.network"


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
