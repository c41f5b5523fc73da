"""Send a build context to the engine's build API and follow the build as it runs.

The context goes as a tar stream straight to `POST /build` on the engine's own
socket, so the CLI needs no docker client and the server's build endpoint uses
the same code. Progress is the engine's `Step N/M` lines; when a step fails,
the error carries that step and the output it printed. Making the context
(`builder/context.py`, `builder/archive.py`) is the builder's; this module is the
engine's side of a build only.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import IO

import orjson

from faasbox.engine.client import ApiError, Engine, json_lines
from faasbox.engine.errors import BuildFailed

CHUNK = 1 << 16
_KEPT_LINES = 30


@dataclass
class BuildRequest:
    tag: str
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    platform: str = ""
    no_cache: bool = False
    pull: bool = False


async def _chunks(stream: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


async def build(
    engine: Engine,
    context: IO[bytes],
    request: BuildRequest,
    progress: Callable[[str], None],
) -> str:
    """Build and return the image id; BuildFailed names the failing step."""
    params = {
        "t": request.tag,
        "rm": "1",
        "forcerm": "1",
        "buildargs": orjson.dumps(request.build_args).decode(),
        "labels": orjson.dumps(request.labels).decode(),
    }
    if request.platform:
        params["platform"] = request.platform
    if request.no_cache:
        params["nocache"] = "1"
    if request.pull:
        params["pull"] = "1"
    step, output, image_id = "", list[str](), ""
    try:
        async with engine.stream(
            "POST",
            "build",
            params=params,
            data=_chunks(context),
            headers={"Content-Type": "application/x-tar"},
            timeout=None,
        ) as response:
            async for event in json_lines(response):
                if "error" in event:
                    raise BuildFailed(
                        f"build failed at {step or 'the start'}: {event['error'].strip()}",
                        "\n".join(output[-_KEPT_LINES:]),
                    )
                text = str(event.get("stream") or "")
                for line in text.splitlines():
                    if line.startswith("Step "):
                        step, output = line.strip(), []
                        progress(step)
                    elif line.strip():
                        output.append(line.rstrip())
                aux = event.get("aux")
                if isinstance(aux, dict) and aux.get("ID"):
                    image_id = str(aux["ID"])
    except ApiError as exc:
        raise BuildFailed(f"the engine refused the build: {exc.message}") from None
    if not image_id:
        raise BuildFailed("the engine ended the build without an image")
    return image_id


def proxy_build_args() -> dict[str, str]:
    """faas-cli passes the caller's proxy settings to every build."""
    return {k: os.environ[k] for k in ("http_proxy", "https_proxy") if os.environ.get(k)}
