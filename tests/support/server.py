"""A real `faasbox up` process for tests: own port, state dir and network."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.engine import REPO, remove_functions_on, unique


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    state_dir: Path
    network: str = field(default_factory=lambda: unique("fbtest"))
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def user(self) -> str:
        return (self.state_dir / "basic-auth-user").read_text().strip()

    @property
    def password(self) -> str:
        return (self.state_dir / "basic-auth-password").read_text().strip()

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)

    def client(self, timeout: float = 60.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=self.auth, timeout=timeout)

    def start(self, timeout: float = 30.0) -> float:
        """Start and wait for /healthz; returns seconds to ready."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.state_dir / "faasbox.log"
        begin = time.perf_counter()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "faasbox",
                    "up",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--metrics-port",
                    str(self.metrics_port),
                    "--state-dir",
                    str(self.state_dir),
                    "--network",
                    self.network,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env={**os.environ, **self.env},
            )
        try:
            return self._wait_healthy(begin, timeout)
        except BaseException:
            self.cleanup()
            raise

    def _wait_healthy(self, begin: float, timeout: float) -> float:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"faasbox exited: {self.logs()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return time.perf_counter() - begin
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"faasbox not ready in {timeout}s: {self.logs()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def cleanup(self) -> None:
        """Stop faasbox and remove its functions and network; safe to call more than once."""
        try:
            self.stop()
        finally:
            remove_functions_on(self.network)

    def __enter__(self) -> Server:
        """`with Server(...) as server:` starts it and cleans up however the block ends;
        a start that fails half way has cleaned up already."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
