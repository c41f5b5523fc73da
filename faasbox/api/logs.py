"""/system/logs: NDJSON, one line per log record, flushed as it comes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from faasbox.api.runtime import require_engine, runtime
from faasbox.deployment import InvalidRequest, check_name, check_namespace, split_name
from faasbox.engine import logs
from faasbox.engine.errors import FunctionNotFound

_TRUE = {"1", "t", "true", "yes"}
_FALSE = {"0", "f", "false", "no", ""}


def _flag(text: str, key: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidRequest(f"{key} must be true or false")


async def get_logs(request: Request) -> Response:
    rt = runtime(request)
    query = request.query_params
    check_namespace(query.get("namespace", ""), rt.settings.namespace)
    name = check_name(split_name(query.get("name", ""), rt.settings.namespace))
    try:
        lines = int(query.get("tail", "0") or 0)
    except ValueError:
        raise InvalidRequest("tail must be a whole number") from None
    if lines > logs.BACKLOG_MAX:
        # Refused rather than quietly cut: one answer holds the newest BACKLOG_MAX lines.
        raise InvalidRequest(f"tail must be at most {logs.BACKLOG_MAX}")
    since = None
    if query.get("since"):
        try:
            since = datetime.fromisoformat(query["since"].replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequest("since must be an RFC 3339 time") from None
    follow = _flag(query.get("follow", "false"), "follow")
    instance = query.get("instance", "")
    require_engine(rt)
    function = rt.functions.get(name)
    if function is None:
        raise FunctionNotFound(f"function {name} not found")

    async def ndjson() -> AsyncIterator[bytes]:
        async for line in logs.follow(
            rt.engine,
            function.service_id,
            tail=lines if lines > 0 else None,
            follow=follow,
            since=since,
        ):
            if instance and line.instance != instance:
                continue
            record = {
                "name": name,
                "namespace": rt.settings.namespace,
                "instance": line.instance,
                "timestamp": line.timestamp,
                "text": line.text,
            }
            yield orjson.dumps(record) + b"\n"

    return StreamingResponse(ndjson(), media_type="application/x-ndjson")
