"""The watchdog as PID 1 of a real container built from an offline Debian base."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from faasbox.builder.resources import watchdog_app
from tests.support.engine import unique
from tests.support.images import Source, built_image
from tests.watchdog.harness import wait_until

DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
HANDLER = """#!/bin/sh
[ "$Http_Query" = orphan ] && (sleep 0.2 >/dev/null 2>&1 &)
[ "$Http_Query" = sleep ] && sleep 30
echo "path=$Http_Path"
cat
"""
DOCKERFILE = """ARG BASE
FROM ${BASE}
COPY fwatchdog.py /usr/local/bin/fwatchdog.py
COPY handler.sh /home/app/handler.sh
ENV fprocess=/home/app/handler.sh
HEALTHCHECK --interval=1s CMD ["python3", "/usr/local/bin/fwatchdog.py", "-run-healthcheck"]
CMD ["python3", "/usr/local/bin/fwatchdog.py"]
"""
ZOMBIES = (
    "import os;print(sum(open(f'/proc/{p}/stat').read().rsplit(')',1)[1].split()[0]=='Z'"
    " for p in os.listdir('/proc') if p.isdigit()))"
)


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(
        [DOCKER, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    if check and done.returncode:
        raise AssertionError(f"docker {' '.join(args)}: {done.stderr}")
    return done.stdout.strip()


@pytest.fixture
def container(tmp_path: Path) -> Iterator[str]:
    """Runs the watchdog image (built from the offline base when missing); the container is
    removed afterwards, the image kept for the next run."""
    handler = tmp_path / "handler.sh"
    handler.write_text(HANDLER)
    handler.chmod(0o755)
    context: dict[str, Source] = {
        "Dockerfile": DOCKERFILE,
        "fwatchdog.py": watchdog_app(),
        "handler.sh": handler,
    }
    tag = built_image("watchdog-pid1", context)
    name = unique("faasbox-test-watchdog")
    try:
        docker(
            "run",
            "-d",
            "--name",
            name,
            "-p",
            "127.0.0.1::8080",
            "-e",
            "exec_timeout=1s",
            "-e",
            "healthcheck_interval=1",
            tag,
        )
        yield name
    finally:
        docker("rm", "-f", name, check=False)


@pytest.mark.engine
def test_watchdog_in_a_container(container: str) -> None:
    url = "http://" + docker("port", container, "8080/tcp").splitlines()[0]
    assert wait_until(lambda: _status(url + "/_/health") == 200, 30), docker("logs", container)
    response = httpx.post(url + "/fn/x", content=b"from the host", timeout=10)
    assert (response.status_code, response.text) == (200, "path=/fn/x\nfrom the host")
    assert httpx.get(url + "/?sleep", timeout=10).status_code == 408
    httpx.get(url + "/?orphan", timeout=10)
    time.sleep(0.6)  # the orphan has exited and been re-parented to the watchdog (PID 1)
    assert docker("exec", container, "python3", "-c", ZOMBIES) == "0"
    assert wait_until(lambda: _health(container) == "healthy", 15)
    docker("stop", "-t", "20", container)
    state = json.loads(docker("inspect", container))[0]["State"]
    assert state["ExitCode"] == 0
    logs = subprocess.run([DOCKER, "logs", container], capture_output=True, text=True).stderr
    assert "Forking fprocess." in logs and "SIGTERM received" in logs


def _health(container: str) -> str:
    status: str = json.loads(docker("inspect", container))[0]["State"]["Health"]["Status"]
    return status


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0
