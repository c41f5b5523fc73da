"""Leave root when the Docker socket's group lets another user reach the engine.

The appliance image starts as root because the socket's group id differs on every
host (and the state volume may be new and root's); faasbox then gives the state dir
to the unprivileged user and becomes it, with the socket's group as its only group.
A socket owned by group root stays reachable by root alone, so faasbox stays root.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SOCKET = Path("/var/run/docker.sock")


def socket_path(docker_host: str | None) -> Path | None:
    """The engine's unix socket, or None when the engine is reached over TCP."""
    if not docker_host:
        return DEFAULT_SOCKET
    if docker_host.startswith("unix://"):
        return Path(docker_host.removeprefix("unix://"))
    return None


def drop_root(uid: int, docker_host: str | None, state_dir: Path) -> str:
    """Become `uid` when running as root and the socket allows it; returns what was done."""
    if os.getuid() != 0:
        return ""
    socket = socket_path(docker_host)
    try:
        gid = socket.stat().st_gid if socket else uid
    except OSError:
        return f"no Docker socket at {socket}: staying root"
    if gid == 0:
        return f"{socket} is group root's only: staying root"
    state_dir.mkdir(parents=True, exist_ok=True)
    for path in (state_dir, *state_dir.rglob("*")):
        os.chown(path, uid, gid, follow_symlinks=False)
    os.setgroups([gid])
    os.setgid(gid)
    os.setuid(uid)
    return f"running as uid {uid}, gid {gid} (the group of {socket or 'no socket'})"
