"""/system/functions: list (GET), deploy (POST), update (PUT), delete (DELETE)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from faasbox.api.errors import JSONResponse, decode
from faasbox.api.runtime import require_engine, runtime
from faasbox.deployment import (
    Deployment,
    InvalidRequest,
    check_name,
    check_namespace,
    parse_deployment,
)
from faasbox.engine import services
from faasbox.runtime import Runtime


async def list_functions(request: Request) -> Response:
    rt = runtime(request)
    check_namespace(request.query_params.get("namespace", ""), rt.settings.namespace)
    require_engine(rt)
    body = [f.to_json(rt.metrics.invocation_count(f.name)) for f in rt.functions.all()]
    return JSONResponse(body)


def _deployment(body: object, rt: Runtime) -> Deployment:
    """The request checked whole before the engine is touched."""
    deployment = parse_deployment(body, rt.settings.namespace)
    network = body.get("network") if isinstance(body, dict) else None
    if network not in (None, "", rt.settings.network):
        # Era A clients send their stack's provider.network; a different one would mean
        # functions the gateway cannot reach.
        raise InvalidRequest(
            f"network {network!r} is not this faasbox's functions network ({rt.settings.network!r})"
        )
    return deployment


async def deploy(request: Request) -> Response:
    """POST: create; 409 when the function exists (faas-cli falls back to it after a 404 PUT)."""
    return await _apply(request, services.deploy)


async def update(request: Request) -> Response:
    """PUT: replace the spec and roll the tasks; 404 when the function does not exist."""
    return await _apply(request, services.update)


async def _apply(request: Request, action: Callable[..., Awaitable[None]]) -> Response:
    rt = runtime(request)
    deployment = _deployment(await decode(request), rt)
    await action(
        rt.engine,
        deployment,
        rt.network_id,
        instance=rt.settings.network,
        pull_timeout=rt.settings.image_pull_timeout,
    )
    await rt.functions_sync.sync(deployment.service)
    return Response(status_code=202)


async def delete(request: Request) -> Response:
    rt = runtime(request)
    body = await decode(request)
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object with functionName")
    name = check_name(body.get("functionName"), "functionName")
    namespace = body.get("namespace") or ""
    if not isinstance(namespace, str):
        raise InvalidRequest("namespace must be a string")
    check_namespace(namespace, rt.settings.namespace)
    await services.remove(rt.engine, name, rt.network_id)
    await rt.functions_sync.sync(name)
    rt.metrics.forget(name)
    return Response(status_code=202)
