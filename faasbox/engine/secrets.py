"""OpenFaaS secrets as Swarm secrets.

Swarm secrets are immutable, yet OpenFaaS clients expect `secret update` to work.
So the OpenFaaS name lives in a label and in the mount path, not in the Swarm
name: an update creates a new Swarm secret, moves every function onto it (which
rolls their tasks) and removes the old one. A function never sees a missing file.
"""

from __future__ import annotations

import base64
import logging
import secrets as random
from typing import Any

import orjson

from faasbox.engine.client import ApiError, Engine
from faasbox.engine.errors import MissingSecrets, SecretExists, SecretInUse, SecretNotFound
from faasbox.engine.rewrite import rewrite
from faasbox.engine.spec import secret_ref

log = logging.getLogger("faasbox.engine")

OWNER_LABEL = "com.openfaas.owner"
NAME_LABEL = "com.faasbox.secret"
_SWARM_NAME_MAX = 64


def _name_of(secret: dict[str, Any]) -> str:
    spec = secret["Spec"]
    return str((spec.get("Labels") or {}).get(NAME_LABEL) or spec["Name"])


async def _ours(engine: Engine) -> list[dict[str, Any]]:
    filters = orjson.dumps({"label": [f"{OWNER_LABEL}=openfaas"]}).decode()
    found: list[dict[str, Any]] = await engine.call("GET", "secrets", params={"filters": filters})
    return found


async def list_names(engine: Engine) -> list[str]:
    return sorted(_name_of(s) for s in await _ours(engine))


async def find(engine: Engine, name: str) -> dict[str, Any] | None:
    """Ours by label first, then any Swarm secret of that exact name (made with
    `docker secret create`, as OpenFaaS-on-Swarm users did)."""
    for secret in await _ours(engine):
        if _name_of(secret) == name:
            return secret
    filters = orjson.dumps({"name": [name]}).decode()
    for secret in await engine.call("GET", "secrets", params={"filters": filters}):
        if secret["Spec"]["Name"] == name:
            return dict(secret)
    return None


async def references(engine: Engine, names: list[str]) -> list[dict[str, Any]]:
    """Mount references for a deployment; every missing secret is named at once."""
    refs, missing = [], []
    for name in names:
        secret = await find(engine, name)
        if secret is None:
            missing.append(name)
        else:
            refs.append(secret_ref(secret["ID"], secret["Spec"]["Name"], name))
    if missing:
        raise MissingSecrets(f"secret not found: {', '.join(missing)}")
    return refs


async def _create(engine: Engine, swarm_name: str, name: str, value: bytes) -> str:
    body = {
        "Name": swarm_name,
        "Labels": {OWNER_LABEL: "openfaas", NAME_LABEL: name},
        "Data": base64.b64encode(value).decode(),
    }
    created = await engine.call("POST", "secrets/create", body=body)
    return str(created["ID"])


async def create(engine: Engine, name: str, value: bytes) -> None:
    if await find(engine, name) is not None:
        raise SecretExists(f"secret {name} already exists")
    try:
        await _create(engine, name, name, value)
    except ApiError as exc:
        if exc.status == 409:
            raise SecretExists(f"secret {name} already exists") from None
        raise
    log.info("[secret] created %s", name)


async def update(engine: Engine, name: str, value: bytes) -> None:
    old = await find(engine, name)
    if old is None:
        raise SecretNotFound(f"secret {name} not found")
    swarm_name = f"{name[: _SWARM_NAME_MAX - 9]}-{random.token_hex(4)}"
    new_id = await _create(engine, swarm_name, name, value)

    def repoint(spec: dict[str, Any]) -> None:
        for ref in spec["TaskTemplate"]["ContainerSpec"].get("Secrets") or []:
            if ref.get("SecretID") == old["ID"]:
                ref["SecretID"], ref["SecretName"] = new_id, swarm_name

    for service in await _users(engine, old["ID"]):
        await rewrite(engine, service["ID"], repoint)
    await engine.call("DELETE", f"secrets/{old['ID']}")
    log.info("[secret] updated %s", name)


async def delete(engine: Engine, name: str) -> None:
    secret = await find(engine, name)
    if secret is None:
        raise SecretNotFound(f"secret {name} not found")
    users = [s["Spec"]["Name"] for s in await _users(engine, secret["ID"])]
    if users:
        raise SecretInUse(f"secret {name} is in use by: {', '.join(sorted(users))}")
    await engine.call("DELETE", f"secrets/{secret['ID']}")
    log.info("[secret] deleted %s", name)


async def _users(engine: Engine, secret_id: str) -> list[dict[str, Any]]:
    services: list[dict[str, Any]] = await engine.call("GET", "services")
    return [
        s
        for s in services
        if any(
            ref.get("SecretID") == secret_id
            for ref in s["Spec"]["TaskTemplate"]["ContainerSpec"].get("Secrets") or []
        )
    ]
