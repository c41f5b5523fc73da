"""Benchmark of the invoke path: the same function hit at its task IP and through faasbox.

    .venv/bin/python bench/invoke.py [--duration 10] [--profile out.txt]

Two functions, each one replica behind watchdog/fwatchdog.py: fork mode running a
static C program, and http mode proxying to a warm Python server. For each, wrk on
loopback at concurrency 16 and 64, first straight at the replica (the baseline),
then through a faasbox started for the run. Prints throughput ratio (faasbox /
direct) and the latency faasbox adds at p50 and p99.
Targets: added p50 < 1 ms; ratio >= 0.9 (fork mode) and >= 0.6 (http mode).
`--profile` also samples faasbox with py-spy during one extra http-mode run (c64).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from load import LoadResult, run_wrk  # bench/ is sys.path[0] when run as a script

from watchdog import HTTP_HANDLER, REPLY_SOURCE

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.engine import (  # noqa: E402
    PYTHON_BASE,
    build_image,
    docker,
    ensure_base,
    remove_image,
    unique,
)
from tests.support.server import Server  # noqa: E402

CONCURRENCY = (16, 64)
TARGETS = {"fork": (0.9, 1.0), "http": (0.6, 1.0)}  # mode -> (min ratio, max added p50 ms)
DOCKERFILE = """ARG BASE
FROM ${BASE}
COPY fwatchdog.py /usr/local/bin/fwatchdog.py
COPY reply handler.py /home/app/
HEALTHCHECK --interval=1s CMD ["python3", "/usr/local/bin/fwatchdog.py", "-run-healthcheck"]
CMD ["python3", "/usr/local/bin/fwatchdog.py"]
"""
ENV = {
    "fork": {"fprocess": "/home/app/reply"},
    "http": {
        "mode": "http",
        "fprocess": "python3 /home/app/handler.py 5000",
        "upstream_url": "http://127.0.0.1:5000",
    },
}


def build(workdir: Path) -> str:
    """One image for both modes: the watchdog, a static C program and a Python server."""
    context = workdir / "image"
    context.mkdir()
    subprocess.run(
        ["gcc", "-O2", "-static", "-o", str(context / "reply"), str(REPLY_SOURCE)],
        check=True,
    )
    (context / "handler.py").write_text(HTTP_HANDLER)
    shutil.copy(REPO / "watchdog" / "fwatchdog.py", context / "fwatchdog.py")
    (context / "Dockerfile").write_text(DOCKERFILE)
    ensure_base()
    return build_image(context, f"faasbox-bench/invoke:{unique('b')}", BASE=PYTHON_BASE)


def deploy(server: Server, image: str, mode: str) -> tuple[str, str]:
    """Deploy one pinned replica (the autoscaler must not add any mid-run); returns
    (name, task IP)."""
    name = unique(f"bench-{mode}")
    pinned = {"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "1"}
    # The API refuses fprocess among envVars: it goes in envProcess.
    env = {k: v for k, v in ENV[mode].items() if k != "fprocess"}
    spec = {"service": name, "image": image, "envProcess": ENV[mode]["fprocess"], "envVars": env}
    with server.client() as api:
        response = api.post("/system/functions", json={**spec, "labels": pinned})
        response.raise_for_status()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if api.get(f"/system/function/{name}").json().get("availableReplicas"):
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{name} never became ready")
    container = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={name}")
    address = docker(
        "inspect",
        container,
        "--format",
        f'{{{{(index .NetworkSettings.Networks "{server.network}").IPAddress}}}}',
    )
    return name, address


def measure(url: str, concurrency: int, duration: float, pid: int) -> tuple[LoadResult, float]:
    """wrk's numbers, and the CPU time `pid` (faasbox) spent per request meanwhile, in us:
    a figure that other load on a shared machine disturbs less than rates do."""
    run_wrk(url, concurrency, duration=2)  # warm: connections, pools, caches
    before = _cpu_seconds(pid)
    result = run_wrk(url, concurrency, duration=duration)
    cpu_us = (_cpu_seconds(pid) - before) / max(result.requests, 1) * 1e6
    if result.errors or result.non_2xx:
        raise RuntimeError(f"{url}: {result.errors} socket errors, {result.non_2xx} non-2xx")
    return result, cpu_us


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def profile(server: Server, url: str, duration: float, out: Path) -> None:
    """Sample faasbox with py-spy while wrk drives it; the top of the listing goes to `out`."""
    assert server.process is not None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    sampler = subprocess.Popen(
        [
            spy,
            "record",
            "--nonblocking",
            "--format",
            "raw",
            "--duration",
            str(int(duration)),
            "--pid",
            str(server.process.pid),
            "--output",
            str(out.with_suffix(".folded")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    run_wrk(url, 64, duration=duration)
    sampler.wait(timeout=duration + 30)
    out.write_text(summarise(out.with_suffix(".folded")))


def summarise(folded: Path, top: int = 30) -> str:
    """Self and total share of the hottest functions in py-spy's folded stacks."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        samples += count
        frames = stack.split(";")
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + count
    lines = [f"{samples} samples", "self%  total%  function"]
    for frame, n in sorted(own.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"{100 * n / samples:5.1f}  {100 * total[frame] / samples:6.1f}  {frame}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--profile", type=Path, help="write a py-spy summary of faasbox here")
    args = parser.parse_args()
    rows: list[tuple[str, int, LoadResult, LoadResult, float]] = []
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        image = build(workdir)
        server = Server(state_dir=workdir / "state")
        names: list[str] = []
        try:
            server.start()
            assert server.process is not None
            pid = server.process.pid
            for mode in ("fork", "http"):
                name, address = deploy(server, image, mode)
                names.append(name)
                for concurrency in CONCURRENCY:
                    direct, _ = measure(f"http://{address}:8080/", concurrency, args.duration, pid)
                    via, cpu_us = measure(
                        f"{server.url}/function/{name}", concurrency, args.duration, pid
                    )
                    rows.append((mode, concurrency, direct, via, cpu_us))
            if args.profile:
                profile(server, f"{server.url}/function/{names[1]}", args.duration, args.profile)
        finally:
            with server.client() as api:
                for name in names:
                    api.request("DELETE", "/system/functions", json={"functionName": name})
            server.cleanup()
            remove_image(image)
    return report(rows)


def report(rows: list[tuple[str, int, LoadResult, LoadResult, float]]) -> int:
    print(
        f"{'mode':<5} {'c':>3} {'direct rps':>11} {'faasbox rps':>12} {'ratio':>6} "
        f"{'p50 d/f ms':>13} {'+p50':>6} {'p99 d/f ms':>15} {'+p99':>7} {'cpu us/req':>10}  target"
    )
    met = True
    for mode, concurrency, direct, via, cpu_us in rows:
        ratio = via.requests_per_second / direct.requests_per_second
        added50 = via.p50_ms - direct.p50_ms
        added99 = via.p99_ms - direct.p99_ms
        min_ratio, max_p50 = TARGETS[mode]
        ok = ratio >= min_ratio and added50 < max_p50
        met &= ok
        print(
            f"{mode:<5} {concurrency:>3} {direct.requests_per_second:>11.0f} "
            f"{via.requests_per_second:>12.0f} {ratio:>6.2f} "
            f"{direct.p50_ms:>6.2f}/{via.p50_ms:<6.2f} {added50:>6.2f} "
            f"{direct.p99_ms:>7.2f}/{via.p99_ms:<7.2f} {added99:>7.2f} {cpu_us:>10.0f}  "
            f"{'met' if ok else 'MISSED'} (ratio >= {min_ratio}, +p50 < {max_p50} ms)"
        )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
