"""`up --remote`: build on the gateway's own engine instead of locally.

The context is assembled here, where the stack file and its templates are, and
sent as a tar; the device only builds it, so the image never travels through a
registry. The endpoint streams the engine's progress back as NDJSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from faasbox.builder import engine_build
from faasbox.builder.errors import BuildFailed
from faasbox.cli.console import Console
from faasbox.cli.errors import GatewayError
from faasbox.cli.gateway_client import Gateway

if TYPE_CHECKING:  # cli.build imports this module
    from faasbox.cli.build import Job


async def build_all(url: str, jobs: list[Job], console: Console) -> None:
    async with Gateway(url, timeout=600) as gateway:
        for job in jobs:
            name = job.fn.name
            console.info(f"[{name}] sending the source to {url} to build {job.request.tag}")
            params = {
                "image": job.request.tag,
                "buildargs": orjson.dumps(job.request.build_args).decode(),
            }
            if job.request.platform:
                params["platform"] = job.request.platform
            with engine_build.tar_context(job.folder) as tar:
                data = tar.read()
            status, payload = await gateway.call(
                "POST",
                "/system/build",
                params=params,
                data=data,
                headers={"Content-Type": "application/x-tar"},
            )
            if status == 404:
                raise GatewayError(f"{url} has no build endpoint (not a faasbox gateway?)")
            result = {}
            for line in payload.splitlines():
                if line.strip():
                    result = orjson.loads(line)
                    if "stream" in result:
                        console.progress(f"[{name}] {result['stream']}")
            if status != 200 or "error" in result:
                raise BuildFailed(
                    f"remote build of {name}: {result.get('error') or result.get('message')}",
                    str(result.get("output", "")),
                )
            console.print(f"Image: {job.request.tag} built on {url}.")
