"""Helpers for the scaling tests and bench/scaling.py: a fork-mode watchdog function image,
an own faasbox with fast scaling clocks, paced load, and bursts. No tests in here."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.engine import PYTHON_BASE, REPO, build_image, docker, ensure_base

FORK_IMAGE = "faasbox-test/scaling-fork:1"

# Fast clocks for tests: a 4 s window, 2 s hold, 0.25 s ticks.
FAST_SCALING = {
    "FAASBOX_SCALE_INTERVAL": "0.25",
    "FAASBOX_SCALE_WINDOW": "4",
    "FAASBOX_SCALE_HOLD": "2",
    "FAASBOX_SCALE_FROM_ZERO_TIMEOUT": "10",
}

_DOCKERFILE = """\
ARG BASE
FROM ${BASE}
COPY fwatchdog.py /home/app/fwatchdog.py
USER 1000
ENV fprocess="/bin/echo ok" mode=fork
EXPOSE 8080
CMD ["python3", "-u", "/home/app/fwatchdog.py"]
"""


def fork_image() -> str:
    """A fork-per-request function (faasbox watchdog running `echo`), built once per engine.
    No HEALTHCHECK: readiness is the watchdog's /_/health, which faasbox probes itself."""
    if docker("image", "inspect", FORK_IMAGE, check=False):
        return FORK_IMAGE
    ensure_base()
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_text(_DOCKERFILE)
        (context / "fwatchdog.py").write_bytes((REPO / "watchdog" / "fwatchdog.py").read_bytes())
        build_image(context, FORK_IMAGE, BASE=PYTHON_BASE)
    return FORK_IMAGE


def status(client: httpx.Client, name: str) -> dict[str, object]:
    response = client.get(f"/system/function/{name}")
    response.raise_for_status()
    result: dict[str, object] = response.json()
    return result


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.1) -> float:
    """Seconds until `check()` holds; AssertionError naming `what` past `timeout`."""
    begin = time.monotonic()
    while time.monotonic() - begin < timeout:
        if check():
            return time.monotonic() - begin
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout} s")


def replicas_are(client: httpx.Client, name: str, replicas: int, available: bool = True) -> bool:
    now = status(client, name)
    return now["replicas"] == replicas and (not available or now["availableReplicas"] == replicas)


@dataclass
class Load:
    """Paced GETs from a few threads until stopped: enough to cross a rate threshold
    without eating the two cores the engine needs to start replicas."""

    url: str
    rate: float
    threads: int = 4
    codes: Counter[int] = field(default_factory=Counter)
    hosts: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        for _ in range(self.threads):
            worker = threading.Thread(target=self._run, daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)

    def _run(self) -> None:
        gap = self.threads / self.rate
        due = time.monotonic()
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    response = client.get(self.url)
                    self.codes[response.status_code] += 1
                    if response.headers.get("content-type", "").startswith("application/json"):
                        self.hosts[str(response.json().get("hostname", ""))] += 1
                except httpx.HTTPError:
                    self.codes[0] += 1
                due += gap
                self._stop.wait(max(due - time.monotonic(), 0.0))


@dataclass
class Burst:
    codes: Counter[int]
    latencies: list[float]  # seconds, sorted
    first_ok: float  # seconds from the burst's start to the first 200

    def percentile(self, p: float) -> float:
        index = min(round(p / 100 * (len(self.latencies) - 1)), len(self.latencies) - 1)
        return self.latencies[index]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies)


def burst(url: str, n: int, timeout: float = 60.0) -> Burst:
    """`n` concurrent GETs, all sent at once."""

    async def run() -> Burst:
        limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
            begin = time.perf_counter()
            first_ok: list[float] = []

            async def one() -> tuple[int, float]:
                try:
                    response = await client.get(url)
                    code = response.status_code
                except httpx.HTTPError:
                    code = 0
                took = time.perf_counter() - begin
                if code == 200 and not first_ok:
                    first_ok.append(took)
                return code, took

            results = await asyncio.gather(*(one() for _ in range(n)))
        return Burst(
            codes=Counter(code for code, _ in results),
            latencies=sorted(took for _, took in results),
            first_ok=first_ok[0] if first_ok else float("nan"),
        )

    return asyncio.run(run())
