"""POST /system/build: a build context in, an image on this gateway's engine out.

This is what lets a laptop hand source to a Pi: the client assembles the
context (it has the stack file and the templates), the device builds it
natively with the same builder code as `faasbox build`, and the image is
already where the function will run, so no registry sits in between.

Query: `image` (required), `buildargs` and `labels` (JSON objects of strings),
`platform`, `nocache`, `pull`. Body: the context as a tar, gzip allowed. The
upload is checked whole before the build starts (400/413 with {"message"});
after that the answer is 200 NDJSON: `{"stream": "Step N/M : ..."}` per step,
then one final line, `{"status": "success", "image", "id"}` or
`{"status": "failed", "error", "output"}` naming the failing step.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import IO

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from faasbox.api.errors import error
from faasbox.api.runtime import runtime
from faasbox.builder import archive
from faasbox.builder.errors import ArchiveTooLarge, ContextError
from faasbox.deployment import InvalidRequest, check_image
from faasbox.engine import build as engine_build
from faasbox.engine.build import BuildRequest
from faasbox.engine.client import Engine
from faasbox.engine.errors import BuildFailed, EngineError

log = logging.getLogger("faasbox.api")

_TRUE = {"1", "true", "yes"}


async def build(request: Request) -> Response:
    rt = runtime(request)
    build_request = _parse(request.query_params)
    limit = rt.settings.max_body_size
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return error(413, f"the build context is larger than the limit of {limit} bytes")
    upload = archive.spool()
    context = upload
    try:
        await _receive(request, upload, limit)
        context = await asyncio.to_thread(archive.checked_tar, upload, limit)
    except ContextError as exc:
        _close(upload, context)
        return error(413 if isinstance(exc, ArchiveTooLarge) else 400, str(exc))
    except BaseException:
        _close(upload, context)
        raise
    return StreamingResponse(
        _progress(rt.engine, context, build_request), media_type="application/x-ndjson"
    )


def _parse(query: QueryParams) -> BuildRequest:
    image = query.get("image", "")
    if not image:
        raise InvalidRequest("image is required (the tag to build, e.g. hello:latest)")
    check_image(image)
    platform = query.get("platform", "")
    if "," in platform:
        raise InvalidRequest(
            "one platform per remote build: a multi-arch image needs a registry "
            "(`faasbox build --platform a,b` on a machine that can push)"
        )
    return BuildRequest(
        tag=image,
        build_args=_string_map(query, "buildargs"),
        labels=_string_map(query, "labels"),
        platform=platform,
        no_cache=query.get("nocache", "").lower() in _TRUE,
        pull=query.get("pull", "").lower() in _TRUE,
    )


def _string_map(query: QueryParams, key: str) -> dict[str, str]:
    raw = query.get(key, "")
    if not raw:
        return {}
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequest(f"{key} must be a JSON object of strings") from None
    if not isinstance(decoded, dict) or not all(isinstance(v, str) for v in decoded.values()):
        raise InvalidRequest(f"{key} must be a JSON object of strings")
    return decoded


async def _receive(request: Request, into: IO[bytes], limit: int) -> None:
    """The body onto disk, stopping at the cap (Content-Length may be absent or lie)."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ArchiveTooLarge(f"the build context is larger than the limit of {limit} bytes")
        into.write(chunk)
    if size == 0:
        raise ContextError("the request body is empty; expected the build context as a tar")


async def _progress(
    engine: Engine, context: IO[bytes], build_request: BuildRequest
) -> AsyncIterator[bytes]:
    """Steps as the engine reaches them; a client that goes away cancels the build."""
    steps: asyncio.Queue[str | None] = asyncio.Queue()
    began = time.monotonic()
    task = asyncio.create_task(engine_build.build(engine, context, build_request, steps.put_nowait))
    task.add_done_callback(lambda _: steps.put_nowait(None))
    try:
        while (step := await steps.get()) is not None:
            yield orjson.dumps({"stream": step}) + b"\n"
        try:
            image_id = task.result()
        except (BuildFailed, EngineError) as exc:
            log.warning("[build] %s: %s", build_request.tag, exc)
            output = exc.output if isinstance(exc, BuildFailed) else ""
            final = {"status": "failed", "error": str(exc), "output": output}
        else:
            log.info("[build] %s built in %.1f s", build_request.tag, time.monotonic() - began)
            final = {"status": "success", "image": build_request.tag, "id": image_id}
        yield orjson.dumps(final) + b"\n"
    finally:
        task.cancel()
        context.close()


def _close(*files: IO[bytes]) -> None:
    for file in files:
        file.close()
