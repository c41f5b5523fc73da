"""Helpers for the scaling tests and bench/scaling.py: a fork-mode watchdog function image,
an own faasbox with fast scaling clocks, paced load, and bursts. No tests in here."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from faasbox.builder.resources import watchdog_app
from tests.support.engine import REPO
from tests.support.images import Source, built_image
from tests.support.server import Server, free_port

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


# As the templates do, but slow enough that a test can tell whether faasbox waited for it.
SLOW_HEALTHCHECK = (
    'HEALTHCHECK --interval=30s CMD ["python3", "-c", '
    "\"import os, sys; sys.exit(not os.path.exists('/tmp/.lock'))\"]\n"
)


def fork_image(healthcheck: str = "") -> str:
    """A fork-per-request function (faasbox watchdog running `echo`). Without a
    HEALTHCHECK readiness is the watchdog's /_/health, which faasbox probes itself; with
    one, Swarm calls the task running only once it passed."""
    context: dict[str, Source] = {
        "Dockerfile": _DOCKERFILE + healthcheck,
        "fwatchdog.py": watchdog_app(),
    }
    return built_image("scaling-fork", context)


def status(client: httpx.Client, name: str) -> dict[str, Any]:
    response = client.get(f"/system/function/{name}")
    response.raise_for_status()
    result: dict[str, Any] = response.json()
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


PACKAGING = REPO / "packaging" / "prometheus"
PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


def have_alerting() -> bool:
    return Path(PROMETHEUS).exists() and Path(ALERTMANAGER).exists()


@dataclass
class Alerting:
    """The Debian Prometheus and AlertManager, run directly (no systemd) on free loopback
    ports with the shipped configs, pointed at one faasbox. `with` it, or `start()` and
    `stop()`."""

    metrics_port: int
    gateway_port: int
    user: str
    password_file: Path
    workdir: Path
    prometheus_port: int = 0
    alertmanager_port: int = 0
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def for_server(cls, server: Server, workdir: Path) -> Alerting:
        """The stack pointed at `server`'s metrics port, gateway and credentials."""
        return cls(
            metrics_port=server.metrics_port,
            gateway_port=server.port,
            user=server.user,
            password_file=server.state_dir / "basic-auth-password",
            workdir=workdir,
        )

    def start(self) -> Alerting:
        self.prometheus_port, self.alertmanager_port = free_port(), free_port()
        (self.workdir / "alert.rules.yml").write_text((PACKAGING / "alert.rules.yml").read_text())
        (self.workdir / "prometheus.yml").write_text(
            (PACKAGING / "prometheus.yml")
            .read_text()
            .replace("127.0.0.1:8082", f"127.0.0.1:{self.metrics_port}")
            .replace("127.0.0.1:9093", f"127.0.0.1:{self.alertmanager_port}")
        )
        (self.workdir / "alertmanager.yml").write_text(
            (PACKAGING / "alertmanager.yml")
            .read_text()
            .replace("127.0.0.1:8080", f"127.0.0.1:{self.gateway_port}")
            .replace("username: admin", f"username: {self.user}")
            .replace("/var/lib/faasbox/basic-auth-password", str(self.password_file))
        )
        try:
            self._spawn_and_wait()
        except BaseException:
            self.stop()  # a stack that failed half way stops what did start
            raise
        return self

    def __enter__(self) -> Alerting:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn_and_wait(self) -> None:
        self._spawn(
            ALERTMANAGER,
            f"--config.file={self.workdir / 'alertmanager.yml'}",
            f"--storage.path={self.workdir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{self.alertmanager_port}",
            "--cluster.listen-address=",
            log="alertmanager.log",
        )
        self._spawn(
            PROMETHEUS,
            f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
            log="prometheus.log",
        )
        for port in (self.alertmanager_port, self.prometheus_port):
            url = f"http://127.0.0.1:{port}/-/ready"
            wait_until(partial(_answers, url), 30, url)

    def _spawn(self, *argv: str, log: str) -> None:
        with (self.workdir / log).open("ab") as out:
            self.processes.append(
                subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir)
            )

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def firing(self) -> list[str]:
        """Functions AlertManager holds a firing APIHighInvocationRate alert for."""
        alerts = httpx.get(f"http://127.0.0.1:{self.alertmanager_port}/api/v2/alerts").json()
        return [
            a["labels"].get("function_name", "")
            for a in alerts
            if a["labels"].get("alertname") == "APIHighInvocationRate"
        ]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
