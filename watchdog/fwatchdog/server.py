"""Health, the lock file, max_inflight and the SIGTERM drain, around a backend.

A Server is the whole watchdog when it runs alone, or one worker of several
(workers.py), which then leaves the lock file and the start and stop log lines to the
supervisor so they appear once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Callable

from fwatchdog.children import Reaper
from fwatchdog.config import Config, ConfigError
from fwatchdog.connection import Connection
from fwatchdog.fork import FORK_METHODS, ForkBackend
from fwatchdog.http1 import Request, wake
from fwatchdog.http_mode import HttpBackend
from fwatchdog.limit import Limit
from fwatchdog.log import log


class Server:
    """Health, the lock file, max_inflight and the SIGTERM drain, around a backend."""

    def __init__(
        self, config: Config, loop: asyncio.AbstractEventLoop, reaper: Reaper, limit: Limit
    ) -> None:
        self.config = config
        self.loop = loop
        self.connections: set[Connection] = set()
        self._all_closed = asyncio.Event()
        self._accepting = False
        self._limit = limit
        self._busy_body = (
            f"Concurrent request limit exceeded. Max concurrent requests: {config.max_inflight}\n"
        ).encode()
        self._backend = (HttpBackend if config.mode == "http" else ForkBackend)(
            config, loop, reaper
        )
        self._http_mode = config.mode == "http"

    async def handle(self, request: Request, conn: Connection) -> None:
        try:
            await self._route(request, conn)
        except (ConnectionError, asyncio.CancelledError):
            conn.abort()
        except Exception as exc:  # a bug must cost one request, not the whole watchdog
            log(f"Error: unexpected {exc!r} while serving {request.method} {request.path}")
            if conn.response_started:
                conn.abort()
            else:
                conn.respond(500, b"Internal watchdog error\n", close=True)

    async def _route(self, request: Request, conn: Connection) -> None:
        if request.path == "/_/health":
            if request.method != "GET":
                conn.respond(405, b"Method Not Allowed\n")
            elif self.healthy():
                conn.respond(200, b"OK")
            else:
                conn.respond(503, b"Service Unavailable\n")
            return
        if not self._http_mode and request.method not in FORK_METHODS:
            conn.respond(405, b"Method Not Allowed\n")
            return
        if not self._limit.acquire():
            conn.respond(429, self._busy_body, [("X-OpenFaaS-Internal", "faas-middleware")])
            return
        try:
            await self._backend.handle(request, conn)
        finally:
            self._limit.release()

    def forget(self, conn: Connection) -> None:
        self.connections.discard(conn)
        if not self.connections:
            self._all_closed.set()

    def healthy(self) -> bool:
        if not self._accepting or not os.path.exists(self.config.lock_path):
            return False
        return not isinstance(self._backend, HttpBackend) or self._backend.ready.is_set()

    async def run(
        self,
        sockets: list[socket.socket] | None = None,
        ready: Callable[[], None] | None = None,
    ) -> int:
        """Serves until SIGTERM. Alone (`sockets` None) it binds the port and owns the lock
        file and the log lines; as a worker it serves the supervisor's `sockets` and calls
        `ready` once accepting."""
        config = self.config
        lead = sockets is None
        servers = await listen(self.loop, config.port, lambda: Connection(self), sockets)
        await self._backend.start()
        if lead:
            announce(config)
            write_lock(config)
        self._accepting = True
        if ready is not None:
            ready()
        stop = self.loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, wake, stop)
        await stop
        self._accepting = False
        if lead:
            announce_stop(config)
        await self._drain(servers)
        if lead:
            log("Exiting.")
        return 0

    async def _drain(self, servers: list[asyncio.AbstractServer]) -> None:
        """Unhealthy at once; keep serving for healthcheck_interval so the orchestrator sees
        it; then stop accepting and give in-flight requests up to write_timeout."""
        config = self.config
        await asyncio.sleep(config.healthcheck_interval)
        for server in servers:
            server.close()
        for conn in list(self.connections):
            conn.close_when_idle()
        if self.connections:
            self._all_closed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), config.write_timeout or None)
        for conn in list(self.connections):
            conn.abort()
        await self._backend.stop()


async def listen(
    loop: asyncio.AbstractEventLoop,
    port: int,
    protocol: Callable[[], Connection],
    sockets: list[socket.socket] | None,
) -> list[asyncio.AbstractServer]:
    """Serves `sockets`, or binds `port` on all interfaces (IPv4 and IPv6) itself."""
    if sockets is not None:
        return [await loop.create_server(protocol, sock=sock, backlog=1024) for sock in sockets]
    try:
        return [await loop.create_server(protocol, port=port, reuse_address=True, backlog=1024)]
    except OSError as exc:
        raise port_error(port, exc) from exc


def port_error(port: int, exc: OSError) -> ConfigError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return ConfigError(f"cannot listen on port {port}: {reason}")


def announce(config: Config) -> None:
    log(
        f"Timeouts: read: {config.read_timeout:g}s, write: {config.write_timeout:g}s, "
        f"hard: {config.exec_timeout:g}s, health: {config.healthcheck_interval:g}s."
    )
    log(f"Listening on port: {config.port} ({config.mode} mode)")


def write_lock(config: Config) -> None:
    """The lock file says "ready" to `-run-healthcheck` and to /_/health."""
    if config.suppress_lock:
        return
    log(f"Writing lock-file to: {config.lock_path}")
    try:
        os.close(os.open(config.lock_path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o660))
    except OSError as exc:
        raise ConfigError(f"cannot write lock file {config.lock_path}: {exc}") from exc


def announce_stop(config: Config) -> None:
    """SIGTERM: the lock file goes at once, so health checks fail while requests are still
    served for healthcheck_interval."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(config.lock_path)
    log(f"SIGTERM received: unhealthy now, shutting down in {config.healthcheck_interval:g}s.")
