"""Running the real `faasbox` CLI as a subprocess with its own HOME and faas-cli config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.engine import REPO
from tests.support.server import Server

# The runtime stage of C and Go: python3 (for the watchdog) and what it links,
# unpacked without a shell, apt or dpkg's scripts (offline-base.sh VARIANT=extract),
# so foreign ones need no qemu to make.
RUNTIME_BASE = "faasbox-base/python-runtime:3.11"
RUNTIME_PACKAGES = ("python3-minimal", "libpython3.11-stdlib")


def ensure_runtime_base(tag: str, *extra: str, platform: str = "") -> str:
    subprocess.run(
        ["bash", str(REPO / "scripts" / "offline-base.sh"), tag, *RUNTIME_PACKAGES, *extra],
        check=True,
        env={**os.environ, "VARIANT": "extract", "PLATFORM": platform},
        timeout=900,
    )
    return tag


@dataclass
class Cli:
    home: Path
    cwd: Path
    gateway: str

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.home),
            "OPENFAAS_CONFIG": str(self.home / ".openfaas"),
            "OPENFAAS_URL": self.gateway,
            "FAASBOX_HOME": str(REPO),
        }

    def run(
        self, *args: str, stdin: str = "", check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "faasbox", *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.cwd,
            env=self.env(),
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"faasbox {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def login(self, server: Server) -> None:
        self.run("login", "-u", server.user, "--password-stdin", stdin=server.password)

    def wait_ready(self, name: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.run("describe", name, "--json", check=False)
            if result.returncode == 0 and json.loads(result.stdout)["availableReplicas"] > 0:
                return
            time.sleep(0.5)
        raise AssertionError(f"{name} not ready in {timeout}s")

    def invoke(self, name: str, body: str, *flags: str, timeout: float = 30) -> str:
        """Invoke until the gateway routes to the new replica (it may lag the engine)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.run("invoke", name, *flags, stdin=body, check=False)
            if result.returncode == 0 or time.monotonic() > deadline:
                assert result.returncode == 0, result.stderr
                return result.stdout
            time.sleep(0.5)
