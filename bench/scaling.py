"""Scaling benchmark: how fast faasbox answers load and wakes sleeping functions, and the
same through a real Prometheus + AlertManager with the shipped configs, in one run.

    .venv/bin/python -m bench.scaling

Prints, with faasbox's default scaling clocks (1 s tick, 10 s window, 5 s hold):
  - OpenFaaS rule in-process: load start -> rate over the threshold -> scale-up decision
    -> an extra replica serving;
  - target rule: load start -> decision -> extra replica serving;
  - wake from zero to first 200 for a fork-mode function (p50/min/max over 10 wakes), and
    one 200-request burst on a cold function;
  - the Prometheus + AlertManager path: load start -> decision -> serving, and load stop
    -> back to min.
Needs the engine (Swarm), and Debian `prometheus` and `prometheus-alertmanager`.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.integration.test_scaling_kit import (
    Alerting,
    Load,
    burst,
    fork_image,
    have_alerting,
    replicas_are,
    status,
    wait_until,
)
from tests.support.api import deploy, remove, wait_for
from tests.support.engine import unique
from tests.support.images import probe_image
from tests.support.server import Server

RATE = 20.0  # requests per second offered: four times the OpenFaaS threshold
STEP_LABELS = {"com.openfaas.scale.max": "4", "com.openfaas.scale.factor": "50"}  # 1 -> 3
WAKES = 10


@dataclass
class ScaleUp:
    decided: float  # seconds from load start to replicas >= 3 in the API
    serving: float  # seconds from load start to a second replica answering
    crossed: float  # seconds from load start to the window's rate over 5 req/s


@contextmanager
def faasbox(workdir: Path, **env: str) -> Iterator[Server]:
    with Server(state_dir=workdir / unique("state"), env=env) as server:
        yield server


@contextmanager
def function(api: httpx.Client, image: str, **fields: object) -> Iterator[str]:
    name = unique("bench")
    response = deploy(api, name, image, **fields)
    response.raise_for_status()
    try:
        yield name
    finally:
        remove(api, name)


def scale_up(server: Server, api: httpx.Client, name: str, threads: int = 4) -> ScaleUp:
    """Offer load until a second replica answers; the load keeps running for the caller."""
    wait_for(api, name, available=1)
    load = Load(f"{server.url}/function/{name}", rate=RATE, threads=threads)
    begin = time.monotonic()
    load.start()
    try:
        # 10 s window at 5 req/s: the rate is over the threshold past 50 successful calls.
        wait_until(lambda: load.codes[200] > 50, 60, "rate over threshold")
        crossed = time.monotonic() - begin
        wait_until(lambda: status(api, name)["replicas"] >= 3, 120, "decision")
        decided = time.monotonic() - begin
        wait_until(lambda: len(load.hosts) >= 2, 120, "second replica serving")
        serving = time.monotonic() - begin
    finally:
        load.stop()
    assert set(load.codes) == {200}, f"failed requests under load: {load.codes}"
    return ScaleUp(decided=decided, serving=serving, crossed=crossed)


def in_process(workdir: Path) -> None:
    probe = probe_image()
    with faasbox(workdir) as server, server.client() as api:
        with function(api, probe, labels=STEP_LABELS) as name:
            result = scale_up(server, api, name)
            print("in-process, OpenFaaS rule (rate > 5 req/s over 10 s, held 5 s):")
            print(f"  rate over threshold after      {result.crossed:5.1f} s")
            print(
                f"  scale-up decision after        {result.decided:5.1f} s "
                f"({result.decided - result.crossed - 5:+.1f} s after the 5 s hold)"
            )
            print(f"  extra replica serving after    {result.serving:5.1f} s")
            down = wait_until(lambda: replicas_are(api, name, 1), 120, "back to min")
            print(f"  back to min after load stops   {down:5.1f} s")
        target = {**STEP_LABELS, "com.openfaas.scale.target": "2"}
        with function(api, fork_image(), labels=target, envProcess="/bin/sleep 0.2") as name:
            wait_for(api, name, available=1)
            load = Load(f"{server.url}/function/{name}", rate=1000, threads=8)
            load.start()
            begin = time.monotonic()
            try:
                wait_until(lambda: status(api, name)["replicas"] >= 2, 60, "target decision")
                decided = time.monotonic() - begin
                wait_until(lambda: status(api, name)["availableReplicas"] >= 2, 60, "target ready")
                ready = time.monotonic() - begin
            finally:
                load.stop()
            print("in-process, target rule (target 2 in flight per replica, 8 callers):")
            print(f"  scale-up decision after        {decided:5.1f} s")
            print(f"  extra replica ready after      {ready:5.1f} s")


def wakes(workdir: Path) -> None:
    labels = {"com.openfaas.scale.zero": "true"}
    with (
        faasbox(workdir) as server,
        server.client() as api,
        function(api, fork_image(), labels=labels) as name,
    ):
        url = f"{server.url}/function/{name}"
        times = []
        for _ in range(WAKES):
            api.post(f"/system/scale-function/{name}", json={"replicas": 0}).raise_for_status()
            wait_until(lambda: replicas_are(api, name, 0), 60, "asleep")
            time.sleep(1)  # let the old container go completely
            begin = time.perf_counter()
            response = httpx.get(url, timeout=60)
            times.append(time.perf_counter() - begin)
            assert response.status_code == 200, response.text
        print(f"wake from zero to first 200, fork-mode function, {WAKES} wakes:")
        print(
            f"  p50 {statistics.median(times) * 1000:5.0f} ms   "
            f"min {min(times) * 1000:5.0f} ms   max {max(times) * 1000:5.0f} ms"
        )
        api.post(f"/system/scale-function/{name}", json={"replicas": 0}).raise_for_status()
        wait_until(lambda: replicas_are(api, name, 0), 60, "asleep")
        time.sleep(1)
        result = burst(url, 200)
        print(f"200 concurrent requests on the cold function: {dict(result.codes)}")
        print(
            f"  first 200 after {result.first_ok * 1000:.0f} ms, "
            f"p50 {result.median * 1000:.0f} ms, p99 {result.percentile(99) * 1000:.0f} ms"
        )


def alertmanager(workdir: Path) -> None:
    if not have_alerting():
        print(
            "Prometheus + AlertManager: skipped (apt-get install prometheus "
            "prometheus-alertmanager)"
        )
        return
    probe = probe_image()
    with faasbox(workdir, FAASBOX_AUTOSCALE="false") as server, server.client() as api:
        stack = Alerting.for_server(server, workdir).start()
        try:
            with function(api, probe, labels=STEP_LABELS) as name:
                result = scale_up(server, api, name)
                down = wait_until(lambda: replicas_are(api, name, 1), 180, "back to min")
        finally:
            stack.stop()
    print("Prometheus + AlertManager (shipped configs) -> /system/alert:")
    print(f"  scale-up decision after        {result.decided:5.1f} s")
    print(f"  extra replica serving after    {result.serving:5.1f} s")
    print(f"  back to min after load stops   {down:5.1f} s")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        workdir = Path(tmp)
        print(f"load: {RATE:g} req/s from 4 callers; times from load start\n")
        in_process(workdir)
        wakes(workdir)
        alertmanager(workdir)


if __name__ == "__main__":
    main()
