"""The engine's event stream, reduced to "this service may have changed".

Swarm has no task events, so container events (start, die, health_status, pause,
unpause) stand in for task state changes on this node, and service events for spec
changes made by anyone, faasbox or `docker service` alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from faasbox.engine.client import Engine, json_lines

_FILTERS = orjson.dumps({"type": ["service", "container"]}).decode()
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
            attributes = (event.get("Actor") or {}).get("Attributes") or {}
            if event.get("Type") == "service":
                name = attributes.get("name")
            else:
                name = attributes.get(_SERVICE_LABEL)
            if name:
                yield str(name), event.get("Action") in _LAGGING
