"""OpenFaaS secrets as Swarm secrets.

Swarm secrets are immutable, yet OpenFaaS clients expect `secret update` to work.
So the OpenFaaS name lives in a label and in the mount path, not in the Swarm
name: an update creates a new Swarm secret, moves every function onto it (which
rolls their tasks) and removes the old one. A function never sees a missing file.

Secrets belong to one faasbox instance, named by its functions network (the
instance label): several faasboxes, OpenFaaS and other stacks may share an
engine, and a function must not be able to mount, nor a caller list, update or
delete, what another of them keeps there. Swarm names carry a random suffix so
two instances can each have a secret of the same OpenFaaS name.
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
from faasbox.engine.spec import is_function, secret_ref, secret_target

log = logging.getLogger("faasbox.engine")

OWNER_LABEL = "com.openfaas.owner"
NAME_LABEL = "com.faasbox.secret"
INSTANCE_LABEL = "com.faasbox.instance"
_SWARM_NAME_MAX = 64


def _name_of(secret: dict[str, Any]) -> str:
    spec = secret["Spec"]
    return str((spec.get("Labels") or {}).get(NAME_LABEL) or spec["Name"])


async def _ours(engine: Engine, instance: str) -> list[dict[str, Any]]:
    labels = [f"{OWNER_LABEL}=openfaas", f"{INSTANCE_LABEL}={instance}"]
    filters = orjson.dumps({"label": labels}).decode()
    found: list[dict[str, Any]] = await engine.call("GET", "secrets", params={"filters": filters})
    # The engine's label filter is an exact match; checked again so a filter change
    # in some engine version cannot widen what a function may mount.
    return [s for s in found if (s["Spec"].get("Labels") or {}).get(INSTANCE_LABEL) == instance]


async def list_names(engine: Engine, instance: str) -> list[str]:
    return sorted(_name_of(s) for s in await _ours(engine, instance))


async def find(engine: Engine, instance: str, name: str) -> dict[str, Any] | None:
    for secret in await _ours(engine, instance):
        if _name_of(secret) == name:
            return secret
    return None


async def adopt(engine: Engine, instance: str, network_id: str) -> None:
    """Label as this instance's the secrets its own functions already mount (made by an
    older faasbox, or with `docker secret create`), so upgrading breaks no function.
    A secret another instance has labelled stays that instance's."""
    services: list[dict[str, Any]] = await engine.call("GET", "services")
    mounted: dict[str, str] = {}
    for service in services:
        if is_function(service, network_id):
            for ref in service["Spec"]["TaskTemplate"]["ContainerSpec"].get("Secrets") or []:
                mounted[ref["SecretID"]] = secret_target(ref)
    for secret_id, name in mounted.items():
        try:
            secret = await engine.call("GET", f"secrets/{secret_id}")
        except ApiError:
            continue
        spec = secret["Spec"]
        labels = spec.get("Labels") or {}
        if labels.get(INSTANCE_LABEL):
            continue
        spec["Labels"] = {
            **labels,
            OWNER_LABEL: "openfaas",
            INSTANCE_LABEL: instance,
            NAME_LABEL: labels.get(NAME_LABEL) or name,
        }
        version = str(secret["Version"]["Index"])
        try:
            await engine.call(
                "POST", f"secrets/{secret_id}/update", params={"version": version}, body=spec
            )
        except ApiError as exc:
            log.warning("[secret] %s could not be labelled as this faasbox's: %s", name, exc)
            continue
        log.info("[secret] %s, mounted by this faasbox's functions, is now its own", name)


async def references(engine: Engine, instance: str, names: list[str]) -> list[dict[str, Any]]:
    """Mount references for a deployment, only to this instance's secrets; every missing
    secret is named at once."""
    refs, missing = [], []
    for name in names:
        secret = await find(engine, instance, name)
        if secret is None:
            missing.append(name)
        else:
            refs.append(secret_ref(secret["ID"], secret["Spec"]["Name"], name))
    if missing:
        raise MissingSecrets(f"secret not found: {', '.join(missing)}")
    return refs


async def _create(engine: Engine, instance: str, name: str, value: bytes) -> tuple[str, str]:
    """The new secret's ID and Swarm name."""
    swarm_name = f"{name[: _SWARM_NAME_MAX - 9]}-{random.token_hex(4)}"
    body = {
        "Name": swarm_name,
        "Labels": {OWNER_LABEL: "openfaas", INSTANCE_LABEL: instance, NAME_LABEL: name},
        "Data": base64.b64encode(value).decode(),
    }
    created = await engine.call("POST", "secrets/create", body=body)
    return str(created["ID"]), swarm_name


async def create(engine: Engine, instance: str, name: str, value: bytes) -> None:
    if await find(engine, instance, name) is not None:
        raise SecretExists(f"secret {name} already exists")
    await _create(engine, instance, name, value)
    log.info("[secret] created %s", name)


async def update(engine: Engine, instance: str, name: str, value: bytes) -> None:
    old = await find(engine, instance, name)
    if old is None:
        raise SecretNotFound(f"secret {name} not found")
    new_id, swarm_name = await _create(engine, instance, name, value)

    def repoint(spec: dict[str, Any]) -> None:
        for ref in spec["TaskTemplate"]["ContainerSpec"].get("Secrets") or []:
            if ref.get("SecretID") == old["ID"]:
                ref["SecretID"], ref["SecretName"] = new_id, swarm_name

    for service in await _users(engine, old["ID"]):
        await rewrite(engine, service["ID"], repoint)
    await engine.call("DELETE", f"secrets/{old['ID']}")
    log.info("[secret] updated %s", name)


async def delete(engine: Engine, instance: str, name: str) -> None:
    secret = await find(engine, instance, name)
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
