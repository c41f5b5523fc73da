"""The invoke path on the real engine: what a caller of /function/<name> sees.

Functions run tests/images/invoke/echo.py (a stdlib server that reports what it got and
answers on demand). Each is pinned with min == max replicas so the autoscaler, which
runs in the same faasbox, leaves the counts these tests rely on alone.
"""

from __future__ import annotations

import hashlib
import random
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from faasbox.builder.resources import watchdog_app
from tests.support import images
from tests.support.engine import docker, unique
from tests.support.server import Server

pytestmark = pytest.mark.engine

MB = 1 << 20


@pytest.fixture(scope="session")
def echo_image(engine_ready: None) -> str:
    return images.echo_image()


def deploy(server: Server, image: str, *, replicas: int = 1, **fields: Any) -> str:
    name = unique("inv")
    labels = {"com.openfaas.scale.min": str(replicas), "com.openfaas.scale.max": str(replicas)}
    with server.client() as client:
        response = client.post(
            "/system/functions",
            json={"service": name, "image": image, "labels": labels, **fields},
        )
        assert response.status_code == 202, response.text
    wait_ready(server, name, replicas)
    return name


def wait_ready(server: Server, name: str, replicas: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    with server.client() as client:
        while time.monotonic() < deadline:
            response = client.get(f"/system/function/{name}")
            if response.status_code == 200:
                status = response.json()
                if status["availableReplicas"] == replicas:
                    return
            time.sleep(0.2)
    raise AssertionError(f"{name}: never {replicas} ready replicas; last {status}")


def remove(server: Server, name: str) -> None:
    with server.client() as client:
        client.request("DELETE", "/system/functions", json={"functionName": name})


@pytest.fixture
def function(faasbox: Server, echo_image: str) -> Iterator[Callable[..., str]]:
    """Deploys echo functions for one test and removes them after it."""
    made: list[str] = []

    def make(replicas: int = 1, **fields: Any) -> str:
        name = deploy(faasbox, echo_image, replicas=replicas, **fields)
        made.append(name)
        return name

    yield make
    for name in made:
        remove(faasbox, name)


@pytest.fixture(scope="module")
def echo(faasbox: Server, echo_image: str) -> Iterator[str]:
    """One shared echo function for the read-only checks."""
    name = deploy(faasbox, echo_image)
    yield name
    remove(faasbox, name)


def invoke(server: Server, timeout: float = 60.0) -> httpx.Client:
    """A plain caller: no credentials (/function/ is open) and no redirect following."""
    return httpx.Client(base_url=server.url, timeout=timeout, follow_redirects=False)


# --- requests reach the function as sent --------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_every_method_reaches_the_function(faasbox: Server, echo: str, method: str) -> None:
    with invoke(faasbox) as client:
        response = client.request(method, f"/function/{echo}/m", content=b"x" * 3)
    assert response.status_code == 200
    seen = response.json()
    assert seen["method"] == method
    assert seen["size"] == 3


def test_head_gets_headers_and_no_body(faasbox: Server, echo: str) -> None:
    with invoke(faasbox) as client:
        head = client.head(f"/function/{echo}/")
        after = client.get(f"/function/{echo}/after")  # same kept connection still sane
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) > 0
    assert after.json()["path"] == "/after"


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("/function/{}", "/"),
        ("/function/{}/", "/"),
        ("/function/{}/a/b/c", "/a/b/c"),
        ("/function/{}/a%20b/%C3%A9?x=1&y=a%26b&y=2", "/a%20b/%C3%A9?x=1&y=a%26b&y=2"),
        ("/function/{}.openfaas-fn/ns?q", "/ns?q"),
    ],
)
def test_path_and_query_pass_through(faasbox: Server, echo: str, url: str, path: str) -> None:
    with invoke(faasbox) as client:
        response = client.get(url.format(echo))
    assert response.status_code == 200
    assert response.json()["path"] == path


def test_headers_both_ways(faasbox: Server, echo: str) -> None:
    before = time.time_ns()
    with invoke(faasbox) as client:
        response = client.get(
            f"/function/{echo}/h",
            headers={
                "X-Custom": "kept",
                "Connection": "keep-alive, X-Per-Hop",
                "X-Per-Hop": "dropped",
                "Proxy-Authorization": "Basic dropped",
                "Keep-Alive": "timeout=5",
            },
        )
    seen = {k.lower(): v for k, v in response.json()["headers"]}
    assert seen["x-custom"] == "kept"
    for hop in ("x-per-hop", "proxy-authorization", "keep-alive", "connection"):
        assert hop not in seen, hop
    call_id = seen["x-call-id"]
    assert uuid.UUID(call_id).version == 4
    assert before <= int(seen["x-start-time"]) <= time.time_ns()
    assert re.fullmatch(r"127\.0\.0\.1:\d+", seen["x-forwarded-for"])
    assert seen["x-forwarded-host"] == f"127.0.0.1:{faasbox.port}"
    # Response: the function's headers (repeated ones too), plus the gateway's call id.
    assert response.headers["x-function"] == "echo"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.headers["x-call-id"] == call_id
    assert response.headers["x-start-time"] == seen["x-start-time"]
    assert len(response.headers.get_list("date")) == 1


def test_caller_call_id_and_forwarded_headers_are_kept(faasbox: Server, echo: str) -> None:
    sent = {
        "X-Call-Id": "abc-123",
        "X-Forwarded-For": "10.1.2.3",
        "X-Forwarded-Host": "h.example",
        "Proxy": "http://attacker.example:3128",  # httpoxy: never reaches the function
    }
    with invoke(faasbox) as client:
        response = client.get(f"/function/{echo}/", headers=sent)
    seen = {k.lower(): v for k, v in response.json()["headers"]}
    assert seen["x-call-id"] == "abc-123"
    assert re.fullmatch(r"10\.1\.2\.3, 127\.0\.0\.1:\d+", seen["x-forwarded-for"])
    assert "proxy" not in seen
    assert seen["x-forwarded-host"] == "h.example"
    assert "x-call-id" not in response.headers  # only a call id the gateway made is returned


def test_redirects_are_returned_not_followed(faasbox: Server, echo: str) -> None:
    with invoke(faasbox) as client:
        response = client.get(f"/function/{echo}/redirect")
    assert response.status_code == 302
    assert response.headers["location"] == "/elsewhere"


@pytest.mark.parametrize("code", [201, 204, 404, 500])
def test_function_status_codes_pass_through(faasbox: Server, echo: str, code: int) -> None:
    with invoke(faasbox) as client:
        response = client.get(f"/function/{echo}/status", params={"code": code})
    assert response.status_code == code


def test_body_ended_by_close_is_passed_whole(faasbox: Server, echo: str) -> None:
    with invoke(faasbox) as client:
        response = client.get(f"/function/{echo}/close")
        again = client.get(f"/function/{echo}/again")
    assert response.content == b"until the end\n" * 1000
    assert again.status_code == 200


# --- bodies -------------------------------------------------------------------------


def test_binary_body_up_and_down(faasbox: Server, echo: str) -> None:
    body = bytes(range(256)) * 1000
    with invoke(faasbox) as client:
        response = client.post(f"/function/{echo}/echo", content=body)
    assert response.content == body


def test_50mb_upload_with_length_and_chunked(faasbox: Server, echo: str) -> None:
    body = random.Random(1).randbytes(50 * MB)
    digest = hashlib.sha256(body).hexdigest()

    def pieces() -> Iterator[bytes]:  # no length: httpx sends it chunked
        for i in range(0, len(body), MB):
            yield body[i : i + MB]

    with invoke(faasbox) as client:
        sized = client.post(f"/function/{echo}/up", content=body).json()
        chunked = client.post(f"/function/{echo}/up", content=pieces()).json()
    assert (sized["size"], sized["sha256"]) == (len(body), digest)
    assert (chunked["size"], chunked["sha256"]) == (len(body), digest)
    assert ["transfer-encoding", "chunked"] in chunked["headers"]


def test_50mb_download_and_echo_stream(faasbox: Server, echo: str) -> None:
    n = 50 * MB
    with invoke(faasbox) as client:
        download = client.get(f"/function/{echo}/bytes", params={"n": n})
        assert download.content == random.Random(n).randbytes(n)
        body = random.Random(2).randbytes(n)
    echoed = _duplex_post(faasbox, f"/function/{echo}/echo", body)
    assert hashlib.sha256(echoed).digest() == hashlib.sha256(body).digest()
    rss = _rss_kb(faasbox)
    assert rss < 200_000, f"faasbox RSS {rss} kB after 50 MB bodies: bodies are not streamed"


def _duplex_post(server: Server, path: str, body: bytes) -> bytes:
    """POST `body` while reading the answer at the same time. The echo function answers
    as it reads, and a client that reads only once it has sent everything (httpx, curl)
    would deadlock with it once every buffer on the way is full."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        sender = threading.Thread(
            target=sock.sendall, args=((head + "Connection: close\r\n\r\n").encode() + body,)
        )
        sender.start()
        answer = bytearray()
        while chunk := sock.recv(1 << 20):
            answer += chunk
        sender.join(60)
    head_end = answer.index(b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200"), bytes(answer[:200])
    return bytes(answer[head_end + 4 :])


def _rss_kb(server: Server) -> int:
    assert server.process is not None
    with open(f"/proc/{server.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_first_byte_arrives_before_a_slow_function_finishes(faasbox: Server, echo: str) -> None:
    begin = time.monotonic()
    arrivals = []
    with (
        invoke(faasbox) as client,
        client.stream("GET", f"/function/{echo}/slow", params={"parts": 3, "delay": 1}) as r,
    ):
        for line in r.iter_lines():
            arrivals.append(time.monotonic() - begin)
            assert line.startswith("part ")
    assert len(arrivals) == 3
    assert arrivals[0] < 0.8, arrivals
    assert arrivals[-1] >= 1.9, arrivals


def test_caller_hanging_up_cancels_the_call(faasbox: Server, echo: str) -> None:
    with (
        invoke(faasbox) as client,
        client.stream("GET", f"/function/{echo}/slow", params={"parts": 30, "delay": 0.2}) as r,
    ):
        next(r.iter_lines())
    time.sleep(0.5)
    with invoke(faasbox) as client:
        metrics = client.get("/metrics").text
    assert _sample(metrics, "faasbox_function_inflight", function_name=echo) == 0
    assert _sample(metrics, "gateway_function_invocation_total", function_name=echo, code="499")


# --- errors -------------------------------------------------------------------------


def test_unknown_function_is_404(faasbox: Server) -> None:
    with invoke(faasbox) as client:
        response = client.get("/function/no-such-function-here/x")
        other_namespace = client.get("/function/no-such.elsewhere")
    assert response.status_code == 404
    assert response.text == "function no-such-function-here not found\n"
    assert other_namespace.status_code == 404


def test_replica_refusing_connections_is_502(faasbox: Server, function: Callable[..., str]) -> None:
    name = function(envVars={"LISTEN_PORT": "9999"})
    with invoke(faasbox) as client:
        response = client.get(f"/function/{name}")
    assert response.status_code == 502
    assert response.text == f"cannot reach any replica of function {name}\n"


@pytest.fixture(scope="module")
def strict(
    engine_ready: None, echo_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    """A faasbox with short limits, set through OpenFaaS and faasbox variable names, and
    scale from zero off (with it on, a function at zero is woken instead of refused)."""
    with Server(
        state_dir=tmp_path_factory.mktemp("strict"),
        env={
            "upstream_timeout": "1",
            "FAASBOX_MAX_BODY_SIZE": "1m",
            "scale_from_zero": "false",
        },
    ) as server:
        name = deploy(server, echo_image)
        yield server, name


def test_upstream_timeout_is_502(strict: tuple[Server, str]) -> None:
    server, name = strict
    with invoke(server) as client:
        begin = time.monotonic()
        response = client.get(f"/function/{name}/sleep", params={"s": 3})
        took = time.monotonic() - begin
        fine = client.get(f"/function/{name}/sleep", params={"s": 0.1})
    assert response.status_code == 502
    assert response.text == f"function {name} timed out\n"
    assert 1.0 <= took < 3.0, "ended by upstream_timeout (1 s), not by the function (3 s)"
    assert fine.status_code == 200


def test_body_over_the_limit_is_413(strict: tuple[Server, str]) -> None:
    server, name = strict
    with invoke(server) as client:
        sized = client.post(f"/function/{name}/up", content=b"x" * (MB + 1))
        chunked = client.post(f"/function/{name}/up", content=iter([b"x" * MB, b"y"] * 2))
        fits = client.post(f"/function/{name}/up", content=b"x" * MB)
    assert sized.status_code == 413
    assert chunked.status_code == 413
    assert fits.json()["size"] == MB


def test_no_ready_replica_is_503_without_scale_from_zero(strict: tuple[Server, str]) -> None:
    server, _ = strict
    name = deploy(server, images.echo_image())
    try:
        with server.client() as api:
            scaled = api.post(f"/system/scale-function/{name}", json={"replicas": 0})
            assert scaled.status_code in (200, 202)
        wait_ready(server, name, 0)
        with invoke(server) as client:
            response = client.get(f"/function/{name}")
        assert response.status_code == 503
        assert response.text == f"no ready replica for function {name}\n"
    finally:
        remove(server, name)


# --- replicas -----------------------------------------------------------------------


def test_scale_1_to_3_spreads_load(faasbox: Server, echo_image: str) -> None:
    name = unique("inv")
    labels = {"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "3"}
    with faasbox.client() as api:
        api.post("/system/functions", json={"service": name, "image": echo_image, "labels": labels})
    try:
        wait_ready(faasbox, name, 1)
        with faasbox.client() as api:
            api.post(f"/system/scale-function/{name}", json={"replicas": 3})
        wait_ready(faasbox, name, 3)
        with invoke(faasbox) as client:
            # 40 calls: under the autoscaler's 5 rps rule, so the count stays at 3.
            hosts = Counter(client.get(f"/function/{name}/").json()["hostname"] for _ in range(40))
        assert len(hosts) == 3, hosts
        assert min(hosts.values()) >= 10, hosts
    finally:
        remove(faasbox, name)


def test_killed_replica_fails_only_its_inflight_requests(
    faasbox: Server, function: Callable[..., str]
) -> None:
    name = function(replicas=3)
    containers = docker(
        "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={name}"
    ).split()
    assert len(containers) == 3
    results: list[tuple[float, float, int]] = []  # (start, end, status or 0 for an error)
    stop = threading.Event()

    def caller() -> None:
        with invoke(faasbox, timeout=10) as client:
            while not stop.is_set():
                begin = time.monotonic()
                try:
                    response = client.get(f"/function/{name}/sleep", params={"s": 0.05})
                    status = response.status_code
                    if status != 200:
                        print(response.status_code, response.text)
                except httpx.HTTPError as exc:
                    print(exc)
                    status = 0
                results.append((begin, time.monotonic(), status))

    threads = [threading.Thread(target=caller) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        killed_at = time.monotonic()
        docker("kill", containers[0])
        killed_by = time.monotonic()  # the kill lands somewhere in [killed_at, killed_by]
        reported_at = _wait_reported(faasbox, name, containers[0][:12])
        time.sleep(2.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    failed = [r for r in results if r[2] != 200]
    before_kill = [r for r in results if r[1] < killed_at]
    assert len(before_kill) > 20, before_kill
    assert all(r[2] == 200 for r in before_kill), (
        killed_at,
        [r for r in before_kill if r[2] != 200],
    )
    # Only requests already in flight at the kill may fail: at most one per caller,
    # and none that started after the engine reported the replica gone.
    assert len(failed) <= len(threads), failed
    assert all(r[0] < killed_by for r in failed), (killed_at, killed_by, failed)
    assert all(r[2] == 200 for r in results if r[0] > reported_at)
    assert len([r for r in results if r[0] > reported_at]) > 20


def _wait_reported(server: Server, name: str, container: str) -> float:
    """When faasbox's view no longer counts the killed replica among the ready ones."""
    deadline = time.monotonic() + 30
    with server.client() as api:
        while time.monotonic() < deadline:
            if api.get(f"/system/function/{name}").json()["availableReplicas"] < 3:
                return time.monotonic()
            time.sleep(0.05)
    raise AssertionError(f"faasbox never reported {container} gone")


# --- metrics ------------------------------------------------------------------------


def _sample(text: str, metric: str, **labels: str) -> float:
    """One sample's value from Prometheus text, 0 when absent."""
    for line in text.splitlines():
        if not line.startswith(metric + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_exactly_the_calls_made(
    faasbox: Server, function: Callable[..., str]
) -> None:
    name = function()
    with invoke(faasbox) as client:
        for _ in range(7):
            assert client.get(f"/function/{name}/").status_code == 200
        for _ in range(3):
            assert client.get(f"/function/{name}/status?code=404").status_code == 404
        for _ in range(2):
            assert client.post(f"/function/{name}/status?code=500").status_code == 500
        client.get("/function/not-deployed-anywhere")  # unknown: not counted
        for text in (
            client.get("/metrics").text,
            httpx.get(f"http://127.0.0.1:{faasbox.metrics_port}/metrics").text,
        ):
            total = "gateway_function_invocation_total"
            assert _sample(text, total, function_name=name, code="200") == 7
            assert _sample(text, total, function_name=name, code="404") == 3
            assert _sample(text, total, function_name=name, code="500") == 2
            assert _sample(text, "gateway_function_invocation_started", function_name=name) == 12
            seconds = "gateway_functions_seconds_count"
            assert _sample(text, seconds, function_name=name, code="200") == 7
            assert _sample(text, seconds, function_name=name, code="500") == 2
            inf = "gateway_functions_seconds_bucket"
            assert _sample(text, inf, function_name=name, code="200", le="+Inf") == 7
            assert _sample(text, "gateway_service_count", function_name=name) == 1
            assert _sample(text, "faasbox_function_inflight", function_name=name) == 0
            assert "not-deployed-anywhere" not in text
            assert "faasbox_upstream_pool_connections" in text
    with faasbox.client() as api:
        listed = {f["name"]: f for f in api.get("/system/functions").json()}
    assert listed[name]["invocationCount"] == 12


# --- a call is written once, counted at once, and cancelled with its caller -----------


def test_a_post_the_replica_dropped_is_not_written_again(
    faasbox: Server, function: Callable[..., str]
) -> None:
    name = function()
    with invoke(faasbox) as client:
        assert client.get(f"/function/{name}/warm").status_code == 200  # a kept connection
        post = client.post(f"/function/{name}/drop", content=b"charge the card once")
        assert client.get(f"/function/{name}/warm").status_code == 200
        get = client.get(f"/function/{name}/drop")
        counts = client.get(f"/function/{name}/count").json()
    assert post.status_code == 502 and get.status_code == 502
    # The GET may be repeated (idempotent, nothing came back), once, on a new connection.
    assert counts == {"POST": 1, "GET": 2}


def test_a_call_is_outstanding_from_the_moment_it_is_written(
    faasbox: Server, function: Callable[..., str]
) -> None:
    name = function(replicas=2)
    with invoke(faasbox) as client:
        for _ in range(6):  # both replicas get kept connections
            client.get(f"/function/{name}/warm")
        slow: list[str] = []
        sleeper = threading.Thread(
            target=lambda: slow.append(client.get(f"/function/{name}/sleep?s=2").text)
        )
        sleeper.start()
        time.sleep(0.5)
        with invoke(faasbox) as other:
            hosts = {other.get(f"/function/{name}/").json()["hostname"] for _ in range(6)}
        sleeper.join()
    assert len(hosts) == 1 and slow[0] not in hosts, (slow, hosts)


def test_max_inflight_caps_calls_per_replica_and_the_rest_wait(
    faasbox: Server, function: Callable[..., str]
) -> None:
    name = function(envVars={"max_inflight": "1"})
    with invoke(faasbox) as client:
        client.get(f"/function/{name}/peak")
        codes = _parallel(faasbox, f"/function/{name}/sleep?s=0.3", 4)
        peak = client.get(f"/function/{name}/peak").json()["peak"]
    assert codes == [200] * 4
    assert peak == 1


def test_the_wait_queue_is_bounded(make_server: Callable[..., Server], echo_image: str) -> None:
    server = make_server(env={"FAASBOX_MAX_QUEUED_CALLS": "2"})
    server.start()
    name = deploy(server, echo_image, envVars={"max_inflight": "1"})
    try:
        codes = _parallel(server, f"/function/{name}/sleep?s=1", 6)
    finally:
        remove(server, name)
    assert sorted(codes) == [200, 200, 200, 429, 429, 429]  # one running, two waiting


def _parallel(server: Server, path: str, n: int) -> list[int]:
    codes: list[int] = []

    def call() -> None:
        with invoke(server) as client:
            codes.append(client.get(path).status_code)

    threads = [threading.Thread(target=call) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


NAP = """ARG BASE
FROM ${BASE}
COPY fwatchdog.py /usr/local/bin/fwatchdog.py
COPY nap /home/app/nap
HEALTHCHECK --interval=1s CMD ["python3", "/usr/local/bin/fwatchdog.py", "-run-healthcheck"]
CMD ["python3", "/usr/local/bin/fwatchdog.py"]
"""


@pytest.fixture(scope="module")
def nap_image(engine_ready: None) -> str:
    """The real watchdog in fork mode; each call runs `sleep <query s>`."""
    return images.built_image(
        "invoke-nap",
        {
            "Dockerfile": NAP,
            "fwatchdog.py": watchdog_app(),
            "nap": 'sleep "${Http_Query#s=}"\necho done\n',
        },
    )


def test_caller_hanging_up_ends_a_fork_call_on_a_kept_connection(
    faasbox: Server, function: Callable[..., str], nap_image: str
) -> None:
    name = deploy(faasbox, nap_image, envProcess="sh /home/app/nap")
    try:
        with invoke(faasbox) as client:
            assert client.get(f"/function/{name}/?s=0").text == "done\n"  # a kept connection
        (container,) = docker(
            "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={name}"
        ).split()
        with socket.create_connection(("127.0.0.1", faasbox.port)) as sock:
            sock.sendall(f"GET /function/{name}/?s=30 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            _until(lambda: "sleep 30" in docker("top", container), 10, "the child never started")
        _until(
            lambda: "sleep 30" not in docker("top", container), 1, "the child outlived its caller"
        )
    finally:
        remove(faasbox, name)


def _until(check: Callable[[], bool], seconds: float, failure: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


# --- odd answers and odd paths ------------------------------------------------------


def test_an_unasked_101_is_a_502(faasbox: Server, echo: str) -> None:
    with invoke(faasbox) as client:
        response = client.get(f"/function/{echo}/switch")
        after = client.get(f"/function/{echo}/after")
    assert response.status_code == 502
    assert "101" in response.text
    assert after.status_code == 200


def test_the_metrics_port_serves_no_functions(faasbox: Server, echo: str) -> None:
    response = httpx.get(f"http://127.0.0.1:{faasbox.metrics_port}/function/{echo}/")
    assert response.status_code == 404
    assert "metrics port" in response.json()["message"]


def test_an_encoded_slash_is_not_a_function_call(faasbox: Server, echo: str) -> None:
    with invoke(faasbox) as client:
        encoded = client.get(f"/function%2F{echo}")
        posted = client.post(f"/function%2F{echo}", content=b"x")
    for response in (encoded, posted):
        assert response.status_code in (404, 405)
        assert "message" in response.json()
