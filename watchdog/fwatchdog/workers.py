"""fork mode on several cores: worker processes sharing the port, and their supervisor.

One Python process parses HTTP, runs the event loop and spawns children on one core, and
every request waits for it. So the watchdog binds the port once per worker with
SO_REUSEPORT (the kernel spreads new connections across the sockets) and forks that many
workers, each a whole Server on its own socket. max_inflight is one limit across them
(limit.SharedLimit).

The first process stays as supervisor: PID 1 of the container. It owns what must happen
once: the start and stop log lines, the lock file, reaping orphans re-parented to it,
restarting a worker that died, and on SIGTERM removing the lock file and passing the
signal on; each worker then drains its own requests, and the supervisor exits 0 when the
last worker has.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import time

from fwatchdog.children import Reaper, reap_exited
from fwatchdog.config import Config, ConfigError
from fwatchdog.limit import Limit, SharedLimit
from fwatchdog.log import log
from fwatchdog.server import Server, announce, announce_stop, port_error, write_lock

_SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}


def listening_sockets(port: int, count: int) -> list[list[socket.socket]]:
    """`count` groups of listening sockets on `port`, one per address family (IPv4, IPv6)
    this host has, as asyncio's create_server would bind them, all with SO_REUSEPORT."""
    infos = socket.getaddrinfo(
        None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    groups: list[list[socket.socket]] = []
    try:
        for _ in range(count):
            group: list[socket.socket] = []
            groups.append(group)
            for family, kind, proto, _, address in infos:
                try:
                    sock = socket.socket(family, kind, proto)
                except OSError:
                    continue  # a family this kernel does not have
                group.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                try:
                    sock.bind(address)
                except OSError as exc:
                    if exc.errno != errno.EADDRNOTAVAIL:  # else: a family not configured
                        raise port_error(port, exc) from exc
                    group.pop().close()
                    continue
                sock.listen(1024)
            if not group:
                raise ConfigError(f"cannot listen on port {port}: no usable address family")
    except BaseException:
        for sock in (sock for group in groups for sock in group):
            sock.close()
        raise
    return groups


class Supervisor:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._groups = listening_sockets(config.port, config.workers)
        self._limit: Limit = (
            SharedLimit(config.max_inflight, config.workers, os.path.dirname(config.lock_path))
            if config.max_inflight
            else Limit(0)
        )
        self._workers: dict[int, int] = {}  # pid -> worker index
        self._started: dict[int, float] = {}  # worker index -> when it was last started
        self._stopping = False

    def run(self) -> int:
        # Signals wait in a mask and are taken one at a time by sigwaitinfo: no handler
        # can interrupt the supervisor half way through starting or reaping a worker.
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        self._wait_started()
        announce(self._config)
        log(f"Workers: {self._config.workers} (watchdog_workers).")
        write_lock(self._config)
        while self._workers:
            received = signal.sigwaitinfo(_SIGNALS)
            if received.si_signo == signal.SIGCHLD:
                self._reap()
            elif not self._stopping:
                self._stop()
        log("Exiting.")
        return 0

    def _wait_started(self) -> None:
        """Starts every worker and waits until each accepts: only then is the lock file
        written. Each worker writes one byte to the pipe when ready; EOF before all have
        means one died, and the watchdog fails its start like any bad setting."""
        ready_r, ready_w = os.pipe()
        for index in range(self._config.workers):
            self._start(index, ready_w, ready_r)
        os.close(ready_w)
        started = 0
        with os.fdopen(ready_r, "rb", buffering=0) as ready:
            while started < self._config.workers:
                more = ready.read(self._config.workers)
                if not more:
                    for pid in self._workers:
                        os.kill(pid, signal.SIGKILL)
                    raise ConfigError("a worker exited while starting")
                started += len(more)

    def _start(self, index: int, ready_fd: int = -1, other_fd: int = -1) -> None:
        self._started[index] = time.monotonic()
        pid = os.fork()
        if pid:
            self._workers[pid] = index
            return
        code = 1
        try:
            if other_fd >= 0:
                os.close(other_fd)
            code = self._serve(index, ready_fd)
        except ConfigError as exc:
            log(f"fwatchdog: worker {index}: {exc}")
            code = 2
        finally:
            os._exit(code)

    def _serve(self, index: int, ready_fd: int) -> int:
        """A worker's life, in the forked child: its own sockets, loop and reaper."""
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        mine = self._groups[index]
        for sock in (sock for group in self._groups if group is not mine for sock in group):
            sock.close()
        self._limit.bind(index)

        def ready() -> None:
            if ready_fd >= 0:
                os.write(ready_fd, b"r")
                os.close(ready_fd)

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            server = Server(self._config, loop, Reaper(loop), self._limit)
            return loop.run_until_complete(server.run(mine, ready))
        finally:
            loop.close()

    def _reap(self) -> None:
        """Collects dead workers and orphans; a worker lost while serving is replaced."""
        for pid, code in reap_exited():
            index = self._workers.pop(pid, None)
            if index is None:
                continue  # an orphan re-parented to PID 1
            self._limit.forget(index)
            if not self._stopping:
                log(f"Worker {index} (pid {pid}) exited with status {code}; restarting it.")
                if time.monotonic() - self._started[index] < 1:
                    time.sleep(1)  # one that dies young would otherwise be forked in a loop
                self._start(index)

    def _stop(self) -> None:
        self._stopping = True
        announce_stop(self._config)
        for sock in (sock for group in self._groups for sock in group):
            sock.close()  # the workers' copies stay open until each has drained
        for pid in self._workers:
            os.kill(pid, signal.SIGTERM)
