"""/system/secrets: list, create, update and delete this instance's Swarm-backed secrets."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from faasbox.api.errors import JSONResponse, decode
from faasbox.api.runtime import runtime
from faasbox.deployment import InvalidRequest, check_namespace, check_secret_name
from faasbox.engine import secrets

MAX_SECRET_BYTES = 500 * 1024  # Swarm's own limit


async def _parse(request: Request, *, with_value: bool) -> tuple[str, bytes]:
    body = await decode(request)
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object with name")
    name = check_secret_name(body.get("name"))
    check_namespace(_text(body, "namespace"), runtime(request).settings.namespace)
    if not with_value:
        return name, b""
    value, raw = _text(body, "value"), _text(body, "rawValue")
    if value:
        data = value.encode()
    elif raw:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("rawValue must be base64") from None
    else:
        raise InvalidRequest("secret value is required (value or rawValue)")
    if len(data) > MAX_SECRET_BYTES:
        raise InvalidRequest(f"secret value is larger than {MAX_SECRET_BYTES} bytes")
    return name, data


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key) or ""
    if not isinstance(value, str):
        raise InvalidRequest(f"{key} must be a string")
    return value


async def list_secrets(request: Request) -> Response:
    rt = runtime(request)
    check_namespace(request.query_params.get("namespace", ""), rt.settings.namespace)
    names = await secrets.list_names(rt.engine, rt.settings.network)
    return JSONResponse([{"name": n, "namespace": rt.settings.namespace} for n in names])


async def create(request: Request) -> Response:
    name, value = await _parse(request, with_value=True)
    rt = runtime(request)
    await secrets.create(rt.engine, rt.settings.network, name, value)
    return Response(status_code=201)


async def update(request: Request) -> Response:
    name, value = await _parse(request, with_value=True)
    rt = runtime(request)
    await secrets.update(rt.engine, rt.settings.network, name, value)
    return Response(status_code=200)


async def delete(request: Request) -> Response:
    name, _ = await _parse(request, with_value=False)
    rt = runtime(request)
    await secrets.delete(rt.engine, rt.settings.network, name)
    return Response(status_code=200)
