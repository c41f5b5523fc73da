"""One place that turns failures into HTTP answers: `{"message": ...}` with the right code."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from faasbox.deployment import InvalidRequest
from faasbox.engine.client import ApiError
from faasbox.engine.errors import (
    EngineError,
    EngineRejected,
    EngineUnavailable,
    FunctionExists,
    FunctionNotFound,
    ImageUnavailable,
    MissingSecrets,
    SecretExists,
    SecretInUse,
    SecretNotFound,
)

log = logging.getLogger("faasbox.api")

_STATUS: dict[type[Exception], int] = {
    InvalidRequest: 400,
    ImageUnavailable: 400,
    MissingSecrets: 400,
    SecretNotFound: 404,
    FunctionNotFound: 404,
    FunctionExists: 409,
    SecretExists: 409,
    SecretInUse: 409,
    EngineRejected: 400,
    EngineUnavailable: 503,
}


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


async def decode(request: Request) -> Any:
    """The JSON body, or InvalidRequest that says what is wrong with it."""
    raw = await request.body()
    if not raw.strip():
        raise InvalidRequest("request body is empty; expected JSON")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from None


async def handle(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for every domain error."""
    for kind, status in _STATUS.items():
        if isinstance(exc, kind):
            if status >= 500:
                log.warning("[api] %s %s: %s", request.method, request.url.path, exc)
            return error(status, str(exc))
    if isinstance(exc, ApiError):
        log.error("[api] %s %s: engine said %s", request.method, request.url.path, exc)
        return error(500, f"Docker Engine error: {exc.message}")
    if isinstance(exc, EngineError):
        return error(500, str(exc))
    raise exc
