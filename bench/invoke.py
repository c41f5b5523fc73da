"""Benchmark of the invoke path: one replica hit directly, through nginx and through faasbox.

    flock /tmp/faasbox-bench.lock .venv/bin/python bench/invoke.py [--duration 5] [--rounds 2]
        [--profile out.txt]

Two functions, each one replica behind the faasbox watchdog: fork mode running a static
C program, and http mode proxying to a warm Python server. For each, at concurrency 1, 16
and 64, wrk on loopback drives, in interleaved rounds: the replica's task IP (the
baseline), Debian's nginx as a reference proxy to the same replica (own config and
ports, `worker_processes 1`, upstream keepalive), and faasbox. Each figure is the median
round. Printed per mode and concurrency: each proxy's throughput ratio to direct, the
p50 and p99 it adds, and its CPU microseconds per call (utime + stime of the whole
process from /proc: nginx's master and worker, faasbox's one process).
Goals: faasbox CPU per call <= 1.5x nginx's (c16, c64), faasbox's ratio within 0.05 of
nginx's, added p50 at c1 < 0.2 ms. `--profile` samples faasbox with py-spy during one
extra http-mode run at c64.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from load import LoadResult, run_wrk  # bench/ is sys.path[0] when run as a script
from proc import children, cpu_seconds

from watchdog import HTTP_HANDLER, REPLY_SOURCE

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from faasbox.builder.resources import watchdog_app  # noqa: E402
from tests.support.engine import docker, unique  # noqa: E402
from tests.support.images import built_image  # noqa: E402
from tests.support.server import Server, free_port  # noqa: E402

CONCURRENCY = (1, 16, 64)
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
    (context / "fwatchdog.py").write_bytes(watchdog_app())
    (context / "Dockerfile").write_text(DOCKERFILE)
    return built_image("bench-invoke", context)


def deploy(server: Server, image: str, mode: str, name: str) -> str:
    """Deploy one pinned replica (the autoscaler must not add any mid-run); returns its
    task IP."""
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
    return address


NGINX_CONF = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream replica {{
        server {address}:8080;
        keepalive 128;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://replica;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


class Nginx:
    """A private nginx proxying to one replica; stopped on exit."""

    def __init__(self, workdir: Path, address: str) -> None:
        self.dir = workdir / f"nginx-{address}"
        self.dir.mkdir()
        self.port = free_port()
        conf = self.dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=self.dir, address=address, port=self.port))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen([nginx, "-p", str(self.dir), "-c", str(conf)])
        deadline = time.monotonic() + 10
        while not _listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {(self.dir / 'error.log').read_text()}")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> Nginx:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def measure(url: str, concurrency: int, duration: float, pid: int) -> tuple[LoadResult, float]:
    """wrk's numbers, and the CPU time process `pid` and its children spent per request
    meanwhile, in us: a figure that other load on a shared machine disturbs less than
    rates do (pid 0: the direct baseline, no proxy)."""
    run_wrk(url, concurrency, duration=1)  # warm: connections, pools, caches
    before = _cpu_seconds(pid)
    result = run_wrk(url, concurrency, duration=duration)
    cpu_us = (_cpu_seconds(pid) - before) / max(result.requests, 1) * 1e6
    if result.errors or result.non_2xx:
        raise RuntimeError(f"{url}: {result.errors} socket errors, {result.non_2xx} non-2xx")
    return result, cpu_us


def _cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and its child processes (nginx's workers), in seconds."""
    if not pid:
        return 0.0
    return sum(cpu_seconds(one) for one in (pid, *children(pid)))


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


Row = tuple[str, int, LoadResult, LoadResult, LoadResult, float, float]
TARGETS = ["direct", "nginx", "faasbox"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", type=Path, help="write a py-spy summary of faasbox here")
    args = parser.parse_args()
    rows: list[Row] = []
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
                name = unique(f"bench-{mode}")
                names.append(name)  # removed at the end even if it never gets ready
                address = deploy(server, image, mode, name)
                with Nginx(workdir, address) as nginx:
                    urls = {
                        "direct": (f"http://{address}:8080/", 0),
                        "nginx": (nginx.url, nginx.process.pid),
                        "faasbox": (f"{server.url}/function/{name}", pid),
                    }
                    for concurrency in CONCURRENCY:
                        runs: dict[str, list[tuple[LoadResult, float]]] = {t: [] for t in TARGETS}
                        for _ in range(args.rounds):
                            for target in TARGETS:
                                url, owner = urls[target]
                                runs[target].append(measure(url, concurrency, args.duration, owner))
                        direct, _ = _median(runs["direct"])
                        via_nginx, nginx_us = _median(runs["nginx"])
                        via_faasbox, faasbox_us = _median(runs["faasbox"])
                        rows.append(
                            (
                                mode,
                                concurrency,
                                direct,
                                via_nginx,
                                via_faasbox,
                                nginx_us,
                                faasbox_us,
                            )
                        )
            if args.profile:
                profile(server, f"{server.url}/function/{names[1]}", args.duration, args.profile)
        finally:
            with server.client() as api:
                for name in names:
                    api.request("DELETE", "/system/functions", json={"functionName": name})
            server.cleanup()
    return report(rows)


def _median(runs: list[tuple[LoadResult, float]]) -> tuple[LoadResult, float]:
    """The round with the median throughput, and the median CPU per call."""
    by_rate = sorted(runs, key=lambda run: run[0].requests_per_second)
    return by_rate[len(by_rate) // 2][0], statistics.median(cpu for _, cpu in runs)


def report(rows: list[Row]) -> int:
    print(
        f"{'mode':<5} {'c':>3} {'direct rps':>10} {'ratio n/f':>11} {'+p50 ms n/f':>13} "
        f"{'+p99 ms n/f':>13} {'cpu us n/f':>11} {'f/n cpu':>7}  goals"
    )
    met = True
    for mode, concurrency, direct, nginx, faasbox, nginx_us, faasbox_us in rows:
        rate = direct.requests_per_second
        ratio_n, ratio_f = nginx.requests_per_second / rate, faasbox.requests_per_second / rate
        p50_n, p50_f = nginx.p50_ms - direct.p50_ms, faasbox.p50_ms - direct.p50_ms
        p99_n, p99_f = nginx.p99_ms - direct.p99_ms, faasbox.p99_ms - direct.p99_ms
        cpu_ratio = faasbox_us / nginx_us if nginx_us else float("inf")
        goals = []
        if concurrency == 1:
            goals.append(("+p50 < 0.2 ms", p50_f < 0.2))
        else:
            goals.append(("cpu <= 1.5x nginx", cpu_ratio <= 1.5))
            goals.append(("ratio >= nginx - 0.05", ratio_f >= ratio_n - 0.05))
        met &= all(ok for _, ok in goals)
        verdict = ", ".join(f"{text} {'met' if ok else 'MISSED'}" for text, ok in goals)
        print(
            f"{mode:<5} {concurrency:>3} {rate:>10.0f} {ratio_n:>5.2f}/{ratio_f:<5.2f} "
            f"{p50_n:>6.2f}/{p50_f:<6.2f} {p99_n:>6.2f}/{p99_f:<6.2f} "
            f"{nginx_us:>5.0f}/{faasbox_us:<5.0f} {cpu_ratio:>7.2f}  {verdict}"
        )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
