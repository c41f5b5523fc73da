"""Benchmark of async invocations, both queue backends in one run.

    flock /tmp/faasbox-bench.lock .venv/bin/python bench/async.py [--duration 5]

For each backend (SQLite in the state dir, JetStream on a local nats-server):
- accepts: wrk POSTs to `/async-function/<sink>` at concurrency 16 and 64; every 202
  means the call is on disk. The sink function takes one call at a time and sleeps, so
  deliveries do not compete with the accepts being measured.
- end to end: the fork-mode C function of bench/invoke.py, first through `/function/`
  (wrk, c16: the baseline), then as many calls through `/async-function/` (wrk, c16),
  timed from the first accept until the queue has delivered every accepted call.
  Workers get 16 slots, the baseline's concurrency.
Goals: SQLite accepts >= 2,000/s with p99 <= 10 ms at c16; end to end >= 0.8x sync.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
from invoke import _cpu_seconds, build, deploy  # bench/ is sys.path[0] when run as a script
from load import LoadResult, run_wrk

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.engine import unique  # noqa: E402
from tests.support.images import built_image  # noqa: E402
from tests.support.nats_server import NatsServer  # noqa: E402
from tests.support.server import Server  # noqa: E402

ACCEPT_CONCURRENCY = (16, 64)
E2E_CONCURRENCY = 16
GOAL_ACCEPTS, GOAL_P99_MS, GOAL_RATIO = 2000.0, 10.0, 0.8
BODY = b'{"hello": "async"}'


def deploy_sink(server: Server, image: str) -> str:
    name = unique("fb12-sink")
    labels = {
        "com.openfaas.scale.min": "1",
        "com.openfaas.scale.max": "1",
        "com.faasbox.async.concurrency": "1",
    }
    with server.client() as api:
        api.post(
            "/system/functions", json={"service": name, "image": image, "labels": labels}
        ).raise_for_status()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if api.get(f"/system/function/{name}").json().get("availableReplicas"):
                return name
            time.sleep(0.2)
    raise RuntimeError(f"{name} never became ready")


def counter(server: Server, family: str, function: str) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    match = re.search(
        rf'^faasbox_async_{family}_total{{function_name="{re.escape(function)}"}} (\S+)$',
        text,
        re.MULTILINE,
    )
    return float(match.group(1)) if match else 0.0


def end_to_end(server: Server, name: str, calls: int, pid: int) -> tuple[float, float]:
    """For as many calls as the sync run made: calls per second from the first accept to
    the last delivery, and faasbox CPU us per call. (wrk's threads stop at the limit, but
    wrk itself waits out its duration, so the clock is the delivered counter's.)"""
    url = f"{server.url}/async-function/{name}"
    before_cpu = _cpu_seconds(pid)
    began = time.perf_counter()
    with ThreadPoolExecutor(1) as pool:
        load = pool.submit(
            run_wrk, url, E2E_CONCURRENCY, duration=30, method="POST", body=BODY, limit=calls
        )
        while counter(server, "delivered", name) < calls:
            if load.done() and counter(server, "accepted", name) < calls:
                raise RuntimeError(f"{url}: wrk ended before {calls} calls were accepted")
            time.sleep(0.02)
        seconds = time.perf_counter() - began
        cpu_us = (_cpu_seconds(pid) - before_cpu) / calls * 1e6
        check(url, load.result())
    return calls / seconds, cpu_us


def check(url: str, result: LoadResult) -> None:
    if result.errors or result.non_2xx:
        raise RuntimeError(f"{url}: {result.errors} socket errors, {result.non_2xx} non-2xx")


def run_backend(
    backend: str, image: str, sink_image: str, workdir: Path, duration: float
) -> list[str]:
    with ExitStack() as stack:
        env = {"FAASBOX_ASYNC_QUEUE_MAX": "1000000", "FAASBOX_ASYNC_CONCURRENCY": "16"}
        if backend == "nats":
            nats = stack.enter_context(NatsServer(workdir / f"nats-{backend}"))
            env["FAASBOX_QUEUE"] = nats.url
        server = stack.enter_context(Server(state_dir=workdir / f"state-{backend}", env=env))
        assert server.process is not None
        pid = server.process.pid
        sink = deploy_sink(server, sink_image)
        fast = unique("fb12-fast")
        deploy(server, image, "fork", fast)
        lines = []
        for concurrency in ACCEPT_CONCURRENCY:
            url = f"{server.url}/async-function/{sink}?sleep=60"
            run_wrk(url, concurrency, duration=1, method="POST", body=BODY)  # warm
            accepts = run_wrk(url, concurrency, duration=duration, method="POST", body=BODY)
            check(url, accepts)
            goal = ""
            if backend == "sqlite" and concurrency == 16:
                ok = accepts.requests_per_second >= GOAL_ACCEPTS and accepts.p99_ms <= GOAL_P99_MS
                goal = f"  {'met' if ok else 'MISSED'} (>= {GOAL_ACCEPTS:.0f}/s, p99 <= 10 ms)"
            lines.append(
                f"{backend:<6} accepts c{concurrency:<3} {accepts.requests_per_second:>8.0f}/s"
                f"  p50 {accepts.p50_ms:6.2f} ms  p99 {accepts.p99_ms:6.2f} ms{goal}"
            )
        sync_url = f"{server.url}/function/{fast}"
        run_wrk(sync_url, E2E_CONCURRENCY, duration=1, method="POST", body=BODY)  # warm
        before = _cpu_seconds(pid)
        sync = run_wrk(sync_url, E2E_CONCURRENCY, duration=duration, method="POST", body=BODY)
        check(sync_url, sync)
        sync_cpu = (_cpu_seconds(pid) - before) / sync.requests * 1e6
        calls = sync.requests
        rate, cpu_us = end_to_end(server, fast, calls, pid)
        ratio = rate / sync.requests_per_second
        lines.append(
            f"{backend:<6} sync   c{E2E_CONCURRENCY}  {sync.requests_per_second:>8.0f}/s"
            f"  faasbox cpu {sync_cpu:5.0f} us/call"
        )
        lines.append(
            f"{backend:<6} async  c{E2E_CONCURRENCY}  {rate:>8.0f}/s end to end ({calls} calls)"
            f"  faasbox cpu {cpu_us:5.0f} us/call  ratio {ratio:.2f}"
            f"  {'met' if ratio >= GOAL_RATIO else 'MISSED'} (>= {GOAL_RATIO}x sync)"
        )
        return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    sink_image = built_image("async-fn", REPO / "tests" / "images" / "async")
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        image = build(workdir)
        lines = []
        for backend in ("sqlite", "nats"):
            lines += run_backend(backend, image, sink_image, workdir, args.duration)
    print("\n".join(lines))
    return 0 if all("MISSED" not in line for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
