"""Functions as Swarm services: deploy, update, remove, scale, and reading them back."""

from __future__ import annotations

import logging
from typing import Any

import orjson

from faasbox.deployment import Deployment
from faasbox.engine import images, secrets
from faasbox.engine.client import ApiError, Engine
from faasbox.engine.errors import (
    EngineRejected,
    FunctionExists,
    FunctionNotFound,
)
from faasbox.engine.rewrite import rewrite
from faasbox.engine.spec import is_function, replicas_of, service_spec

log = logging.getLogger("faasbox.engine")

_FUNCTION_FILTER = orjson.dumps({"label": ["function=true"]}).decode()


def _registry_auth_header(deployment: Deployment) -> dict[str, str]:
    return images.auth_header(deployment.image, deployment.registry_auth)


async def list_functions(engine: Engine, network_id: str) -> list[dict[str, Any]]:
    services = await engine.call("GET", "services", params={"filters": _FUNCTION_FILTER})
    return [s for s in services if is_function(s, network_id)]


async def inspect_function(engine: Engine, name: str, network_id: str) -> dict[str, Any]:
    try:
        service: dict[str, Any] = await engine.call("GET", f"services/{name}")
    except ApiError as exc:
        if exc.status == 404:
            raise FunctionNotFound(f"function {name} not found") from None
        raise
    if service["Spec"]["Name"] != name or not is_function(service, network_id):
        raise FunctionNotFound(f"function {name} not found")
    return service


async def list_tasks(engine: Engine, service: str, *, up_to_date: bool = False) -> list[Any]:
    filters: dict[str, list[str]] = {"service": [service]}
    if up_to_date:
        filters["_up-to-date"] = ["true"]
    tasks: list[Any] = await engine.call(
        "GET", "tasks", params={"filters": orjson.dumps(filters).decode()}
    )
    return tasks


async def deploy(
    engine: Engine, deployment: Deployment, network_id: str, *, instance: str, pull_timeout: float
) -> None:
    """Create the service only once every check that can fail has passed, so a refused
    deployment leaves nothing behind."""
    try:
        await engine.call("GET", f"services/{deployment.service}")
    except ApiError as exc:
        if exc.status != 404:
            raise
    else:
        raise FunctionExists(f"function {deployment.service} already exists")
    refs = await secrets.references(engine, instance, deployment.secrets)
    await images.ensure(engine, deployment.image, deployment.registry_auth, pull_timeout)
    spec = service_spec(
        deployment, network_id=network_id, secret_refs=refs, replicas=deployment.min_replicas
    )
    try:
        await engine.call(
            "POST", "services/create", body=spec, headers=_registry_auth_header(deployment)
        )
    except ApiError as exc:
        if exc.status == 409:
            raise FunctionExists(f"function {deployment.service} already exists") from None
        raise EngineRejected(f"Docker refused the deployment: {exc.message}") from None
    log.info("[deploy] %s image=%s", deployment.service, deployment.image)


async def update(
    engine: Engine, deployment: Deployment, network_id: str, *, instance: str, pull_timeout: float
) -> None:
    """Replace the spec and roll the tasks. Replicas stay where scaling left them, raised
    to a new minimum if the labels now ask for more; a function scaled to zero stays there."""
    current = await inspect_function(engine, deployment.service, network_id)
    refs = await secrets.references(engine, instance, deployment.secrets)
    await images.ensure(engine, deployment.image, deployment.registry_auth, pull_timeout)
    spec = service_spec(
        deployment,
        network_id=network_id,
        secret_refs=refs,
        replicas=_kept_replicas(replicas_of(current), deployment.min_replicas),
    )
    spec["TaskTemplate"]["ForceUpdate"] = current["Spec"]["TaskTemplate"].get("ForceUpdate", 0) + 1

    def replace_spec(live: dict[str, Any]) -> None:
        live.clear()
        live.update(spec)

    try:
        await rewrite(
            engine, current["ID"], replace_spec, headers=_registry_auth_header(deployment)
        )
    except ApiError as exc:
        raise EngineRejected(f"Docker refused the update: {exc.message}") from None
    log.info("[update] %s image=%s", deployment.service, deployment.image)


def _kept_replicas(current: int, minimum: int) -> int:
    return 0 if current == 0 else max(current, minimum)


async def remove(engine: Engine, name: str, network_id: str) -> None:
    service = await inspect_function(engine, name, network_id)
    try:
        await engine.call("DELETE", f"services/{service['ID']}")
    except ApiError as exc:
        if exc.status == 404:
            raise FunctionNotFound(f"function {name} not found") from None
        raise
    log.info("[delete] %s", name)


async def scale(engine: Engine, name: str, network_id: str, replicas: int) -> None:
    service = await inspect_function(engine, name, network_id)

    def set_replicas(spec: dict[str, Any]) -> None:
        spec["Mode"] = {"Replicated": {"Replicas": replicas}}

    try:
        await rewrite(engine, service["ID"], set_replicas)
    except ApiError as exc:
        raise EngineRejected(f"Docker refused to scale {name}: {exc.message}") from None
    log.info("[scale] %s replicas=%d", name, replicas)
