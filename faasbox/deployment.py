"""The OpenFaaS `FunctionDeployment` request, checked before anything touches the engine.

Validation happens here, once, so that the API, the CLI and the UI all refuse the
same inputs with the same words, and a request that passes can only fail later
for engine reasons (missing image or secret, engine down).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from faasbox.labels import InvalidLabel, scale_policy, whole_number
from faasbox.sizes import parse_size

# Every pattern is used with fullmatch: `$` would also match before a trailing newline.
# The one rule for function names (API, stack files, `faasbox new`, the UI): what Swarm
# accepts as a service name, minus the dot, which selects a namespace. It is wider
# than faas-cli's rule for `new` (DNS-1123: lower-case, digits, '-'), which it
# contains, because OpenFaaS on Swarm and `docker service create --label function=true`
# make functions such as `func_c` or `MyFn` that must stay addressable.
NAME_PATTERN = re.compile(r"[a-zA-Z0-9](?:[-_]*[a-zA-Z0-9]+)*")
NAME_MAX = 63
SECRET_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}")
# A Docker reference: optional registry (a first part with a dot or a port, or localhost),
# lower-case path, optional tag and digest.
IMAGE_PATTERN = re.compile(
    r"(?:(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+)(?::\d+)?/|[a-zA-Z0-9-]+:\d+/)?"
    r"[a-z0-9]+(?:[._-]+[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?:@sha256:[a-f0-9]{64})?"
)
IMAGE_MAX = 255
# An environment name as exec can carry it: no `=`, no NUL, not empty.
ENV_NAME_PATTERN = re.compile(r"[^=\x00]+")
# Docker's resource fields are signed 64-bit integers.
INT64_MAX = 2**63 - 1

# Annotations that relax the lock-down a function is deployed with (docs/security.md).
CAPABILITIES = "com.faasbox.security.capabilities"
NO_NEW_PRIVILEGES = "com.faasbox.security.no-new-privileges"
PIDS_LIMIT = "com.faasbox.security.pids-limit"
# What a function keeps of Docker's default capabilities: enough for an image that starts
# as root to own its files and drop to its user (CHOWN, DAC_OVERRIDE, FOWNER, SETUID,
# SETGID), signal children that did (KILL) and listen below 1024 (NET_BIND_SERVICE).
# Gone: NET_RAW (forged packets on the functions network), MKNOD, SYS_CHROOT, SETFCAP,
# SETPCAP, FSETID, AUDIT_WRITE.
MINIMAL_CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID",
)  # fmt: skip
# Threads count as pids: 1,024 fits a JVM or a busy fork-mode watchdog and stops a fork bomb.
DEFAULT_PIDS_LIMIT = 1024
_CAPABILITY = re.compile(r"(?:CAP_)?([A-Z_]{2,32})")

_CPU = re.compile(r"([0-9]+(?:\.[0-9]+)?)(m?)")


class InvalidRequest(ValueError):
    """Input that can never succeed; the message is shown to the user as it is."""


def check_name(name: object, what: str = "function name") -> str:
    if not isinstance(name, str) or not name:
        raise InvalidRequest(f"{what} is required")
    if len(name) > NAME_MAX:
        raise InvalidRequest(f"{what} {name!r} is longer than {NAME_MAX} characters")
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidRequest(
            f"{what} {name!r} is invalid: use letters, digits, '-' and '_', "
            "starting and ending with a letter or digit"
        )
    return name


def check_secret_name(name: object) -> str:
    """Secret names become file names under /var/openfaas/secrets: no paths, no traversal."""
    if not isinstance(name, str) or not name:
        raise InvalidRequest("secret name is required")
    if not SECRET_PATTERN.fullmatch(name) or ".." in name:
        raise InvalidRequest(
            f"secret name {name!r} is invalid: use up to 64 letters, digits, '.', '-' and '_'"
        )
    return name


def check_image(image: str) -> str:
    """A reference Docker can parse; anything else would only fail inside the engine."""
    if len(image) > IMAGE_MAX or not IMAGE_PATTERN.fullmatch(image):
        raise InvalidRequest(f"image {image[:300]!r} is not a valid image name")
    return image


def _engine_int(value: Decimal, what: str, text: str) -> int:
    """Decimal, not float: `1` and 400 zeros is a number too, and must be refused, not
    overflow into a 500 or past the engine's 64-bit fields."""
    if value > INT64_MAX:
        raise InvalidRequest(f"{what} {text[:40]!r} is too large")
    return int(value)


def memory_bytes(text: str) -> int:
    """A memory limit or request in bytes, in the grammar settings use too (faasbox.sizes)."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise InvalidRequest(f"memory {exc}") from None


def nano_cpus(text: str) -> int:
    """CPU as cores (`0.5`, `2`) or millicores (`500m`), as Docker's NanoCPUs."""
    match = _CPU.fullmatch(text.strip())
    if not match:
        raise InvalidRequest(f"cpu {text[:40]!r} is not a number of cores such as 0.5 or 500m")
    value = Decimal(match.group(1)) / (1000 if match.group(2) else 1)
    return _engine_int(value * 10**9, "cpu", text)


@dataclass(frozen=True)
class Resources:
    memory: str = ""
    cpu: str = ""

    def to_json(self) -> dict[str, str]:
        return {k: v for k, v in (("memory", self.memory), ("cpu", self.cpu)) if v}

    def __bool__(self) -> bool:
        return bool(self.memory or self.cpu)


@dataclass(frozen=True)
class Security:
    """The lock-down of one function: `capabilities` None keeps Docker's default set;
    `pids_limit` 0 means no limit."""

    capabilities: tuple[str, ...] | None = MINIMAL_CAPABILITIES
    no_new_privileges: bool = True
    pids_limit: int = DEFAULT_PIDS_LIMIT


def security(annotations: Mapping[str, str]) -> Security:
    """The lock-down with the relaxations a function's annotations ask for."""
    caps: tuple[str, ...] | None = MINIMAL_CAPABILITIES
    raw = annotations.get(CAPABILITIES, "").strip()
    if raw == "default":
        caps = None
    elif raw:
        extra = [c.strip().upper() for c in raw.split(",") if c.strip()]
        matches = [_CAPABILITY.fullmatch(c) for c in extra]
        if not all(matches):
            raise InvalidRequest(
                f"annotation {CAPABILITIES}={raw[:80]!r}: give capability names "
                "(e.g. NET_RAW,SYS_PTRACE) or `default`"
            )
        caps = tuple(sorted({*MINIMAL_CAPABILITIES, *(m.group(1) for m in matches if m)}))
    nnp = annotations.get(NO_NEW_PRIVILEGES, "true").strip().lower()
    if nnp not in ("true", "false"):
        raise InvalidRequest(f"annotation {NO_NEW_PRIVILEGES} must be true or false")
    try:
        pids = whole_number(annotations, PIDS_LIMIT, DEFAULT_PIDS_LIMIT, 1 << 22, "annotation")
    except InvalidLabel as exc:
        raise InvalidRequest(str(exc)) from None
    return Security(capabilities=caps, no_new_privileges=nnp == "true", pids_limit=pids)


@dataclass(frozen=True)
class Deployment:
    service: str
    image: str
    namespace: str = ""
    env_process: str = ""
    env_vars: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    constraints: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    limits: Resources = Resources()
    requests: Resources = Resources()
    read_only_root_filesystem: bool = False
    registry_auth: str = ""

    @property
    def min_replicas(self) -> int:
        return scale_policy(self.labels).min

    @property
    def security(self) -> Security:
        return security(self.annotations)


def _no_nul(key: str, *texts: str) -> None:
    """No string of a deployment may hold a NUL: it ends up in an environment, a label or
    a file name, where it is cut short or refused by exec."""
    if any("\x00" in text for text in texts):
        raise InvalidRequest(f"{key} contains a NUL character")


def _string(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidRequest(f"{key} must be a string")
    _no_nul(key, value)
    return value


def _string_map(body: Mapping[str, Any], key: str) -> dict[str, str]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidRequest(f"{key} must be an object of string values")
    _no_nul(key, *value, *value.values())
    return dict(value)


def _string_list(body: Mapping[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"{key} must be a list of strings")
    _no_nul(key, *value)
    return list(value)


def _env_vars(body: Mapping[str, Any]) -> dict[str, str]:
    """Names exec can carry; `fprocess` only through envProcess, so that what a status
    shows as the function's process is the one that runs."""
    env = _string_map(body, "envVars")
    for name in env:
        if not ENV_NAME_PATTERN.fullmatch(name):
            raise InvalidRequest(f"envVars name {name!r} is invalid: not empty, no '='")
    if "fprocess" in env:
        raise InvalidRequest("envVars may not set fprocess: use envProcess (stack.yml fprocess:)")
    return env


def _resources(body: Mapping[str, Any], key: str) -> Resources:
    value = body.get(key)
    if value is None:
        return Resources()
    if not isinstance(value, dict):
        raise InvalidRequest(f"{key} must be an object with memory and cpu")
    memory, cpu = _string(value, "memory"), _string(value, "cpu")
    if memory and memory_bytes(memory) <= 0:
        raise InvalidRequest(f"{key}.memory must be above zero")
    if cpu and nano_cpus(cpu) <= 0:
        raise InvalidRequest(f"{key}.cpu must be above zero")
    return Resources(memory=memory, cpu=cpu)


def _scale_labels(labels: Mapping[str, str]) -> None:
    """Refused here, in the words the scaler would log, rather than deployed and then
    never scaled."""
    try:
        scale_policy(labels)
    except InvalidLabel as exc:
        raise InvalidRequest(str(exc)) from None


def parse_deployment(body: object, default_namespace: str) -> Deployment:
    """A Deployment from decoded JSON; unknown keys are ignored as Go clients expect."""
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    service = check_name(body.get("service"))
    image = _string(body, "image").strip()
    if not image:
        raise InvalidRequest("image is required")
    check_image(image)
    namespace = check_namespace(_string(body, "namespace"), default_namespace)
    read_only = body.get("readOnlyRootFilesystem", False)
    if not isinstance(read_only, bool):
        raise InvalidRequest("readOnlyRootFilesystem must be true or false")
    labels = _string_map(body, "labels")
    _scale_labels(labels)
    secrets = _string_list(body, "secrets")
    for secret in secrets:
        check_secret_name(secret)
    annotations = _string_map(body, "annotations")
    security(annotations)
    return Deployment(
        service=service,
        image=image,
        namespace=namespace,
        env_process=_string(body, "envProcess"),
        env_vars=_env_vars(body),
        labels=labels,
        annotations=annotations,
        constraints=_string_list(body, "constraints"),
        secrets=secrets,
        limits=_resources(body, "limits"),
        requests=_resources(body, "requests"),
        read_only_root_filesystem=read_only,
        registry_auth=_registry_auth(body),
    )


def _registry_auth(body: Mapping[str, Any]) -> str:
    """OpenFaaS's `registryAuth`: base64 of `user:password`, refused here if malformed
    rather than failing later inside the engine call."""
    value = _string(body, "registryAuth")
    if value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidRequest("registryAuth must be base64 of user:password") from None
        if ":" not in decoded:
            raise InvalidRequest("registryAuth must be base64 of user:password")
    return value


def check_namespace(namespace: str, default_namespace: str) -> str:
    if namespace and namespace != default_namespace:
        raise InvalidRequest(
            f"namespace {namespace!r} does not exist; faasbox has one: {default_namespace!r}"
        )
    return default_namespace


def split_name(name: str, default_namespace: str) -> str:
    """`fn` and `fn.<namespace>` both address `fn`; any other namespace is refused."""
    base, dot, namespace = name.rpartition(".")
    if not dot:
        return name
    check_namespace(namespace, default_namespace)
    return base
