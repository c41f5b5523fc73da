"""Idle cost: what faasbox, the engine and the replicas burn while nothing happens.

    flock /tmp/faasbox-bench.lock .venv/bin/python bench/idle.py [--seconds 60] \
        [--replicas 10] [--rounds 4]

One run, two measurements of the same length on the same replicas, in alternating rounds
(the engine is shared: another user's burst then spoils one round, and the median round
is printed):
  1. faasbox up with REPLICAS idle replicas of a function built from templates/python3
     (pinned, never paused), plus one replica of the same function carrying the templates'
     former check (a python3 interpreter every 3 s) for comparison;
  2. the same replicas with faasbox stopped: the engine's own idle load, the baseline.
Prints faasbox's CPU, dockerd's and containerd's in both, their difference (faasbox's
extra load on the engine) and each replica's CPU (its container's cgroup plus its
containerd-shim, which runs every `docker exec` of its health check), all as % of one
core, read from /proc and the cgroups. Needs the engine and permission to read its
processes' /proc entries (the host's pid namespace).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from proc import cpu_seconds  # bench/ is sys.path[0] when run as a script

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faasbox.builder.resources import watchdog_app
from tests.support.api import deploy, wait_for
from tests.support.engine import PYTHON_BASE, REPO, docker, ensure_base, unique
from tests.support.images import Source, built_image
from tests.support.server import Server

TEMPLATE = REPO / "templates" / "python3"
FORMER_CHECK = (
    "HEALTHCHECK --interval=3s --timeout=2s --retries=3 CMD "
    '["python3", "-c", "import urllib.request as u; '
    'u.urlopen(\\"http://127.0.0.1:8080/_/health\\", timeout=2)"]'
)
SETTLE = 5.0  # seconds after a (re)start before measuring: the view's first reads
GOALS = {"faasbox": 0.5, "replica": 0.2, "engine extra": 0.5}  # % of a core (issue 17)


def template_image(former_check: bool) -> str:
    """templates/python3 as the builder assembles it, optionally with the former check."""
    files: dict[str, Source] = {
        p.relative_to(TEMPLATE).as_posix(): p for p in TEMPLATE.rglob("*") if p.is_file()
    }
    files["fwatchdog.py"] = watchdog_app()
    name = "idle-python3"
    if former_check:
        lines = (TEMPLATE / "Dockerfile").read_text().splitlines()
        files["Dockerfile"] = "\n".join(
            FORMER_CHECK if line.startswith("HEALTHCHECK") else line for line in lines
        )
        name = "idle-python3-former"
    ensure_base(PYTHON_BASE)
    return built_image(name, files, base=None, PYTHON_IMAGE=PYTHON_BASE)


# --- reading CPU time -----------------------------------------------------------------


def pids_named(comm: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == comm:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def tree(pid: int) -> list[int]:
    """The process and its descendants, read now."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def tree_seconds(pid: int) -> float:
    total = 0.0
    for member in tree(pid):
        with contextlib.suppress(FileNotFoundError):  # a child that ended meanwhile
            total += cpu_seconds(member, reaped=True)
    return total


def cgroup_seconds(container_pid: int) -> float:
    """CPU seconds of the container's cgroup (v1 cpuacct or v2), found from its init's
    /proc entry so any cgroup driver works. Health check processes run in it."""
    for line in Path(f"/proc/{container_pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            usage = Path(f"/sys/fs/cgroup/cpuacct{path}/cpuacct.usage").read_text()
            return int(usage) / 1e9
        if controllers == "":
            for stat in Path(f"/sys/fs/cgroup{path}/cpu.stat").read_text().splitlines():
                key, _, value = stat.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
    raise RuntimeError(f"no CPU accounting cgroup for pid {container_pid}")


@dataclass
class Replica:
    function: str
    container_id: str
    pid: int
    shim: int

    def seconds(self) -> float:
        return cgroup_seconds(self.pid) + cpu_seconds(self.shim, reaped=True)


def replicas_of(function: str) -> list[Replica]:
    ids = docker(
        "ps", "-q", "--no-trunc", "--filter", f"label=com.docker.swarm.service.name={function}"
    ).split()
    shims = {}
    for pid in pids_named("containerd-shim"):
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"-id" in words:
            shims[words[words.index(b"-id") + 1].decode()] = pid
    found = []
    for container_id in ids:
        state = json.loads(docker("inspect", "--format", "{{json .State}}", container_id))
        found.append(Replica(function, container_id, state["Pid"], shims[container_id]))
    return found


Meter = dict[str, Callable[[], float]]


def measure(meters: Meter, seconds: float) -> dict[str, float]:
    """CPU seconds each meter used over `seconds` of wall time, and the wall time."""
    before = {name: read() for name, read in meters.items()}
    begin = time.monotonic()
    time.sleep(seconds)
    after = {name: read() for name, read in meters.items()}
    return {"wall": time.monotonic() - begin} | {n: after[n] - before[n] for n in meters}


def percent(segments: list[dict[str, float]], name: str) -> float:
    """% of one core over all segments together."""
    return 100 * sum(s[name] for s in segments) / sum(s["wall"] for s in segments)


def median_percent(segments: list[dict[str, float]], name: str) -> float:
    """% of one core in the median segment: one burst from another user of the shared
    engine moves one segment, not the result."""
    return statistics.median(100 * s[name] / s["wall"] for s in segments)


# --- the run --------------------------------------------------------------------------


@contextmanager
def faasbox(workdir: Path) -> Iterator[Server]:
    # Server.cleanup (on any exit, Ctrl-C included) removes the functions and network.
    with Server(state_dir=workdir / "state", network=unique("fb17a-idle")) as server:
        yield server


def healthy(function: str, count: int, timeout: float = 120) -> None:
    """Wait until Swarm's health check has passed on `count` containers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = docker(
            "ps",
            "-q",
            "--filter",
            f"label=com.docker.swarm.service.name={function}",
            "--filter",
            "health=healthy",
        ).split()
        if len(listed) == count:
            return
        time.sleep(1)
    raise RuntimeError(f"{function}: {count} healthy containers not within {timeout} s")


def run(seconds: float, count: int, rounds: int) -> None:
    image, former = template_image(False), template_image(True)
    with tempfile.TemporaryDirectory(prefix="fb17a-idle-") as tmp, faasbox(Path(tmp)) as server:
        with server.client() as api:
            idle_name, former_name = unique("fb17a-idle"), unique("fb17a-former")
            for name, tag, replicas in ((idle_name, image, count), (former_name, former, 1)):
                pinned = {"com.openfaas.scale.min": str(replicas)}
                pinned["com.openfaas.scale.max"] = str(replicas)
                deploy(api, name, tag, labels=pinned).raise_for_status()
            for name, replicas in ((idle_name, count), (former_name, 1)):
                wait_for(api, name, available=replicas, timeout=120)
                healthy(name, replicas)
        time.sleep(SETTLE)
        idle, old = replicas_of(idle_name), replicas_of(former_name)
        meters: Meter = {
            "dockerd": lambda: sum(map(partial(cpu_seconds, reaped=True), pids_named("dockerd"))),
            "containerd": lambda: sum(
                map(partial(cpu_seconds, reaped=True), pids_named("containerd"))
            ),
        }
        meters.update({r.container_id: r.seconds for r in [*idle, *old]})
        up, down = [], []
        for round_ in range(rounds):
            assert server.process is not None
            faasbox_meter = {"faasbox": partial(tree_seconds, server.process.pid)}
            up.append(measure(meters | faasbox_meter, seconds / rounds))
            server.stop()
            down.append(measure(meters, seconds / rounds))
            if round_ < rounds - 1:
                server.start()
                time.sleep(SETTLE)
    report(up, down, idle, old[0], seconds)


def report(
    up: list[dict[str, float]],
    down: list[dict[str, float]],
    idle: list[Replica],
    old: Replica,
    seconds: float,
) -> None:
    print(
        f"idle, {seconds:g} s with faasbox and {seconds:g} s without in {len(up)} alternating "
        f"rounds; % of one core ({os.cpu_count()} cores here); median round"
    )
    faasbox = median_percent(up, "faasbox")
    print(f"  faasbox (process tree)           {faasbox:6.2f}   goal < {GOALS['faasbox']}")
    extra = 0.0
    for name in ("dockerd", "containerd"):
        with_, without = median_percent(up, name), median_percent(down, name)
        extra += with_ - without
        print(
            f"  {name:<11} with faasbox {with_:6.2f}, without {without:6.2f}, "
            f"extra {with_ - without:+6.2f}"
        )
    print(f"  engine extra load from faasbox   {extra:+6.2f}   goal < {GOALS['engine extra']}")
    every = [*up, *down]
    costs = [percent(every, r.container_id) for r in idle]
    print(
        f"  replica (cgroup + shim) over the whole run, {len(idle)} with the template's check: "
        f"mean {statistics.mean(costs):.3f}, max {max(costs):.3f}   goal < {GOALS['replica']}"
    )
    former = percent(every, old.container_id)
    print(f"  replica with the former python3 check every 3 s: {former:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    run(args.seconds, args.replicas, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
