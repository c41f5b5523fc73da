"""/system/async/{name}: a function's async queue (a faasbox extension, docs/async.md).

GET lists counts and the first calls queued, in flight and dead; a dead letter can be
replayed (`POST .../{call_id}/replay`) or dropped (`DELETE .../{call_id}`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from faasbox.api.errors import JSONResponse, error
from faasbox.api.runtime import runtime
from faasbox.deployment import InvalidRequest, check_namespace, split_name
from faasbox.queue.accept import CALL_ID
from faasbox.queue.call import QueueFull
from faasbox.queue.retry import concurrency_from_labels, policy_from_labels
from faasbox.queue.store import Queue

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _queue(request: Request) -> Queue:
    queue: Queue = request.app.state.queue
    return queue


def _target(request: Request) -> tuple[str, str]:
    rt = runtime(request)
    check_namespace(request.query_params.get("namespace", ""), rt.settings.namespace)
    name = split_name(request.path_params["name"], rt.settings.namespace)
    call_id = request.path_params.get("call_id", "")
    if call_id and not CALL_ID.fullmatch(call_id):
        raise InvalidRequest("not a call id")
    return name, call_id


async def overview(request: Request) -> Response:
    name, _ = _target(request)
    raw = request.query_params.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 0 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be a whole number from 0 to {MAX_LIMIT}")
    view = await _queue(request).overview(name, int(raw))
    function = runtime(request).functions.get(name)
    labels = function.labels if function else {}
    policy = policy_from_labels(labels)
    return JSONResponse(
        {
            "function": name,
            "queued": view.queued,
            "inflight": view.inflight,
            "dead": view.dead,
            "concurrency": concurrency_from_labels(
                labels, runtime(request).settings.async_concurrency
            ),
            "retry": {
                "attempts": policy.attempts,
                "codes": sorted(policy.codes) if policy.on_status else [],
                "minWait": policy.min_wait,
                "maxWait": policy.max_wait,
            },
            "calls": [entry.to_json() for entry in view.calls],
        }
    )


async def replay(request: Request) -> Response:
    name, call_id = _target(request)
    try:
        replayed = await _queue(request).replay(name, call_id)
    except QueueFull:
        response = error(429, "the async queue is full; try again later")
        response.headers["retry-after"] = "5"
        return response
    if not replayed:
        return error(404, f"no dead letter {call_id} for function {name}")
    request.app.state.dispatcher.wake(name)
    return JSONResponse({"callId": call_id, "state": "queued"}, status_code=202)


async def drop(request: Request) -> Response:
    name, call_id = _target(request)
    if not await _queue(request).drop(name, call_id):
        return error(404, f"no dead letter {call_id} for function {name}")
    return Response(status_code=204)
