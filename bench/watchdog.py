"""Benchmark of watchdog/fwatchdog.py against a baseline measured in the same run.

    .venv/bin/python bench/watchdog.py [--duration 5] [--rounds 3]

1. bare: how fast this Python spawns a static C program with posix_spawn + pipes, serially,
   with no HTTP at all (the ceiling for a fork-per-request watchdog on this machine);
2. fork mode serving that program under wrk at concurrency 8 and 16;
3. a Python handler in fork mode (one interpreter start per request) and in http mode
   (one warm interpreter), both under wrk at concurrency 8.
Targets: fork mode >= 85% of bare; http mode >= 5x fork mode for the Python handler.
Other work on a shared machine moves every number, so bare and fork mode are measured in
interleaved rounds and each is reported as its median round.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from load import LoadResult, run_wrk  # bench/ is sys.path[0] when run as a script

WATCHDOG = Path(__file__).resolve().parents[1] / "watchdog" / "fwatchdog.py"
REPLY_SOURCE = Path(__file__).resolve().parents[1] / "tests" / "images" / "reply" / "reply.c"
FORK_HANDLER = """import sys
sys.stdin.read()
sys.stdout.write("Hello from a Python function\\n")
"""
HTTP_HANDLER = """import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body are two writes; Nagle would hold the body

    def do_GET(self):
        reply = b"Hello from a Python function\\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bare_spawn_rate(program: str, seconds: float) -> float:
    """The same spawn the watchdog does (posix_spawn, stdin/stdout pipes, wait), serially."""
    argv, env = [program], dict(os.environ)

    def once() -> None:
        stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        actions = [
            (os.POSIX_SPAWN_DUP2, stdin_r, 0),
            (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_DUP2, out_w, 2),
        ]
        pid = os.posix_spawn(program, argv, env, file_actions=actions, setpgroup=0)
        for fd in (stdin_r, out_w, stdin_w):
            os.close(fd)
        while os.read(out_r, 65536):
            pass
        os.close(out_r)
        os.waitpid(pid, 0)

    for _ in range(200):
        once()
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        once()
        count += 1
    return count / (time.perf_counter() - started)


class Running:
    """A watchdog process for one measurement, stopped with SIGTERM afterwards."""

    def __init__(self, workdir: Path, **env: str) -> None:
        self.port = free_port()
        full_env = {
            "PATH": os.environ["PATH"],
            "TMPDIR": str(workdir),
            "port": str(self.port),
            "healthcheck_interval": "0",
            **env,
        }
        self.proc = subprocess.Popen(
            [sys.executable, str(WATCHDOG)],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "_/health", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"watchdog with {env} did not become healthy")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def measure(workdir: Path, concurrency: int, duration: float, **env: str) -> LoadResult:
    running = Running(workdir, **env)
    try:
        run_wrk(running.url, concurrency, duration=1.0)  # warm-up
        result = run_wrk(running.url, concurrency, duration=duration)
    finally:
        running.stop()
    if result.errors or result.non_2xx:
        raise RuntimeError(f"{env}: {result.errors} socket errors, {result.non_2xx} non-2xx")
    return result


def median_result(results: list[LoadResult]) -> LoadResult:
    """The round with the median rate, so its latencies belong to the rate shown."""
    ordered = sorted(results, key=lambda result: result.requests_per_second)
    return ordered[len(ordered) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        program = workdir / "reply"
        subprocess.run(["gcc", "-O2", "-static", "-o", str(program), str(REPLY_SOURCE)], check=True)
        (workdir / "fork_handler.py").write_text(FORK_HANDLER)
        (workdir / "http_handler.py").write_text(HTTP_HANDLER)
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        upstream = free_port()

        rounds: list[tuple[float, LoadResult, LoadResult]] = []
        for _ in range(args.rounds):
            rounds.append(
                (
                    bare_spawn_rate(str(program), args.duration),
                    measure(workdir, 8, args.duration, fprocess=str(program)),
                    measure(workdir, 16, args.duration, fprocess=str(program)),
                )
            )
        bare = statistics.median(r[0] for r in rounds)
        fork8 = median_result([r[1] for r in rounds])
        fork16 = median_result([r[2] for r in rounds])
        py_fork = measure(
            workdir, 8, args.duration, fprocess=f"{python} {workdir / 'fork_handler.py'}"
        )
        py_http = measure(
            workdir,
            8,
            args.duration,
            mode="http",
            fprocess=f"{python} {workdir / 'http_handler.py'} {upstream}",
            upstream_url=f"http://127.0.0.1:{upstream}",
        )

    print(
        f"watchdog benchmark: {os.cpu_count()} cores, {args.duration:g}s per run, "
        f"median of {args.rounds} rounds, watchdog on {sys.version.split()[0]}, "
        f"handlers on {python}"
    )
    print(
        "rounds (bare, fork -c8, fork -c16 req/s): "
        + "; ".join(
            f"{b:.0f}, {f8.requests_per_second:.0f}, {f16.requests_per_second:.0f}"
            for b, f8, f16 in rounds
        )
    )
    print(f"{'case':<40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'bare posix_spawn, static C (serial)':<40} {bare:>9.0f} {'-':>8} {'-':>8}")
    for name, result in [
        ("fork mode, static C, wrk -c8", fork8),
        ("fork mode, static C, wrk -c16", fork16),
        ("fork mode, Python handler, wrk -c8", py_fork),
        ("http mode, Python handler, wrk -c8", py_http),
    ]:
        print(
            f"{name:<40} {result.requests_per_second:>9.0f} {result.p50_ms:>8.2f} "
            f"{result.p99_ms:>8.2f}"
        )
    ratios = [
        ("fork -c8 / bare", fork8.requests_per_second / bare, 0.85),
        ("fork -c16 / bare", fork16.requests_per_second / bare, 0.85),
        (
            "http / fork (Python handler)",
            py_http.requests_per_second / py_fork.requests_per_second,
            5.0,
        ),
    ]
    print()
    passed = True
    for name, ratio, target in ratios:
        verdict = "ok" if ratio >= target else "BELOW TARGET"
        passed = passed and ratio >= target
        print(f"{name:<40} {ratio:>8.2f}x  (target >= {target:g}x) {verdict}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
