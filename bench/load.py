"""Load generation for benchmarks: runs Debian's `wrk` and reads back rate and latency.

Other benchmarks reuse `run_wrk`; it returns numbers, never prints, so each benchmark
decides how to compare them against its own baseline.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors of any kind
    non_2xx: int


def _latency_ms(text: str, percentile: str) -> float:
    match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
    if not match:
        raise RuntimeError(f"wrk output has no {percentile}% latency:\n{text}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(text: str) -> LoadResult:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    if not rate or not total:
        raise RuntimeError(f"unexpected wrk output:\n{text}")
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return LoadResult(
        requests_per_second=float(rate.group(1)),
        p50_ms=_latency_ms(text, "50"),
        p99_ms=_latency_ms(text, "99"),
        requests=int(total.group(1)),
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def run_wrk(
    url: str,
    concurrency: int,
    duration: float = 10.0,
    threads: int = 2,
    method: str = "GET",
    body: bytes = b"",
    timeout: float = 10.0,
    limit: int = 0,
) -> LoadResult:
    """`wrk --latency` with `concurrency` keep-alive connections for `duration` seconds;
    with `limit`, each thread stops after its share of that many answers (a few more may
    be in flight then)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is missing: apt-get install wrk")
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "request.lua"
        body_text = body.decode("latin-1").replace("\\", "\\\\").replace('"', '\\"')
        lua = f'wrk.method = "{method}"\nwrk.body = "{body_text}"\n'
        if limit:
            share = -(-limit // min(threads, concurrency))
            lua += (
                "local answers = 0\n"
                "function response(status, headers, body)\n"
                f"  answers = answers + 1\n  if answers >= {share} then wrk.thread:stop() end\n"
                "end\n"
            )
        script.write_text(lua)
        command = [
            wrk,
            f"-t{min(threads, concurrency)}",
            f"-c{concurrency}",
            f"-d{duration:g}s",
            f"--timeout={timeout:g}s",
            "--latency",
            "-s",
            str(script),
            url,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)
