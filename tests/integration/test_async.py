"""Async invocations on the real engine, the same suite for both queue backends.

Functions run tests/images/async/fn.py, which counts the deliveries of every call id it
sees (its own memory, so the count is the function's, not faasbox's), fails on request
until a given delivery, and reports what it received. Callbacks go to a receiver in the
test process. The JetStream backend runs against a real `nats-server` started here.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.engine import REPO, unique
from tests.support.images import built_image
from tests.support.nats_server import NatsServer
from tests.support.receiver import Receiver
from tests.support.server import Server

pytestmark = pytest.mark.engine

BACKENDS = ["sqlite", "nats"]
# Short leases and waits, so redelivery after a kill and retries take seconds, not minutes.
FAST = {"FAASBOX_ASYNC_LEASE": "2s", "FAASBOX_LOG_LEVEL": "info"}
# /system's cross-site guard wants state-changing calls to say they are JSON.
JSON = {"Content-Type": "application/json"}
RETRY = {
    "com.openfaas.retry.attempts": "3",
    "com.openfaas.retry.codes": "500",
    "com.openfaas.retry.min_wait": "50ms",
    "com.openfaas.retry.max_wait": "200ms",
}


@dataclass
class Box:
    server: Server
    backend: str
    function: str

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            return client.post(path, **kwargs)

    def overview(self, function: str | None = None) -> dict[str, Any]:
        with self.server.client() as client:
            response = client.get(f"/system/async/{function or self.function}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="session")
def async_image(engine_ready: None) -> str:
    return built_image("async-fn", REPO / "tests" / "images" / "async")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    # /fail-* paths answer 503 to the first tries, so the callback retry is exercised.
    tries: Counter[str] = Counter()

    def status_for(path: str) -> int:
        tries[path] += 1
        return 503 if path.startswith("/flaky") and tries[path] < 3 else 200

    with Receiver(status_for) as receiver:
        yield receiver


def queue_env(backend: str, nats: NatsServer | None) -> dict[str, str]:
    return {**FAST, "FAASBOX_QUEUE": nats.url if nats is not None else "sqlite"}


def deploy(server: Server, image: str, **labels: str) -> str:
    name = unique("fb12-async")
    pinned = {"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "1", **labels}
    with server.client() as client:
        response = client.post(
            "/system/functions", json={"service": name, "image": image, "labels": pinned}
        )
        assert response.status_code == 202, response.text
        deadline = time.monotonic() + 180  # a loaded shared engine can take its time
        while time.monotonic() < deadline:
            status = client.get(f"/system/function/{name}")
            if status.status_code == 200 and status.json()["availableReplicas"] == 1:
                return name
            time.sleep(0.2)
    raise AssertionError(f"{name} never became ready")


@pytest.fixture(scope="module", params=BACKENDS)
def box(
    request: pytest.FixtureRequest,
    engine_ready: None,
    async_image: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Box]:
    backend: str = request.param
    with (
        NatsServer(tmp_path_factory.mktemp("nats")) if backend == "nats" else nullcontext() as nats
    ):
        env = queue_env(backend, nats)
        with Server(state_dir=tmp_path_factory.mktemp(f"async-{backend}"), env=env) as server:
            name = deploy(server, async_image, **RETRY, **{"com.faasbox.async.concurrency": "4"})
            yield Box(server, backend, name)


def seen(box: Box, function: str | None = None) -> dict[str, int]:
    """Deliveries per call id, as the function counted them."""
    with httpx.Client(base_url=box.server.url, timeout=30) as client:
        response = client.get(f"/function/{function or box.function}/_/seen")
    assert response.status_code == 200
    counts: dict[str, int] = response.json()
    return counts


def result(received: Any) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(received.body)
    return body


# --- accept and deliver --------------------------------------------------------------


def test_call_is_delivered_as_sent_and_called_back(box: Box, receiver: Receiver) -> None:
    path = f"/basic-{box.backend}"
    response = box.post(
        f"/async-function/{box.function}/a/b?x=1&y=%20z",
        content=b"hello async",
        headers={"X-Callback-Url": receiver.url(path), "Content-Type": "text/plain"},
    )
    assert response.status_code == 202
    assert response.content == b""
    call_id = response.headers["x-call-id"]
    assert int(response.headers["x-start-time"]) > 0
    [callback] = receiver.wait_for(path, 1)
    headers = callback.headers
    assert headers["x-call-id"] == call_id
    assert headers["x-function-status"] == "200"
    assert headers["x-function-name"] == box.function
    assert float(headers["x-duration-seconds"]) > 0
    assert headers["x-retry"] == "0"
    assert headers["x-retry-max"] == "2"
    assert headers["x-function"] == "async-fn"  # the function's own header is passed on
    seen_by_function = result(callback)
    assert seen_by_function["method"] == "POST"
    assert seen_by_function["path"] == "/a/b?x=1&y=%20z"
    assert seen_by_function["body"] == "hello async"
    function_headers = {k.lower(): v for k, v in seen_by_function["headers"]}
    assert function_headers["x-call-id"] == call_id
    assert function_headers["x-retry"] == "0"
    assert function_headers["content-type"] == "text/plain"
    assert "x-start-time" in function_headers


def test_method_and_namespace_suffix_are_kept(box: Box, receiver: Receiver) -> None:
    path = f"/put-{box.backend}"
    with httpx.Client(base_url=box.server.url, timeout=30) as client:
        response = client.put(
            f"/async-function/{box.function}.openfaas-fn",
            content=b"x",
            headers={"X-Callback-Url": receiver.url(path)},
        )
    assert response.status_code == 202
    [callback] = receiver.wait_for(path, 1)
    assert result(callback)["method"] == "PUT"
    assert result(callback)["path"] == "/"


def test_caller_call_id_is_kept_and_not_queued_twice(box: Box, receiver: Receiver) -> None:
    path = f"/dedupe-{box.backend}"
    call_id = unique("caller-id")
    headers = {"X-Call-Id": call_id, "X-Callback-Url": receiver.url(path)}
    first = box.post(f"/async-function/{box.function}", content=b"1", headers=headers)
    receiver.wait_for(path, 1)
    again = box.post(f"/async-function/{box.function}", content=b"2", headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.headers["x-call-id"] == again.headers["x-call-id"] == call_id
    assert "x-duplicate" not in first.headers
    assert again.headers["x-duplicate"] == "true"
    time.sleep(1)  # long enough for a wrongly queued second call to be delivered
    assert seen(box)[call_id] == 1
    assert len(receiver.on(path)) == 1


def test_refusals_store_nothing(box: Box) -> None:
    before = box.overview()
    unknown = box.post("/async-function/no-such-function", content=b"x")
    assert unknown.status_code == 404
    assert "no-such-function" in unknown.json()["message"]
    bad_callback = box.post(
        f"/async-function/{box.function}", headers={"X-Callback-Url": "ftp://example/x"}
    )
    assert bad_callback.status_code == 400
    bad_id = box.post(f"/async-function/{box.function}", headers={"X-Call-Id": "a b/../c"})
    assert bad_id.status_code == 400
    too_big = box.post(f"/async-function/{box.function}", content=b"x" * (1024 * 1024 + 1))
    assert too_big.status_code == 413
    after = box.overview()
    assert (after["queued"], after["inflight"]) == (before["queued"], before["inflight"])


def test_fails_until_third_try_then_delivered(box: Box, receiver: Receiver) -> None:
    path = f"/third-{box.backend}"
    response = box.post(
        f"/async-function/{box.function}/?fail_until=3",
        headers={"X-Callback-Url": receiver.url(path)},
    )
    call_id = response.headers["x-call-id"]
    [callback] = receiver.wait_for(path, 1)
    assert callback.headers["x-function-status"] == "200"
    assert callback.headers["x-retry"] == "2"
    assert callback.headers["x-retry-max"] == "2"
    assert result(callback)["count"] == 3
    assert seen(box)[call_id] == 3


def test_exhausted_call_is_a_dead_letter_and_replay_delivers(box: Box, receiver: Receiver) -> None:
    path = f"/dead-{box.backend}"
    # Three attempts are allowed and the function fails until the fourth delivery.
    response = box.post(
        f"/async-function/{box.function}/?fail_until=4",
        content=b"keep me",
        headers={"X-Callback-Url": receiver.url(path)},
    )
    call_id = response.headers["x-call-id"]
    [final] = receiver.wait_for(path, 1)
    assert final.headers["x-function-status"] == "500"
    assert final.headers["x-retry"] == "2"
    dead = _wait_dead(box, call_id)
    assert dead["status"] == 500
    assert dead["deliveries"] == 3
    assert seen(box)[call_id] == 3

    with box.server.client() as client:
        replay = client.post(f"/system/async/{box.function}/{call_id}/replay", headers=JSON)
        assert replay.status_code == 202, replay.text
        again = client.post(f"/system/async/{box.function}/{call_id}/replay", headers=JSON)
        assert again.status_code == 404
    callbacks = receiver.wait_for(path, 2)
    assert callbacks[1].headers["x-function-status"] == "200"
    assert callbacks[1].headers["x-retry"] == "0"
    assert result(callbacks[1])["body"] == "keep me"
    assert seen(box)[call_id] == 4
    assert all(c["callId"] != call_id for c in box.overview()["calls"])


def test_dead_letter_can_be_dropped(box: Box) -> None:
    response = box.post(f"/async-function/{box.function}/?fail=1")
    call_id = response.headers["x-call-id"]
    _wait_dead(box, call_id)
    with box.server.client() as client:
        dropped = client.delete(f"/system/async/{box.function}/{call_id}", headers=JSON)
        assert dropped.status_code == 204
        missing = client.delete(f"/system/async/{box.function}/{call_id}", headers=JSON)
        assert missing.status_code == 404
        assert missing.json()["message"]
    assert all(c["callId"] != call_id for c in box.overview()["calls"])


def test_failing_callback_is_retried(box: Box, receiver: Receiver) -> None:
    path = f"/flaky-{box.backend}"
    box.post(f"/async-function/{box.function}", headers={"X-Callback-Url": receiver.url(path)})
    got = receiver.wait_for(path, 3)
    assert len({r.headers["x-call-id"] for r in got}) == 1


def test_admin_api_needs_credentials_and_checks_input(box: Box) -> None:
    with httpx.Client(base_url=box.server.url, timeout=30) as anonymous:
        assert anonymous.get(f"/system/async/{box.function}").status_code == 401
        assert anonymous.delete("/async-function/some-call").status_code == 401
    with box.server.client() as client:
        assert client.get(f"/system/async/{box.function}?limit=x").status_code == 400
        assert client.get(f"/system/async/{box.function}.other-ns").status_code == 400
        assert client.delete("/async-function/no-such-call").status_code == 404


def test_metrics_count_async_calls(box: Box, receiver: Receiver) -> None:
    path = f"/metrics-{box.backend}"
    box.post(f"/async-function/{box.function}", headers={"X-Callback-Url": receiver.url(path)})
    receiver.wait_for(path, 1)
    time.sleep(2.5)  # the depth gauges are read from the queue every 2 s
    with httpx.Client(base_url=box.server.url, timeout=30) as client:
        text = client.get("/metrics").text
    label = f'{{function_name="{box.function}"}}'
    for family in ("accepted_total", "delivered_total", "retried_total", "dead_letters_total"):
        assert f"faasbox_async_{family}{label}" in text
    assert f"faasbox_async_queued{label}" in text
    assert f"faasbox_async_dead{label}" in text


def _wait_dead(box: Box, call_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in box.overview()["calls"]:
            if call["callId"] == call_id and call["state"] == "dead":
                dead: dict[str, Any] = call
                return dead
        time.sleep(0.2)
    raise AssertionError(f"{call_id} never became a dead letter: {box.overview()}")


# --- a full queue, cancelling ------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_full_queue_answers_429_and_stores_nothing(
    backend: str, make_server: Callable[..., Server], async_image: str, tmp_path: Path
) -> None:
    with NatsServer(tmp_path / "nats") if backend == "nats" else nullcontext() as nats:
        env = {**queue_env(backend, nats), "FAASBOX_ASYNC_QUEUE_MAX": "3"}
        server = make_server(env=env)
        server.start()
        name = deploy(server, async_image)
        box = Box(server, backend, name)
        # One call runs (and sleeps), two wait: the queue is full.
        ids = [f"slot-{i}-{backend}" for i in range(3)]
        for call_id in ids:
            response = box.post(f"/async-function/{name}?sleep=30", headers={"X-Call-Id": call_id})
            assert response.status_code == 202
        refused = box.post(f"/async-function/{name}", headers={"X-Call-Id": "over"})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        overview = _wait_running(box)
        assert overview["queued"] + overview["inflight"] == 3
        assert "over" not in {c["callId"] for c in overview["calls"]}
        running = next(c["callId"] for c in overview["calls"] if c["state"] == "inflight")
        waiting = next(i for i in ids if i != running)

        with server.client() as client:
            assert client.delete(f"/async-function/{running}").status_code == 409
            cancelled = client.delete(f"/async-function/{waiting}")
            assert cancelled.status_code == 200
            assert cancelled.json() == {"callId": waiting, "state": "cancelled"}
            assert client.delete(f"/async-function/{waiting}").status_code == 404
        assert waiting not in {c["callId"] for c in box.overview()["calls"]}
        room = box.post(f"/async-function/{name}", headers={"X-Call-Id": "after-cancel"})
        assert room.status_code == 202


def _wait_running(box: Box, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        overview = box.overview()
        if any(c["state"] == "inflight" for c in overview["calls"]):
            return overview
        time.sleep(0.1)
    raise AssertionError(f"no call started: {box.overview()}")


# --- kill -9 -------------------------------------------------------------------------------

CALLS = 1000
SLOTS = 4


def _accept(box: Box, count: int, callback: str, query: str) -> list[str]:
    def one(_: int) -> str:
        response = client.post(
            f"/async-function/{box.function}?{query}", headers={"X-Callback-Url": callback}
        )
        assert response.status_code == 202, response.text
        return response.headers["x-call-id"]

    with (
        httpx.Client(base_url=box.server.url, timeout=30) as client,
        ThreadPoolExecutor(16) as pool,
    ):
        return list(pool.map(one, range(count)))


def _delivered_all(
    box: Box, receiver: Receiver, path: str, ids: list[str], timeout: float = 120.0
) -> tuple[int, int]:
    """Wait until every call has a callback; returns (duplicate deliveries as the function
    counted them, duplicate callbacks)."""
    deadline = time.monotonic() + timeout
    wanted = set(ids)
    while time.monotonic() < deadline:
        called_back = {r.headers["x-call-id"] for r in receiver.on(path)}
        if wanted <= called_back:
            break
        time.sleep(0.2)
    callbacks = Counter(r.headers["x-call-id"] for r in receiver.on(path))
    lost = wanted - set(callbacks)
    assert not lost, f"{len(lost)} of {len(ids)} calls never called back"
    deliveries = seen(box)
    assert all(deliveries.get(i, 0) >= 1 for i in ids)
    return sum(1 for i in ids if deliveries[i] > 1), sum(1 for i in ids if callbacks[i] > 1)


def _wait_callbacks(receiver: Receiver, path: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(receiver.on(path)) < count and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_loses_no_accepted_call(
    backend: str,
    make_server: Callable[..., Server],
    async_image: str,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    with NatsServer(tmp_path / "nats") if backend == "nats" else nullcontext() as nats:
        server = make_server(env=queue_env(backend, nats))
        server.start()
        name = deploy(server, async_image, **{"com.faasbox.async.concurrency": str(SLOTS)})
        box = Box(server, backend, name)
        path = f"/kill-{backend}"
        ids = _accept(box, CALLS, receiver.url(path), "sleep=0.01")
        _wait_callbacks(receiver, path, CALLS // 3)
        server.stop(signal.SIGKILL)
        at_kill = len(receiver.on(path))
        server.start()
        duplicates, duplicate_callbacks = _delivered_all(box, receiver, path, ids)
        print(
            f"\n[{backend}] kill -9 after {at_kill} of {CALLS} callbacks: 0 lost, "
            f"{duplicates} delivered twice, {duplicate_callbacks} called back twice"
        )
        assert 0 < at_kill < CALLS  # the kill came with calls queued
        assert duplicates <= SLOTS  # only calls that were in flight are repeated
        assert duplicate_callbacks <= SLOTS

        if nats is None:
            return
        path = f"/nats-restart-{backend}"
        ids = _accept(box, CALLS // 2, receiver.url(path), "sleep=0.01")
        _wait_callbacks(receiver, path, CALLS // 6)
        # A restart (SIGTERM: JetStream writes its consumer state out as it stops). After a
        # kill -9 of nats-server, acks from its last moments can be lost: more repeats.
        nats.restart(signal.SIGTERM)
        at_restart = len(receiver.on(path))
        duplicates, duplicate_callbacks = _delivered_all(box, receiver, path, ids)
        print(
            f"[nats] nats-server restart after {at_restart} of {CALLS // 2} "
            f"callbacks: 0 lost, {duplicates} delivered twice, "
            f"{duplicate_callbacks} called back twice"
        )
        assert duplicates <= SLOTS
