"""Runs the watchdog as a real process on a real port, as a function image would: the
one-file zip application the builder ships, not the source folder."""

from __future__ import annotations

import glob
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from faasbox.builder.resources import watchdog_app
from tests.support.engine import RUN_ENV, run_token
from tests.support.leftovers import kill, marked_processes

# Inherited by every process a watchdog starts, so close() finds them all.
OWNER_ENV = "FAASBOX_TEST_WATCHDOG"


def stdlib_python() -> str:
    """The oldest Python the watchdog supports, without uvloop: what a slim image runs."""
    pyenv = os.path.expanduser("~/.pyenv/versions/3.9*/bin/python3.9")
    for candidate in [*sorted(glob.glob(pyenv)), "/usr/bin/python3"]:
        if os.access(candidate, os.X_OK):
            return candidate
    return sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def script(directory: Path, name: str, body: str) -> str:
    """An executable sh handler: fprocess is split on spaces, so a path is the easy form."""
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


class Watchdog:
    """One watchdog process with its own TMPDIR (so its lock file is its own) and logs.

    healthcheck_interval defaults to 0 here, not write_timeout, so stopping is quick;
    tests about SIGTERM set it themselves.
    """

    def __init__(self, workdir: Path, env: dict[str, str], python: str = sys.executable) -> None:
        self.workdir = workdir
        self.tmpdir = workdir / "tmp"
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.env = {
            "PATH": os.environ["PATH"],
            RUN_ENV: run_token(),
            OWNER_ENV: str(workdir),
            "TMPDIR": str(self.tmpdir),
            "port": str(self.port),
            "healthcheck_interval": "0",
            **env,
        }
        self.python = python
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def lock(self) -> Path:
        return self.tmpdir / ".lock"

    @property
    def app(self) -> Path:
        """The zip application this watchdog runs, as an image holds it."""
        return self.workdir / "fwatchdog.py"

    def start(self, wait: bool = True) -> Watchdog:
        self.app.write_bytes(watchdog_app())
        with (
            (self.workdir / "stdout.log").open("wb") as out,
            (self.workdir / "stderr.log").open("wb") as err,
        ):
            self.proc = subprocess.Popen(
                [self.python, str(self.app)], env=self.env, stdout=out, stderr=err
            )
        if wait:
            self._wait_listening()
        return self

    def _wait_listening(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"watchdog exited {self.proc.returncode}: {self.log()}")
            if "Listening on port" in self.log():
                with socket.socket() as sock:
                    if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                        return
            time.sleep(0.02)
        raise AssertionError(f"watchdog did not start: {self.log()}")

    def log(self) -> str:
        return (self.workdir / "stderr.log").read_text(errors="replace")

    def stdout(self) -> str:
        return (self.workdir / "stdout.log").read_text(errors="replace")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait(self, timeout: float = 15) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> int:
        """SIGTERM and wait; a watchdog that will not stop is killed and fails the test."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("watchdog ignored SIGTERM") from None
        return self.proc.returncode

    def close(self) -> None:
        """Kill the watchdog and everything it started, whatever state the test left it
        in: its children run in process groups of their own (http mode's upstream, a
        fork-mode child with its orphans), so they are found by the marker they inherit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        kill(marked_processes(str(self.workdir), OWNER_ENV))

    def servers(self) -> list[int]:
        """The processes that serve requests: the workers of a supervising watchdog (it
        logs how many it started), or the watchdog itself when it runs alone."""
        if "Workers: " not in self.log():
            return [self.pid]
        return list(_children_of(self.pid))

    def children(self) -> dict[int, str]:
        """pid -> state of the processes the watchdog started for requests ("Z" is a
        zombie): children of its workers, or its own when it runs alone."""
        found: dict[int, str] = {}
        for server in self.servers():
            found.update(_children_of(server))
        return found

    def descriptors(self) -> int:
        return sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in self.servers())

    def peak_rss_kb(self) -> int:
        """The largest peak resident size of one serving process."""
        return max(_peak_rss_kb(pid) for pid in self.servers())


def _children_of(parent: int) -> dict[int, str]:
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent:
            found[int(entry)] = fields[0]
    return found


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


def alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(predicate: object, timeout: float = 5.0) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
