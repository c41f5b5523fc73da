"""Function deployment <-> Swarm service spec.

Swarm is the source of truth: everything needed to give a deployment back
verbatim is written onto the service (labels for what Swarm would normalise,
such as resource strings), so faasbox can be killed at any time and rebuild
its view from the engine alone.
"""

from __future__ import annotations

import secrets as random
from typing import Any

import orjson

from faasbox.config import ConfigError, parse_duration
from faasbox.deployment import (
    NO_NEW_PRIVILEGES,
    Deployment,
    Resources,
    memory_bytes,
    nano_cpus,
)

FUNCTION_MARKER = "function"
FUNCTION_NAME = "com.openfaas.function"
ANNOTATION_PREFIX = "com.openfaas.annotations."
RESOURCES_LABEL = "com.faasbox.resources"
UID_LABEL = "com.openfaas.uid"
# OpenFaaS providers answer every function with this label set to its name; clients
# (dashboards, faas-cli filters) key on it. It is derived, so it is never stored: a
# client that sends back what it read leaves the stored labels as they were.
NAME_LABEL = "faas_function"
SECRETS_DIR = "/var/openfaas/secrets/"
INTERNAL_LABELS = {FUNCTION_MARKER, FUNCTION_NAME, RESOURCES_LABEL, UID_LABEL, NAME_LABEL}
# Told to the faasbox watchdog when a function's no-new-privileges is relaxed: engines
# that predate the spec's flag (20.10 does) ignore it, so the watchdog sets it itself.
WATCHDOG_NNP_OFF = "no_new_privileges=false"


def service_labels(deployment: Deployment) -> dict[str, str]:
    labels = {k: v for k, v in deployment.labels.items() if k != NAME_LABEL}
    for key, value in deployment.annotations.items():
        labels[ANNOTATION_PREFIX + key] = value
    labels[FUNCTION_MARKER] = "true"
    labels[FUNCTION_NAME] = deployment.service
    if deployment.limits or deployment.requests:
        labels[RESOURCES_LABEL] = orjson.dumps(
            {"limits": deployment.limits.to_json(), "requests": deployment.requests.to_json()}
        ).decode()
    return labels


def _resources(res: Resources) -> dict[str, int]:
    out: dict[str, int] = {}
    if res.memory:
        out["MemoryBytes"] = memory_bytes(res.memory)
    if res.cpu:
        out["NanoCPUs"] = nano_cpus(res.cpu)
    return out


def service_spec(
    deployment: Deployment,
    *,
    network_id: str,
    secret_refs: list[dict[str, Any]],
    replicas: int,
) -> dict[str, Any]:
    """The Swarm ServiceSpec for a deployment; `secret_refs` come from the secrets module."""
    labels = service_labels(deployment)
    env = [f"{k}={v}" for k, v in deployment.env_vars.items()]
    if deployment.env_process:
        env.append(f"fprocess={deployment.env_process}")
    container: dict[str, Any] = {
        "Image": deployment.image,
        "Labels": {**labels, UID_LABEL: random.token_hex(8)},
        "Env": env,
        "Secrets": secret_refs,
        "ReadOnly": deployment.read_only_root_filesystem,
    }
    grace = stop_grace_period(deployment.env_vars)
    if grace is not None:
        container["StopGracePeriod"] = grace
    if deployment.read_only_root_filesystem:
        # The watchdog's lock file lives in /tmp.
        container["Mounts"] = [{"Type": "tmpfs", "Target": "/tmp"}]
    limits = _resources(deployment.limits)
    _lock_down(deployment, container, limits)
    return {
        "Name": deployment.service,
        "Labels": labels,
        "TaskTemplate": {
            "ContainerSpec": container,
            "Resources": {
                "Limits": limits,
                "Reservations": _resources(deployment.requests),
            },
            "RestartPolicy": {"Condition": "any", "Delay": 5_000_000_000, "MaxAttempts": 0},
            "Placement": {"Constraints": deployment.constraints},
            "Networks": [{"Target": network_id, "Aliases": [deployment.service]}],
        },
        "Mode": {"Replicated": {"Replicas": replicas}},
        "UpdateConfig": {"Parallelism": 1, "Order": "start-first", "FailureAction": "rollback"},
        "RollbackConfig": {"Parallelism": 1, "FailureAction": "pause"},
        "EndpointSpec": {"Mode": "dnsrr"},
    }


_GRACE_MARGIN = 5.0
_TIMEOUTS = ("write_timeout", "exec_timeout", "healthcheck_interval")


def stop_grace_period(env: dict[str, str]) -> int | None:
    """Nanoseconds Swarm waits after SIGTERM before it kills a replica, or None to keep
    Swarm's 10 s when the function declares no timeout. 10 s cuts off longer calls still
    running: a watchdog keeps serving for healthcheck_interval (default: write_timeout)
    after SIGTERM, so the gateway sees it leave, then gives running calls up to
    write_timeout (exec_timeout when longer); the grace period covers both, plus a margin.
    Undeclared, the watchdogs' defaults differ (5 s to 30 s), and an image that ignores
    SIGTERM would make every removal wait the longest of them."""

    def seconds(name: str) -> float:
        try:
            return parse_duration(env[name]) if env.get(name) else 0.0
        except ConfigError:
            return 0.0  # the watchdog refuses to start with it; nothing runs to wait for

    write, running, drain = (seconds(name) for name in _TIMEOUTS)
    if not (write or running or drain):
        return None
    total = (drain or write) + max(write, running) + _GRACE_MARGIN
    return int(total * 1e9)


def _lock_down(deployment: Deployment, container: dict[str, Any], limits: dict[str, int]) -> None:
    """Capabilities cut to a minimal set, no privilege gain through setuid files, a pids
    limit; each relaxed by the function's annotations (deployment.security)."""
    lock = deployment.security
    if lock.capabilities is not None:
        container["CapabilityDrop"] = ["ALL"]
        container["CapabilityAdd"] = [f"CAP_{c}" for c in lock.capabilities]
    if lock.no_new_privileges:
        container["Privileges"] = {"NoNewPrivileges": True}
    else:
        container["Env"].append(WATCHDOG_NNP_OFF)
    if lock.pids_limit:
        limits["Pids"] = lock.pids_limit


def secret_ref(secret_id: str, swarm_name: str, name: str) -> dict[str, Any]:
    """Mount a Swarm secret where OpenFaaS functions look for `name`."""
    return {
        "SecretID": secret_id,
        "SecretName": swarm_name,
        "File": {"Name": SECRETS_DIR + name, "UID": "0", "GID": "0", "Mode": 0o444},
    }


def secret_target(ref: dict[str, Any]) -> str:
    """The OpenFaaS name of a mounted secret: its file name, which survives rotation."""
    target = str((ref.get("File") or {}).get("Name") or ref["SecretName"])
    return target.removeprefix(SECRETS_DIR)


def is_function(service: dict[str, Any], network_id: str) -> bool:
    """A function of this faasbox: the OpenFaaS marker label and our network attached."""
    spec = service.get("Spec") or {}
    if (spec.get("Labels") or {}).get(FUNCTION_MARKER) != "true":
        return False
    networks = (spec.get("TaskTemplate") or {}).get("Networks") or []
    return any(n.get("Target") == network_id for n in networks)


def replicas_of(service: dict[str, Any]) -> int:
    mode = (service.get("Spec") or {}).get("Mode") or {}
    return int((mode.get("Replicated") or {}).get("Replicas", 1))


def status_fields(service: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The OpenFaaS FunctionStatus fields that come from the service spec."""
    spec = service["Spec"]
    container = spec["TaskTemplate"]["ContainerSpec"]
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    for key, value in (spec.get("Labels") or {}).items():
        if key.startswith(ANNOTATION_PREFIX):
            annotations[key[len(ANNOTATION_PREFIX) :]] = value
        elif key not in INTERNAL_LABELS:
            labels[key] = value
    labels[NAME_LABEL] = spec["Name"]
    env_vars: dict[str, str] = {}
    env_process = ""
    relaxed = annotations.get(NO_NEW_PRIVILEGES, "").strip().lower() == "false"
    for entry in container.get("Env") or []:
        if relaxed and entry == WATCHDOG_NNP_OFF:
            continue  # ours, from the annotation, not the caller's envVars
        key, _, value = entry.partition("=")
        if key == "fprocess":
            env_process = value
        else:
            env_vars[key] = value
    out: dict[str, Any] = {
        "name": spec["Name"],
        "image": container["Image"],
        "namespace": namespace,
        "envProcess": env_process,
        "labels": labels,
        "annotations": annotations,
        "secrets": [secret_target(s) for s in container.get("Secrets") or []],
        "constraints": list((spec["TaskTemplate"].get("Placement") or {}).get("Constraints") or []),
        "readOnlyRootFilesystem": bool(container.get("ReadOnly")),
        "createdAt": service.get("CreatedAt", ""),
    }
    if env_vars:
        out["envVars"] = env_vars
    raw = (spec.get("Labels") or {}).get(RESOURCES_LABEL)
    if raw:
        resources = orjson.loads(raw)
        out.update({k: v for k, v in resources.items() if v})
    return out
