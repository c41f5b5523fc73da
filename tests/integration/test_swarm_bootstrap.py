"""`faasbox up` on an engine that is not in a Swarm yet.

The shared engine is already a Swarm and must stay one, so this test starts a
private dockerd of its own, in its own network namespace (so its Swarm ports
and addresses touch nothing else), and points faasbox at it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.engine import DOCKER, REPO
from tests.support.server import Server

pytestmark = pytest.mark.engine


class PrivateEngine:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.env = {**os.environ, "DOCKER_HOST": f"unix://{self.socket}"}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        script = (
            "ip link set lo up; exec dockerd "
            f"--data-root {self.root}/data --exec-root {self.root}/exec "
            f"-H unix://{self.socket} --pidfile {self.root}/docker.pid "
            "--bridge none --iptables=false --ip-masq=false"
        )
        with (self.root / "dockerd.log").open("wb") as log:
            self.process = subprocess.Popen(
                ["unshare", "--net", "sh", "-c", script], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while self.docker("info", check=False).returncode != 0:
            assert time.monotonic() < deadline, (self.root / "dockerd.log").read_text()
            time.sleep(0.3)

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DOCKER, *args], env=self.env, capture_output=True, text=True, check=check
        )

    def in_namespace(self, *command: str) -> None:
        assert self.process is not None
        subprocess.run(["nsenter", f"--net=/proc/{self.process.pid}/ns/net", *command], check=True)

    def stop(self) -> None:
        if self.process is None:
            return
        self.docker("swarm", "leave", "--force", check=False)
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        subprocess.run(["umount", "-R", str(self.root / "exec")], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_engine(engine_ready: None) -> Iterator[PrivateEngine]:
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        pytest.fail("util-linux unshare/nsenter are needed")
    root = Path(f"/tmp/faasbox-engine-{os.getpid()}")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    engine = PrivateEngine(root)
    try:
        engine.start()
        yield engine
    finally:
        engine.stop()


def run_up(engine: PrivateEngine, state: Path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "faasbox", "up", "--host", "127.0.0.1", "--port", str(port),
            "--metrics-port", "0", "--state-dir", str(state),
        ],
        env=engine.env, cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_up_initialises_swarm_and_network(private_engine: PrivateEngine, tmp_path: Path) -> None:
    state = private_engine.docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout
    assert state.strip() == "inactive"

    # Two addresses: Swarm cannot choose one, and faasbox says what to do, on one line.
    # veth pairs with both ends inside the namespace: addresses that route nowhere.
    private_engine.in_namespace("ip", "link", "add", "fb0", "type", "veth", "peer", "name", "fb0p")
    private_engine.in_namespace("ip", "link", "add", "fb1", "type", "veth", "peer", "name", "fb1p")
    private_engine.in_namespace("ip", "addr", "add", "192.0.2.10/24", "dev", "fb0")
    private_engine.in_namespace("ip", "addr", "add", "198.51.100.10/24", "dev", "fb1")
    private_engine.in_namespace("ip", "link", "set", "fb0", "up")
    private_engine.in_namespace("ip", "link", "set", "fb1", "up")
    refused = run_up(private_engine, tmp_path / "state", 0)
    assert refused.returncode == 1
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith("faasbox: ") and "--advertise-addr" in last, refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "state" / "basic-auth-password").exists()

    # Loopback only: a single node advertises 127.0.0.1 and starts.
    private_engine.in_namespace("ip", "link", "del", "fb0")
    private_engine.in_namespace("ip", "link", "del", "fb1")
    server = Server(state_dir=tmp_path / "state", network="func_functions")
    server.env = {"DOCKER_HOST": private_engine.env["DOCKER_HOST"]}
    try:
        server.start(timeout=60)
        state = private_engine.docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout
        assert state.strip() == "active"
        network = private_engine.docker(
            "network",
            "inspect",
            "func_functions",
            "--format",
            "{{.Driver}} {{.Scope}} {{.Attachable}}",
        ).stdout.strip()
        assert network == "bridge swarm true"
        assert httpx.get(f"{server.url}/system/functions", auth=server.auth).json() == []
        assert "created admin credentials" in server.logs()
    finally:
        server.stop()
