"""One Settings object for the whole process.

Only this module reads flags and the environment; every component receives the
values it needs as arguments. OpenFaaS gateway variable names (`read_timeout`,
`upstream_timeout`, ...) are honoured so existing compose files and docs keep
working; `FAASBOX_*` names win when both are set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from faasbox.sizes import parse_size

_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it."""


def parse_duration(text: str) -> float:
    """Seconds from an integer (OpenFaaS reads bare numbers as seconds) or a Go duration."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    pos, total = 0, 0.0
    for match in _GO_DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ConfigError(f"not a duration: {text!r} (use seconds or e.g. 1m30s)")
    return total


@dataclass(frozen=True)
class Settings:
    """Every knob, with the default a fresh install gets."""

    host: str = "0.0.0.0"
    port: int = 8080
    metrics_port: int = 8082
    state_dir: Path = Path("/var/lib/faasbox")
    network: str = "func_functions"
    docker_host: str | None = None
    namespace: str = "openfaas-fn"
    auth: bool = True
    read_timeout: float = 60.0
    write_timeout: float = 60.0
    upstream_timeout: float = 60.0
    max_body_size: int = 256 * 1024 * 1024
    image_pull_timeout: float = 20.0
    log_level: str = "info"
    autoscale: bool = True
    scale_interval: float = 1.0
    scale_window: float = 10.0
    scale_hold: float = 5.0
    scale_threshold: float = 5.0
    scale_from_zero: bool = True
    scale_from_zero_timeout: float = 30.0
    # async invocations (docs/async.md)
    queue: str = "sqlite"
    async_max_body: int = 1024 * 1024
    async_queue_max: int = 10_000
    async_dedupe_window: float = 24 * 3600.0
    async_lease: float = 30.0
    async_concurrency: int = 1
    async_dead_max: int = 10_000
    async_dead_age: float = 7 * 24 * 3600.0
    async_callback_attempts: int = 5
    async_callback_timeout: float = 10.0
    max_calls_per_replica: int = 128
    max_queued_calls: int = 1024
    upstream_idle_timeout: float = 15.0
    max_header_size: int = 32 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0
    # Set in the appliance image: leave root for this uid when the socket allows it.
    run_as: int | None = None
    # The function store catalogue: a file path or an http(s) URL; "" means the shipped one.
    store: str = ""

    def with_overrides(self, **values: Any) -> Settings:
        """Copy with the given fields replaced; None or "" means "not given" (an unset flag)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None and v != ""})


# setting -> (FAASBOX_* name, OpenFaaS name or None, parser)
_ENV: dict[str, tuple[str, str | None, type | object]] = {
    "host": ("FAASBOX_HOST", None, str),
    "port": ("FAASBOX_PORT", None, int),
    "metrics_port": ("FAASBOX_METRICS_PORT", None, int),
    "state_dir": ("FAASBOX_STATE_DIR", None, Path),
    "network": ("FAASBOX_NETWORK", None, str),
    "docker_host": ("DOCKER_HOST", None, str),
    "namespace": ("FAASBOX_NAMESPACE", "function_namespace", str),
    "auth": ("FAASBOX_AUTH", "basic_auth", "bool"),
    "read_timeout": ("FAASBOX_READ_TIMEOUT", "read_timeout", parse_duration),
    "write_timeout": ("FAASBOX_WRITE_TIMEOUT", "write_timeout", parse_duration),
    "upstream_timeout": ("FAASBOX_UPSTREAM_TIMEOUT", "upstream_timeout", parse_duration),
    "max_body_size": ("FAASBOX_MAX_BODY_SIZE", "max_request_body_size", parse_size),
    "image_pull_timeout": ("FAASBOX_IMAGE_PULL_TIMEOUT", None, parse_duration),
    "log_level": ("FAASBOX_LOG_LEVEL", None, str),
    "autoscale": ("FAASBOX_AUTOSCALE", None, "bool"),
    "scale_interval": ("FAASBOX_SCALE_INTERVAL", None, parse_duration),
    "scale_window": ("FAASBOX_SCALE_WINDOW", None, parse_duration),
    "scale_hold": ("FAASBOX_SCALE_HOLD", None, parse_duration),
    "scale_threshold": ("FAASBOX_SCALE_THRESHOLD", None, float),
    "scale_from_zero": ("FAASBOX_SCALE_FROM_ZERO", "scale_from_zero", "bool"),
    "scale_from_zero_timeout": ("FAASBOX_SCALE_FROM_ZERO_TIMEOUT", None, parse_duration),
    "queue": ("FAASBOX_QUEUE", None, str),
    "async_max_body": ("FAASBOX_ASYNC_MAX_BODY", None, parse_size),
    "async_queue_max": ("FAASBOX_ASYNC_QUEUE_MAX", None, int),
    "async_dedupe_window": ("FAASBOX_ASYNC_DEDUPE_WINDOW", None, parse_duration),
    "async_lease": ("FAASBOX_ASYNC_LEASE", None, parse_duration),
    "async_concurrency": ("FAASBOX_ASYNC_CONCURRENCY", None, int),
    "async_dead_max": ("FAASBOX_ASYNC_DEAD_MAX", None, int),
    "async_dead_age": ("FAASBOX_ASYNC_DEAD_AGE", None, parse_duration),
    "async_callback_attempts": ("FAASBOX_ASYNC_CALLBACK_ATTEMPTS", None, int),
    "async_callback_timeout": ("FAASBOX_ASYNC_CALLBACK_TIMEOUT", None, parse_duration),
    "max_calls_per_replica": ("FAASBOX_MAX_CALLS_PER_REPLICA", None, int),
    "max_queued_calls": ("FAASBOX_MAX_QUEUED_CALLS", None, int),
    "upstream_idle_timeout": ("FAASBOX_UPSTREAM_IDLE_TIMEOUT", None, parse_duration),
    "max_header_size": ("FAASBOX_MAX_HEADER_SIZE", None, parse_size),
    "max_headers": ("FAASBOX_MAX_HEADERS", None, int),
    "header_timeout": ("FAASBOX_HEADER_TIMEOUT", None, parse_duration),
    "run_as": ("FAASBOX_RUN_AS", None, int),
    "store": ("FAASBOX_STORE", None, str),
}


def _convert(name: str, raw: str, parser: object) -> object:
    try:
        if parser == "bool":
            return raw.strip().lower() in ("1", "true", "yes", "on")
        assert callable(parser)
        return parser(raw)
    except (ValueError, ConfigError) as exc:
        raise ConfigError(f"{name}={raw!r}: {exc}") from None


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment; a bad value raises ConfigError naming the variable."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for setting, (ours, openfaas, parser) in _ENV.items():
        for name in (ours, openfaas):
            if name and env.get(name):
                values[setting] = _convert(name, env[name], parser)
                break
    return Settings().with_overrides(**values)


def env_help() -> str:
    """The environment table for `faasbox up --help`."""
    lines = []
    for setting, (ours, openfaas, _) in _ENV.items():
        alias = f" (or {openfaas})" if openfaas else ""
        lines.append(f"  {ours}{alias}: {setting}")
    return "\n".join(lines)
