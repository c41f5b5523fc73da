"""The watchdog's settings, read once from the environment at start.

A setting that would fail at the first request fails the start instead (ConfigError, exit 2).
"""

from __future__ import annotations

import os
import re
import sys
import urllib.parse
from collections.abc import Mapping
from typing import NamedTuple


class ConfigError(Exception):
    """A setting that would otherwise fail at the first request: reported once, at start."""


class Config(NamedTuple):
    argv: list[str]
    mode: str
    upstream: tuple[str, int]
    port: int
    read_timeout: float
    write_timeout: float
    exec_timeout: float
    healthcheck_interval: float
    write_debug: bool
    content_type: str
    marshal_request: bool
    cgi_headers: bool
    combine_output: bool
    suppress_lock: bool
    max_inflight: int
    lock_path: str
    no_new_privileges: bool
    workers: int


_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(name: str, raw: str, default: float) -> float:
    """Seconds from an integer (seconds) or a Go duration such as `1m30s` or `500ms`.

    The classic watchdog silently keeps the default for a bad value; here it is an error at
    start, because a function that ignores its timeout is found only in production.
    """
    if not raw:
        return default
    if raw.isdigit():
        return float(raw)
    parts = _DURATION_PART.findall(raw)
    if not parts or "".join(number + unit for number, unit in parts) != raw:
        raise ConfigError(f"{name}={raw!r} is not a duration (use 30, 30s, 1m30s or 500ms)")
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """Only the exact string `true` is true once a value is set: `cgi_headers=1` is false."""
    raw = env.get(name, "")
    return default if not raw else raw == "true"


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw!r} is not an integer from {low} to {high}")
    return value


def _resolve_program(argv: list[str], env: Mapping[str, str]) -> str:
    """The executable's path, looked up once: a typo fails the start, not every request."""
    import shutil

    program = argv[0]
    if "/" in program:
        found = program if os.access(program, os.X_OK) and os.path.isfile(program) else None
    else:
        found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        raise ConfigError(f"fprocess: {program!r} is not an executable file or on PATH")
    return found


def _upstream(raw: str) -> tuple[str, int]:
    url = urllib.parse.urlsplit(raw)
    try:
        port = url.port or 80
    except ValueError:
        port = 0
    if url.scheme != "http" or not url.hostname or not port:
        raise ConfigError(f"upstream_url={raw!r} must be http://host:port")
    return url.hostname, port


def load_config(env: Mapping[str, str]) -> Config:
    fprocess = env.get("fprocess", "")
    if not fprocess.strip():
        raise ConfigError("fprocess is not set: give the command to run, e.g. fprocess='cat'")
    # The classic watchdog splits on single spaces with no shell and no quoting.
    argv = fprocess.split(" ")
    argv[0] = _resolve_program(argv, env)
    mode = env.get("mode", "") or "fork"
    if mode not in ("fork", "http"):
        raise ConfigError(f"mode={mode!r} must be fork or http")
    upstream = ("", 0)
    if mode == "http":
        if not env.get("upstream_url"):
            raise ConfigError("mode=http needs upstream_url, e.g. http://127.0.0.1:5000")
        upstream = _upstream(env["upstream_url"])
    write_timeout = parse_duration("write_timeout", env.get("write_timeout", ""), 30.0)
    return Config(
        argv=argv,
        mode=mode,
        upstream=upstream,
        port=_integer(env, "port", 8080, 1, 65535),
        read_timeout=parse_duration("read_timeout", env.get("read_timeout", ""), 30.0),
        write_timeout=write_timeout,
        exec_timeout=parse_duration("exec_timeout", env.get("exec_timeout", ""), 0.0),
        healthcheck_interval=parse_duration(
            "healthcheck_interval", env.get("healthcheck_interval", ""), write_timeout
        ),
        write_debug=_flag(env, "write_debug", False),
        content_type=env.get("content_type", ""),
        marshal_request=_flag(env, "marshal_request", False),
        cgi_headers=_flag(env, "cgi_headers", True),
        combine_output=_flag(env, "combine_output", True),
        suppress_lock=_flag(env, "suppress_lock", False),
        max_inflight=_integer(env, "max_inflight", 0, 0, 1 << 30),
        lock_path=os.path.join(env.get("TMPDIR") or "/tmp", ".lock"),
        no_new_privileges=_flag(env, "no_new_privileges", True),
        workers=_workers(env, mode),
    )


# More workers than this by default cost memory (a Python process each) for little gain:
# a fork-mode request's time is mostly the child's, and the children use the cores too.
DEFAULT_WORKERS_MAX = 4


def _workers(env: Mapping[str, str], mode: str) -> int:
    """Processes serving the port in fork mode: as many as the cores the container may use
    (its CPU affinity and cgroup quota), at most DEFAULT_WORKERS_MAX, unless
    `watchdog_workers` says. http mode keeps one: its one upstream is the bottleneck."""
    if mode == "http":
        if env.get("watchdog_workers", "") not in ("", "1"):
            raise ConfigError("watchdog_workers applies to fork mode only; http mode runs one")
        return 1
    return _integer(env, "watchdog_workers", min(usable_cores(), DEFAULT_WORKERS_MAX), 1, 64)


def usable_cores() -> int:
    """Cores this process may run on: the affinity mask, lowered by a cgroup CPU quota
    (`docker run --cpus`, a Swarm service's CPU limit), rounded up."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    quota = _cpu_quota()
    if quota is not None:
        cores = min(cores, -(-quota[0] // quota[1]))
    return max(cores, 1)


def _cpu_quota() -> tuple[int, int] | None:
    """(quota, period) of the cgroup's CPU limit (v2, else v1); None when unlimited."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as file:
            quota, period = file.read().split()[:2]
    except (OSError, ValueError):
        try:
            with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as file:
                quota = file.read().strip()
            with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as file:
                period = file.read().strip()
        except OSError:
            return None
    if not quota.isdigit() or not period.isdigit() or int(period) == 0:
        return None  # "max" (v2) or "-1" (v1): no limit
    return int(quota), int(period)


def forbid_privilege_gain() -> None:
    """PR_SET_NO_NEW_PRIVS for the watchdog and so for every child: a setuid file cannot
    raise a request's privileges. Older engines (20.10) ignore the service flag that would
    do this, so the watchdog does it itself. Linux only; elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_no_new_privs = 38
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        raise ConfigError(f"cannot set no_new_privileges: {os.strerror(ctypes.get_errno())}")
