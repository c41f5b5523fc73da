"""`up --remote`: build on the gateway's own engine instead of locally.

The context is assembled here, where the stack file and its templates are, and
sent as a gzipped tar (it often crosses Wi-Fi to a Pi); the device only builds
it, so the image never travels through a registry. The endpoint streams the
engine's steps back as NDJSON and ends with one line saying how it went.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

import orjson

from faasbox.builder import archive
from faasbox.cli.console import Console
from faasbox.cli.gateway_client import Gateway
from faasbox.cli.plan import Job
from faasbox.engine.errors import BuildFailed

# Steps print nothing while they run; a slow compile on a Pi must not time out.
_SILENCE = 3600.0


async def build_all(url: str, jobs: list[Job], console: Console) -> None:
    async with Gateway(url, timeout=_SILENCE) as gateway:
        for job in jobs:
            name = job.fn.name
            console.info(f"[{name}] sending the source to {url} to build {job.request.tag}")
            result: dict[str, Any] = {}
            with _packed(job.folder) as upload:
                async for line in gateway.lines(
                    "/system/build",
                    _params(job),
                    what=f"remote build of {name}",
                    method="POST",
                    data=upload,
                    headers={"Content-Type": "application/x-tar"},
                ):
                    event = orjson.loads(line)
                    if "stream" in event:
                        console.progress(f"[{name}] {event['stream']}")
                    else:
                        result = event
            if result.get("status") != "success":
                reason = result.get("error") or "the gateway ended the build without a result"
                output = str(result.get("output", ""))
                raise BuildFailed(f"remote build of {name}: {reason}", output)
            console.print(f"Image: {job.request.tag} built on {url}.")


def _params(job: Job) -> dict[str, str]:
    request = job.request
    params = {
        "image": request.tag,
        "buildargs": orjson.dumps(request.build_args).decode(),
        "labels": orjson.dumps(request.labels).decode(),
    }
    if request.platform:
        params["platform"] = request.platform
    if request.no_cache:
        params["nocache"] = "true"
    if request.pull:
        params["pull"] = "true"
    return params


def _packed(folder: Path) -> IO[bytes]:
    """A real file, so the upload carries a Content-Length the gateway can refuse early."""
    packed = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
    with (
        archive.tar_context(folder) as tar,
        gzip.GzipFile(fileobj=packed, mode="wb", compresslevel=6) as zipped,
    ):
        shutil.copyfileobj(tar, zipped, archive.CHUNK)
    packed.seek(0)
    return packed
