"""Push a built image through the engine API, so no docker client is needed."""

from __future__ import annotations

import base64
from collections.abc import Callable
from urllib.parse import quote

from faasbox.engine.client import ApiError, Engine, json_lines
from faasbox.engine.errors import BuildFailed
from faasbox.engine.images import split_reference

# The engine wants an X-Registry-Auth header even for registries without auth.
_NO_AUTH = base64.urlsafe_b64encode(b"{}").decode()


async def push(engine: Engine, image: str, progress: Callable[[str], None]) -> None:
    repo, tag = split_reference(image)
    try:
        async with engine.stream(
            "POST",
            f"images/{quote(repo, safe='/:')}/push",
            params={"tag": tag},
            headers={"X-Registry-Auth": _NO_AUTH},
            timeout=None,
        ) as response:
            async for event in json_lines(response):
                if "error" in event:
                    raise BuildFailed(f"push {image}: {event['error']}")
                if event.get("status") and not event.get("progressDetail"):
                    progress(f"{image}: {event['status']}")
    except ApiError as exc:
        raise BuildFailed(f"push {image}: {exc.message}") from None
