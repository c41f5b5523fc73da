"""The engine's event stream, reduced to "this service may have changed".

Swarm has no task events, so container events stand in for task state changes on this
node, and service events for spec changes made by anyone, faasbox or `docker service`
alike. Only the events that can change what the functions view holds are asked for:
a replica's health check is an exec every interval (`exec_create`, `exec_start`,
`exec_die`), and reading the service again for each would cost faasbox and dockerd
more than the check itself. `health_status` is kept: Docker sends it only when the
health changes, and that moves a task between "starting" and "running" (or has Swarm
replace it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from faasbox.engine.client import Engine, json_lines

# type -> actions that can change a function's tasks, addresses or pause state. `kill`
# is the first word of a stop (Swarm's scale down and update, `docker kill`), before
# `die`; `health_status` matches "health_status: healthy" and the like on the daemon's
# side (Docker matches it by prefix).
_WANTED = {
    "service": {"create", "update", "remove"},
    "container": {"start", "kill", "die", "pause", "unpause", "health_status"},
}
# Docker ANDs the keys and ORs the values: container create/update/remove would pass
# too, so the pair is checked again on arrival.
_FILTERS = orjson.dumps(
    {"type": sorted(_WANTED), "event": sorted({a for actions in _WANTED.values() for a in actions})}
).decode()
_SERVICE_LABEL = "com.docker.swarm.service.name"
# Docker sends these before its container listing shows the new state.
_LAGGING = {"pause", "unpause"}


async def service_changes(engine: Engine) -> AsyncIterator[tuple[str, bool]]:
    """(name, lagging) for the service each event touches, until the stream breaks
    (EngineUnavailable); `lagging` says a read made right now may not show the change yet."""
    async with engine.stream(
        "GET", "events", params={"filters": _FILTERS}, timeout=None
    ) as response:
        async for event in json_lines(response):
            kind = str(event.get("Type"))
            action = str(event.get("Action")).partition(":")[0]
            if action not in _WANTED.get(kind, ()):
                continue
            attributes = (event.get("Actor") or {}).get("Attributes") or {}
            name = attributes.get("name" if kind == "service" else _SERVICE_LABEL)
            if name:
                yield str(name), action in _LAGGING
