"""Task containers: freezing and thawing them (cgroup freezer), finding the frozen ones,
and a container's address where Swarm's task leaves it out.

Swarm knows nothing of pausing: a paused task stays "running" in the task list and
its container keeps its memory, address and open sockets. Only the container's own
state says it is paused, so this module is how faasbox sees (and makes) that state.
Only containers on this node can be paused through this engine.
"""

from __future__ import annotations

import orjson

from faasbox.engine.client import ApiError, Engine
from faasbox.engine.errors import CannotPause

_SERVICE_ID = "com.docker.swarm.service.id"


async def paused(engine: Engine, service_id: str) -> set[str]:
    """Ids of the service's containers on this node that are paused now."""
    filters = orjson.dumps({"label": [f"{_SERVICE_ID}={service_id}"], "status": ["paused"]})
    found = await engine.call("GET", "containers/json", params={"filters": filters.decode()})
    return {str(c["Id"]) for c in found}


async def address(engine: Engine, container_id: str, network_id: str) -> str:
    """The container's IP on the network; "" when it is gone or not attached (yet)."""
    try:
        container = await engine.call("GET", f"containers/{container_id}/json")
    except ApiError:
        return ""
    for network in (container["NetworkSettings"].get("Networks") or {}).values():
        if network.get("NetworkID") == network_id and network.get("IPAddress"):
            return str(network["IPAddress"])
    return ""


async def pause(engine: Engine, container_id: str) -> bool:
    """Freeze one container; True when it is frozen now. False when it is gone, on another
    node or not running (the view catches up from events). CannotPause when the engine
    cannot freeze at all, as a rootless engine on cgroup v1 or a kernel without the
    freezer."""
    return await _call(engine, container_id, "pause", done="already paused")


async def unpause(engine: Engine, container_id: str) -> bool:
    """Thaw one container; True when it runs thawed now (also when someone else thawed it
    first), False when it is gone or not running."""
    return await _call(engine, container_id, "unpause", done="not paused")


async def _call(engine: Engine, container_id: str, action: str, *, done: str) -> bool:
    if not container_id:  # a task whose container Swarm has not reported yet
        return False
    try:
        await engine.call("POST", f"containers/{container_id}/{action}", timeout=10.0)
    except ApiError as exc:
        if exc.status == 409:  # Docker's conflicts: already in that state, or not running
            return done in exc.message
        if exc.status == 404:
            return False
        raise CannotPause(
            f"Docker could not {action} container {container_id[:12]}: {exc.message}"
        ) from None
    return True
