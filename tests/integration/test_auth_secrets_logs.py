"""Auth on every /system route, secrets CRUD, and logs (tail, since, follow)."""

from __future__ import annotations

import base64
import os
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from tests.support.api import deploy, remove, replica_addresses, wait_for
from tests.support.engine import REPO, unique
from tests.support.server import Server

pytestmark = pytest.mark.engine

SYSTEM_ROUTES = [
    ("GET", "/system/functions"),
    ("POST", "/system/functions"),
    ("PUT", "/system/functions"),
    ("DELETE", "/system/functions"),
    ("GET", "/system/function/x"),
    ("POST", "/system/scale-function/x"),
    ("GET", "/system/info"),
    ("GET", "/system/namespaces"),
    ("GET", "/system/secrets"),
    ("POST", "/system/secrets"),
    ("PUT", "/system/secrets"),
    ("DELETE", "/system/secrets"),
    ("GET", "/system/logs"),
    ("GET", "/ui/"),
]


@pytest.fixture
def api(faasbox: Server) -> Iterator[httpx.Client]:
    with faasbox.client() as client:
        yield client


@pytest.mark.parametrize(("method", "path"), SYSTEM_ROUTES)
def test_every_guarded_route_needs_credentials(faasbox: Server, method: str, path: str) -> None:
    wrong = base64.b64encode(f"{faasbox.user}:nope".encode()).decode()
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer sometoken"},
        {"Authorization": f"Basic {wrong}"},
        {"Authorization": "Basic !!notbase64"},
    ):
        response = httpx.request(method, faasbox.url + path, headers=headers, content=b"{}")
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"] == 'Basic realm="Restricted"'


def test_empty_bearer_from_faas_cli(faasbox: Server) -> None:
    """faas-cli sends `Authorization: Bearer ` (empty token) when it has no saved login;
    httpx will not send that trailing space, so a raw socket does."""
    with socket.create_connection(("127.0.0.1", faasbox.port), timeout=10) as sock:
        sock.sendall(
            b"GET /system/functions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \r\n"
            b"Connection: close\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"invalid credentials" in answer


def test_open_routes_need_no_credentials(faasbox: Server) -> None:
    assert httpx.get(f"{faasbox.url}/healthz").status_code == 200
    assert httpx.get(f"{faasbox.url}/metrics").status_code == 200
    assert httpx.get(f"http://127.0.0.1:{faasbox.metrics_port}/metrics").status_code == 200
    assert httpx.get(f"http://127.0.0.1:{faasbox.metrics_port}/healthz").text == "OK"
    assert httpx.get(f"http://127.0.0.1:{faasbox.metrics_port}/system/info").status_code == 404
    root = httpx.get(f"{faasbox.url}/")
    assert root.status_code == 301 and root.headers["location"] == "/ui/"


def test_credentials_are_private_files(faasbox: Server) -> None:
    for name in ("basic-auth-user", "basic-auth-password"):
        mode = stat.S_IMODE(os.stat(faasbox.state_dir / name).st_mode)
        assert mode == 0o600, oct(mode)
    assert len(faasbox.password) >= 24


def test_info_and_namespaces(api: httpx.Client, faasbox: Server) -> None:
    info = api.get("/system/info").json()
    assert info["provider"]["orchestration"] == "swarm"
    assert info["arch"] in ("x86_64", "arm64", "armhf")
    assert info["network"] == faasbox.network
    assert api.get("/system/namespaces").json() == ["openfaas-fn"]
    # The suite runs from a checkout: the commit is the checkout's HEAD.
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert info["provider"]["version"]["sha"] == head
    assert info["version"]["sha"] == head


def test_secrets_crud(api: httpx.Client) -> None:
    name = unique("crud")
    assert api.post("/system/secrets", json={"name": name, "value": "one"}).status_code == 201
    try:
        again = api.post("/system/secrets", json={"name": name, "value": "two"})
        assert again.status_code == 409
        listed = api.get("/system/secrets").json()
        assert {"name": name, "namespace": "openfaas-fn"} in listed
        assert all("value" not in s for s in listed)
        raw = base64.b64encode(b"\x00binary\xff").decode()
        assert api.put("/system/secrets", json={"name": name, "rawValue": raw}).status_code == 200
        assert api.post("/system/secrets", json={"name": unique("e")}).status_code == 400
        assert api.post("/system/secrets", json={"name": "../x", "value": "v"}).status_code == 400
    finally:
        assert api.request("DELETE", "/system/secrets", json={"name": name}).status_code == 200
    assert name not in [s["name"] for s in api.get("/system/secrets").json()]
    gone = api.request("DELETE", "/system/secrets", json={"name": name})
    assert gone.status_code == 404
    assert api.put("/system/secrets", json={"name": name, "value": "v"}).status_code == 404


def test_secret_in_use_cannot_be_deleted(api: httpx.Client, probe: str) -> None:
    name, secret = unique("uses"), unique("used")
    assert api.post("/system/secrets", json={"name": secret, "value": "v"}).status_code == 201
    try:
        assert deploy(api, name, probe, secrets=[secret]).status_code == 202
        refused = api.request("DELETE", "/system/secrets", json={"name": secret})
        assert refused.status_code == 409
        assert name in refused.json()["message"]
    finally:
        remove(api, name)
        deadline = time.monotonic() + 30
        while api.request("DELETE", "/system/secrets", json={"name": secret}).status_code == 409:
            assert time.monotonic() < deadline
            time.sleep(0.5)


def read_lines(response: httpx.Response) -> list[dict[str, str]]:
    return [orjson.loads(line) for line in response.text.splitlines() if line.strip()]


def test_logs_tail_since_and_follow(api: httpx.Client, faasbox: Server, probe: str) -> None:
    name = unique("logs")
    try:
        assert deploy(api, name, probe).status_code == 202
        wait_for(api, name, available=1)
        (address,) = replica_addresses(name, faasbox.network)
        for i in range(3):
            httpx.get(f"http://{address}:8080/call-{i}", timeout=10)
        deadline = time.monotonic() + 20
        while True:
            response = api.get("/system/logs", params={"name": name, "follow": "false"})
            lines = read_lines(response)
            if sum("probe: GET /call-" in line["text"] for line in lines) == 3:
                break
            assert time.monotonic() < deadline, lines
            time.sleep(0.5)
        assert response.headers["content-type"] == "application/x-ndjson"
        first = lines[0]
        assert set(first) == {"name", "namespace", "instance", "timestamp", "text"}
        assert first["name"] == name and first["namespace"] == "openfaas-fn"
        assert first["instance"] and first["timestamp"].endswith("Z")
        assert any("probe-stderr: GET /call-0" in line["text"] for line in lines)

        tail = read_lines(
            api.get("/system/logs", params={"name": name, "tail": 2, "follow": "false"})
        )
        assert len(tail) == 2
        assert read_lines(api.get("/system/logs", params={"name": name, "tail": -1}))
        future = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        time.sleep(1)
        since = api.get("/system/logs", params={"name": name, "since": future, "follow": "false"})
        assert read_lines(since) == []

        got: list[str] = []

        def follow() -> None:
            with api.stream(
                "GET", "/system/logs", params={"name": name, "tail": 1, "follow": "true"}
            ) as stream:
                for line in stream.iter_lines():
                    if line.strip():
                        got.append(orjson.loads(line)["text"])
                    if any("probe: GET /live" in text for text in got):
                        return

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        time.sleep(1)
        httpx.get(f"http://{address}:8080/live", timeout=10)
        reader.join(20)
        assert any("probe: GET /live" in text for text in got), got
    finally:
        remove(api, name)
