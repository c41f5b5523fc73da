"""faasbox as a process: ready time, SIGTERM, kill -9 and restart, losing the engine."""

from __future__ import annotations

import selectors
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.api import deploy, remove, wait_for
from tests.support.engine import unique
from tests.support.server import Server

pytestmark = pytest.mark.engine

DOCKER_SOCKET = "/var/run/docker.sock"


def test_ready_quickly_and_sigterm_exits_zero(make_server: Callable[..., Server]) -> None:
    server = make_server()
    first = server.start()
    server.stop()
    second = server.start()  # warm: network and credentials exist
    print(f"\nfaasbox ready in {first * 1000:.0f} ms (first start), {second * 1000:.0f} ms (warm)")
    assert server.stop(signal.SIGTERM) == 0
    assert "created admin credentials" in server.logs()
    assert server.logs().count("created admin credentials") == 1


def test_sigterm_drains_in_flight_requests(make_server: Callable[..., Server], probe: str) -> None:
    """A slow invocation in flight when SIGTERM arrives still gets its answer; new
    connections are refused meanwhile; then faasbox exits 0."""
    server = make_server()
    server.start()
    name = unique("drain")
    with server.client() as api:
        assert deploy(api, name, probe).status_code == 202
        wait_for(api, name, available=1)
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(f"GET /function/{name}/sleep/2 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            time.sleep(0.5)
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{server.url}/healthz", timeout=2)
            answer = b""
            while chunk := sock.recv(4096):  # draining faasbox closes the connection after
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert answer.endswith(b"slept")
        assert server.process.wait(15) == 0
        server.process = None
        server.start()
        remove(api, name)


def test_kill_9_and_restart_loses_nothing(make_server: Callable[..., Server], probe: str) -> None:
    server = make_server()
    server.start()
    names = [unique("keep"), unique("keep")]
    with server.client() as api:
        assert (
            deploy(api, names[0], probe, envVars={"A": "1"}, labels={"x": "y"}).status_code == 202
        )
        assert deploy(api, names[1], probe).status_code == 202
        assert (
            api.post(f"/system/scale-function/{names[1]}", json={"replicas": 2}).status_code == 202
        )
        before = {n: wait_for(api, n, available=1 if n == names[0] else 2) for n in names}
    server.stop(signal.SIGKILL)
    server.start()
    with server.client() as api:
        after = {n: api.get(f"/system/function/{n}").json() for n in names}
        for name in names:
            for key in ("image", "envVars", "labels", "replicas", "availableReplicas", "createdAt"):
                assert after[name].get(key) == before[name].get(key), (name, key)
        for name in names:
            remove(api, name)


class SocketCutter:
    """A real unix-socket relay to the Docker socket that a test can cut and restore."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        Path(self.path).unlink(missing_ok=True)
        self._listener = socket.socket(socket.AF_UNIX)
        self._listener.bind(self.path)
        self._listener.listen(64)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def cut(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(5)
        self._listener.close()
        for conn in self._conns:
            conn.close()
        self._conns.clear()
        Path(self.path).unlink(missing_ok=True)

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        peers: dict[socket.socket, socket.socket] = {}
        while not self._stop.is_set():
            for key, _ in selector.select(0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    client, _ = self._listener.accept()
                    upstream = socket.socket(socket.AF_UNIX)
                    upstream.connect(DOCKER_SOCKET)
                    peers[client], peers[upstream] = upstream, client
                    self._conns += [client, upstream]
                    selector.register(client, selectors.EVENT_READ)
                    selector.register(upstream, selectors.EVENT_READ)
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if data:
                    peers[sock].sendall(data)
                else:
                    for end in (sock, peers[sock]):
                        selector.unregister(end)
                        end.close()
                    other = peers.pop(sock)
                    peers.pop(other, None)
        selector.close()


def test_engine_away_answers_503_and_recovers(
    make_server: Callable[..., Server], probe: str, tmp_path: Path
) -> None:
    cutter = SocketCutter(tmp_path / "docker.sock")
    cutter.start()
    server = make_server(env={"DOCKER_HOST": f"unix://{cutter.path}"})
    server.start()
    name = unique("away")
    with server.client(timeout=30) as api:
        assert deploy(api, name, probe).status_code == 202
        cutter.cut()
        deadline = time.monotonic() + 10
        while True:
            response = api.get("/system/functions")
            if response.status_code == 503:
                break
            assert time.monotonic() < deadline, response.text
            time.sleep(0.2)
        assert "Docker Engine" in response.json()["message"]
        down = api.post("/system/functions", json={"service": unique("x"), "image": probe})
        assert down.status_code == 503, down.text
        assert "Docker Engine" in down.json()["message"]
        assert httpx.get(f"{server.url}/healthz").status_code == 200

        cutter.start()
        deadline = time.monotonic() + 20
        while api.get("/system/functions").status_code != 200:
            assert time.monotonic() < deadline, "faasbox did not recover when the engine came back"
            time.sleep(0.2)
        assert name in [f["name"] for f in api.get("/system/functions").json()]
        remove(api, name)
    cutter.cut()
