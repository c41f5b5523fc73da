"""What a test run leaves behind, told apart from what other runs on the same engine own.

Every test run has a token, kept in the environment so each process the run starts
inherits it (faasbox servers, watchdogs and what they spawn, registries, browsers) and
embedded by `unique()` in every engine object name the run makes. A process carrying the
token or an engine object whose name holds it is this run's, whoever else shares the
machine; the check after the whole suite (tests/conftest.py) reports and removes them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.support.engine import DOCKER, RUN_ENV

# Engine object kinds and how to list every name of each, stopped containers included.
KINDS = {
    "service": ["service", "ls", "--format", "{{.Name}}"],
    "container": ["ps", "-a", "--format", "{{.Names}}"],
    "network": ["network", "ls", "--format", "{{.Name}}"],
    "secret": ["secret", "ls", "--format", "{{.Name}}"],
    "volume": ["volume", "ls", "--format", "{{.Name}}"],
}
REMOVE = {
    "service": ["service", "rm"],
    "container": ["rm", "-f"],
    "network": ["network", "rm"],
    "secret": ["secret", "rm"],
    "volume": ["volume", "rm", "-f"],
}


def marked_processes(value: str, variable: str = RUN_ENV) -> dict[int, str]:
    """pid -> command line of every process but this one whose environment holds
    `variable=value` (by default: the run's token)."""
    needle = f"{variable}={value}".encode()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:  # gone meanwhile, or a kernel thread
            continue
        if needle in environ.split(b"\0"):
            found[int(entry)] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    return found


def kill(processes: dict[int, str]) -> None:
    for pid in processes:
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.kill(pid, signal.SIGKILL)


def engine_objects(token: str) -> list[tuple[str, str]]:
    """(kind, name) of the services, containers, networks, secrets and volumes named
    with the token."""
    found = []
    for kind, command in KINDS.items():
        listed = subprocess.run(
            [DOCKER, *command], capture_output=True, text=True, check=False, timeout=60
        )
        if listed.returncode != 0:
            raise RuntimeError(f"docker {' '.join(command)}: {listed.stderr.strip()}")
        found += [(kind, name) for name in listed.stdout.split() if token in name]
    return found


def sweep(token: str, settle: float = 30.0) -> list[str]:
    """Everything the run left, after giving the engine `settle` seconds to finish
    removals already asked for (a removed service's containers go away on their own);
    what is left is then killed or removed, so the next run starts clean."""
    deadline = time.monotonic() + settle
    while True:
        processes = marked_processes(token)
        objects = engine_objects(token)
        if not (processes or objects) or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    kill(processes)
    for kind, name in objects:  # listed in KINDS order: services go before their networks
        subprocess.run([DOCKER, *REMOVE[kind], name], capture_output=True, check=False)
    return [f"process {pid}: {cmd}" for pid, cmd in processes.items()] + [
        f"{kind} {name}" for kind, name in objects
    ]
