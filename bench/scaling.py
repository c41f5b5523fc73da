"""Scaling benchmark: how fast faasbox answers load and wakes sleeping functions, and the
same through a real Prometheus + AlertManager with the shipped configs, in one run.

    flock /tmp/faasbox-bench.lock .venv/bin/python -m bench.scaling [rules] [wakes] [alertmanager]

Prints, with faasbox's default scaling clocks (1 s tick, 10 s window, 5 s hold):
  - OpenFaaS rule in-process: load start -> rate over the threshold -> scale-up decision
    -> an extra replica serving;
  - target rule: load start -> decision -> extra replica serving;
  - wake to first 200 for a fork-mode function, from paused (20 wakes) and from zero
    (10 wakes), p50/p99/min/max, the paused wake as a share of the zero wake measured in
    the same run, and the first answer of a 50-call burst on each;
  - the Prometheus + AlertManager path: load start -> decision -> serving, and load stop
    -> back to min.
Needs the engine (Swarm), and Debian `prometheus` and `prometheus-alertmanager`.
"""

from __future__ import annotations

import re
import statistics
import sys
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
WAKES_FROM_ZERO = 10
WAKES_FROM_PAUSED = 20
BURST = 50
# Paused after 1 s idle (the next 1 s tick), never at zero during the run.
PAUSE_LABELS = {
    "com.openfaas.scale.zero": "true",
    "com.openfaas.scale.zero-duration": "1s",
    "com.faasbox.scale.zero-duration": "1h",
}


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


def _spread(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(round(0.99 * (len(ordered) - 1)), len(ordered) - 1)]
    return (
        f"p50 {statistics.median(ordered) * 1000:5.0f} ms   p99 {p99 * 1000:5.0f} ms   "
        f"min {ordered[0] * 1000:5.0f} ms   max {ordered[-1] * 1000:5.0f} ms"
    )


def _timed_get(url: str) -> float:
    """One call on a fresh connection, as a client arriving after a quiet spell makes it."""
    begin = time.perf_counter()
    response = httpx.get(url, timeout=60)
    took = time.perf_counter() - begin
    assert response.status_code == 200, response.text
    return took


def _tier(api: httpx.Client, name: str) -> str:
    tier: str = status(api, name)["faasbox"]["tier"]
    return tier


def wakes(workdir: Path) -> None:
    with faasbox(workdir) as server, server.client() as api:
        with function(api, fork_image(), labels=PAUSE_LABELS) as name:
            url = f"{server.url}/function/{name}"
            wait_for(api, name, available=1)
            paused, warm = [], []
            for _ in range(WAKES_FROM_PAUSED):
                wait_until(lambda: _tier(api, name) == "paused", 60, "paused")
                paused.append(_timed_get(url))
                warm.append(_timed_get(url))  # the baseline: the same call, nothing to wake
            wait_until(lambda: _tier(api, name) == "paused", 60, "paused")
            paused_burst = burst(url, BURST)
        with function(api, fork_image(), labels={"com.openfaas.scale.zero": "true"}) as name:
            url = f"{server.url}/function/{name}"
            zero = []
            for _ in range(WAKES_FROM_ZERO):
                api.post(f"/system/scale-function/{name}", json={"replicas": 0}).raise_for_status()
                wait_until(lambda: replicas_are(api, name, 0), 60, "asleep")
                time.sleep(1)  # let the old container go completely
                zero.append(_timed_get(url))
            api.post(f"/system/scale-function/{name}", json={"replicas": 0}).raise_for_status()
            wait_until(lambda: replicas_are(api, name, 0), 60, "asleep")
            time.sleep(1)
            cold_burst = burst(url, BURST)
        logs = server.logs()
    print("call to first 200, fork-mode function, new connection per call:")
    print(f"  running, baseline ({len(warm):2d})  {_spread(warm)}")
    print(f"  from paused ({len(paused):2d} wakes)  {_spread(paused)}")
    print(f"  from zero   ({len(zero):2d} wakes)  {_spread(zero)}")
    p50 = statistics.median
    print(
        f"  at p50: paused / zero {p50(paused) / p50(zero):.3f}, paused / running "
        f"{p50(paused) / p50(warm):.2f}, zero / running {p50(zero) / p50(warm):.1f}"
    )
    print("faasbox's own wake times (call finding no replica -> replica ready), from its log:")
    for tier in ("paused", "zero"):
        own = [float(ms) / 1000 for ms in re.findall(rf"woke from {tier} in (\d+) ms", logs)]
        print(f"  from {tier:6} ({len(own):2d} wakes)  {_spread(own)}")
    for label, result in (("paused", paused_burst), ("zero", cold_burst)):
        print(
            f"{BURST} concurrent calls on a {label} function: {dict(result.codes)}; first 200 "
            f"after {result.first_ok * 1000:.0f} ms, p50 {result.median * 1000:.0f} ms, "
            f"p99 {result.percentile(99) * 1000:.0f} ms"
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
        chosen = set(sys.argv[1:]) or {"rules", "wakes", "alertmanager"}
        if "rules" in chosen:
            print(f"load: {RATE:g} req/s from 4 callers; times from load start\n")
            in_process(workdir)
        if "wakes" in chosen:
            wakes(workdir)
        if "alertmanager" in chosen:
            alertmanager(workdir)


if __name__ == "__main__":
    main()
