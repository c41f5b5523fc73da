"""Real-engine helpers shared by every test suite: base images, image builds, cleanup.

The engine is shared with other test runs, so everything here is named per
caller and removes only what it made; base images are reused when present.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The engine package's own client builds with BuildKit without the buildx plugin.
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
PYTHON_BASE = "faasbox-base/python:3.11"


# A test run's token (tests/support/leftovers.py): inherited by every process the run
# starts and part of every name unique() makes, so what a run leaves can be told apart
# from what other runs on the same engine own.
RUN_ENV = "FAASBOX_TEST_RUN"


def run_token() -> str:
    return os.environ.setdefault(RUN_ENV, uuid.uuid4().hex[:6])


def unique(prefix: str) -> str:
    return f"{prefix}-{run_token()}{uuid.uuid4().hex[:6]}"


def docker(*args: str, check: bool = True, timeout: float = 300) -> str:
    result = subprocess.run(
        [DOCKER, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def ensure_base(tag: str = PYTHON_BASE, *packages: str, platform: str = "") -> str:
    """A base image built from Debian packages (scripts/offline-base.sh), reused if present."""
    env = {**os.environ, "PLATFORM": platform}
    subprocess.run(
        ["bash", str(REPO / "scripts" / "offline-base.sh"), tag, *(packages or ("python3",))],
        check=True,
        env=env,
        timeout=900,
    )
    return tag


def remove_image(tag: str) -> None:
    docker("rmi", "-f", tag, check=False)


def remove_functions_on(network: str) -> None:
    """Remove the services attached to `network` (a test's own), then the network."""
    ids = docker("service", "ls", "-q", "--filter", "label=function=true", check=False).split()
    for service_id in ids:
        nets = docker(
            "service",
            "inspect",
            service_id,
            "--format",
            "{{range .Spec.TaskTemplate.Networks}}{{.Target}} {{end}}",
            check=False,
        ).split()
        net_id = docker("network", "inspect", network, "--format", "{{.Id}}", check=False)
        if net_id and net_id in nets:
            docker("service", "rm", service_id, check=False)
    for _ in range(30):
        if not docker("network", "inspect", network, check=False):
            return
        if subprocess.run([DOCKER, "network", "rm", network], capture_output=True).returncode == 0:
            return
        subprocess.run(["sleep", "1"], check=False)


def image_exists(tag: str) -> bool:
    return subprocess.run([DOCKER, "image", "inspect", tag], capture_output=True).returncode == 0


def have_docker() -> bool:
    return (
        shutil.which(DOCKER) is not None
        and subprocess.run([DOCKER, "info"], capture_output=True).returncode == 0
    )
