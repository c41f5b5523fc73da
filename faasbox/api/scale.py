"""/system/scale-function/{name}: set the replica count; 0 is allowed (scale to zero)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from faasbox.api.errors import decode
from faasbox.api.runtime import runtime
from faasbox.deployment import InvalidRequest, check_namespace, split_name
from faasbox.engine import services
from faasbox.labels import MAX_REPLICAS


async def scale(request: Request) -> Response:
    rt = runtime(request)
    check_namespace(request.query_params.get("namespace", ""), rt.settings.namespace)
    name = split_name(request.path_params["name"], rt.settings.namespace)
    body = await decode(request)
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object with replicas")
    replicas = body.get("replicas")
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise InvalidRequest("replicas must be a whole number")
    if not 0 <= replicas <= MAX_REPLICAS:
        raise InvalidRequest(f"replicas must be between 0 and {MAX_REPLICAS}")
    check_namespace(body.get("namespace") or "", rt.settings.namespace)
    await services.scale(rt.engine, name, rt.network_id, replicas)
    await rt.functions_sync.sync(name)
    return Response(status_code=202)
