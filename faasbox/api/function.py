"""/system/function/{name}: one function's status, with availableReplicas."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from faasbox.api.errors import JSONResponse
from faasbox.api.runtime import require_engine, runtime
from faasbox.deployment import check_namespace, split_name
from faasbox.engine.errors import FunctionNotFound


async def get_function(request: Request) -> Response:
    rt = runtime(request)
    check_namespace(request.query_params.get("namespace", ""), rt.settings.namespace)
    name = split_name(request.path_params["name"], rt.settings.namespace)
    require_engine(rt)
    function = rt.functions.get(name)
    if function is None:
        raise FunctionNotFound(f"function {name} not found")
    return JSONResponse(function.to_json(rt.metrics.invocation_count(name)))
