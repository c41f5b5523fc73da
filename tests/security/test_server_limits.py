"""Limits on what a caller may send before faasbox answers, on every path (nginx's spirit).

Raw sockets, because an HTTP client library would refuse to send most of these requests.
One faasbox with short timeouts serves the module; an echo function stands behind it for
the invoke path.
"""

from __future__ import annotations

import base64
import socket
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from tests.support import images
from tests.support.engine import unique
from tests.support.server import Server

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def strict(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        state_dir=tmp_path_factory.mktemp("limits"),
        env={
            "FAASBOX_HEADER_TIMEOUT": "1",
            "FAASBOX_READ_TIMEOUT": "2",
            "FAASBOX_MAX_HEADER_SIZE": "16k",
            "FAASBOX_MAX_HEADERS": "50",
        },
    )
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def echo(strict: Server) -> str:
    name = unique("fb11-lim")
    labels = {"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "1"}
    with strict.client() as api:
        response = api.post(
            "/system/functions",
            json={"service": name, "image": images.echo_image(), "labels": labels},
        )
        assert response.status_code == 202, response.text
        deadline = time.monotonic() + 60
        while api.get(f"/system/function/{name}").json().get("availableReplicas") != 1:
            assert time.monotonic() < deadline, "echo never became ready"
            time.sleep(0.2)
    return name


def _exchange(server: Server, data: bytes, *, wait: float = 10.0) -> tuple[bytes, bool]:
    """Send `data`, read until the server closes or `wait` passes; (answer, closed)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            return answer, False
    return answer, True


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("path", ["/healthz", "/function/anything"])
def test_a_head_over_the_size_limit_is_431_and_closed(strict: Server, path: str) -> None:
    big = b"x-big: " + b"a" * (20 * 1024) + b"\r\n"
    answer, closed = _exchange(
        strict, b"GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path.encode(), big)
    )
    assert _status(answer) == 431 and closed


def test_a_head_sent_in_pieces_past_the_limit_is_431(strict: Server) -> None:
    with socket.create_connection(("127.0.0.1", strict.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nx-endless: ")
        for _ in range(20):  # one header value that never ends, 20 KiB in all
            try:
                sock.sendall(b"b" * 1024)
            except OSError:
                break
        answer = sock.recv(65536)
    assert _status(answer) == 431


def test_too_many_headers_is_431(strict: Server) -> None:
    many = b"".join(b"x-h%d: v\r\n" % i for i in range(60))
    answer, closed = _exchange(strict, b"GET /healthz HTTP/1.1\r\nHost: x\r\n%s\r\n" % many)
    assert _status(answer) == 431 and closed


def test_heads_within_the_limits_are_served(strict: Server, echo: str) -> None:
    fine = (
        b"x-fine: " + b"a" * (8 * 1024) + b"\r\n" + b"".join(b"x-h%d: v\r\n" % i for i in range(40))
    )
    request = b"GET /function/%s/ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n"
    answer, _ = _exchange(strict, request % (echo.encode(), fine))
    assert _status(answer) == 200
    assert b'"x-fine"' in answer


@pytest.mark.parametrize("start", [b"", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: y"])
def test_a_head_that_does_not_arrive_in_time_is_408(strict: Server, start: bytes) -> None:
    begin = time.monotonic()
    answer, closed = _exchange(strict, start, wait=10)
    assert _status(answer) == 408 and closed
    assert time.monotonic() - begin < 8, "ended by FAASBOX_HEADER_TIMEOUT (1 s)"


def test_the_head_timer_does_not_cut_a_kept_connection_between_requests(strict: Server) -> None:
    with socket.create_connection(("127.0.0.1", strict.port), timeout=10) as sock:
        reader = sock.makefile("rb")
        for _ in range(2):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _status(reader.readline()) == 200
            length = 0
            while (line := reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            assert reader.read(length) == b"OK"
            time.sleep(1.5)  # idle longer than the head timeout: keep-alive rules here


@pytest.mark.parametrize("path", ["/system/functions", "/function/{echo}/up"])
def test_a_stalled_body_is_408(strict: Server, echo: str, path: str) -> None:
    credentials = base64.b64encode(f"{strict.user}:{strict.password}".encode())
    request = (
        b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Authorization: Basic %s\r\nContent-Length: 1000\r\n\r\n{"serv'
        % (path.format(echo=echo).encode(), credentials)
    )
    answer, closed = _exchange(strict, request, wait=15)
    assert _status(answer) == 408, answer
    assert closed


def test_nearing_the_file_limit_is_logged(make_server: Callable[..., Server]) -> None:
    server = make_server()
    server.start()
    assert server.process is not None
    subprocess.run(["prlimit", f"--pid={server.process.pid}", "--nofile=120:120"], check=True)
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(60)]
    try:
        deadline = time.monotonic() + 10
        while "near the limit of 120 open files" not in server.logs():
            assert time.monotonic() < deadline, server.logs()[-2000:]
            time.sleep(0.1)
    finally:
        for sock in held:
            sock.close()
