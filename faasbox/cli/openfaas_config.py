"""Saved gateway logins in faas-cli's own file (~/.openfaas/config.yml or $OPENFAAS_CONFIG).

Using faas-cli's file and format means a `faas-cli login` works for faasbox
and the other way round.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

from faasbox.cli.errors import CliError


def config_path() -> Path:
    """$OPENFAAS_CONFIG names the folder (faas-cli's meaning); the file is config.yml in it."""
    folder = os.environ.get("OPENFAAS_CONFIG") or str(Path.home() / ".openfaas")
    return Path(folder) / "config.yml"


def normalise(gateway: str) -> str:
    gateway = gateway.strip().rstrip("/").lower()
    if not gateway.startswith(("http://", "https://")):
        gateway = "http://" + gateway
    return gateway


def _read() -> dict[str, Any]:
    path = config_path()
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise CliError(f"{path} is not a faas-cli config file")
    return data


def _write(data: dict[str, Any]) -> None:
    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(data, handle, sort_keys=False)
    tmp.replace(path)


def lookup(gateway: str) -> tuple[str, str] | None:
    """(user, password) saved for the gateway, if any."""
    gateway = normalise(gateway)
    for entry in _read().get("auths") or []:
        if isinstance(entry, dict) and entry.get("gateway") == gateway:
            if entry.get("auth") != "basic":
                return None
            user, _, password = base64.b64decode(entry.get("token", "")).decode().partition(":")
            return user, password
    return None


def save(gateway: str, user: str, password: str) -> Path:
    gateway = normalise(gateway)
    data = _read()
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    auths = [a for a in data.get("auths") or [] if a.get("gateway") != gateway]
    auths.append({"gateway": gateway, "auth": "basic", "token": token})
    data["auths"] = auths
    _write(data)
    return config_path()


def forget(gateway: str) -> bool:
    gateway = normalise(gateway)
    data = _read()
    auths = data.get("auths") or []
    kept = [a for a in auths if a.get("gateway") != gateway]
    if len(kept) == len(auths):
        return False
    data["auths"] = kept
    _write(data)
    return True
