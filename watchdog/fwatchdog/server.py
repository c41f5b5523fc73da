"""Health, the lock file, max_inflight and the SIGTERM drain, around a backend."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from fwatchdog.children import Reaper
from fwatchdog.config import Config, ConfigError
from fwatchdog.connection import Connection
from fwatchdog.fork import FORK_METHODS, ForkBackend
from fwatchdog.http1 import Request, wake
from fwatchdog.http_mode import HttpBackend
from fwatchdog.log import log


class Server:
    """Health, the lock file, max_inflight and the SIGTERM drain, around a backend."""

    def __init__(self, config: Config, loop: asyncio.AbstractEventLoop, reaper: Reaper) -> None:
        self.config = config
        self.loop = loop
        self.connections: set[Connection] = set()
        self._all_closed = asyncio.Event()
        self._accepting = False
        self._inflight = 0
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
        limit = self.config.max_inflight
        if limit and self._inflight >= limit:
            conn.respond(429, self._busy_body, [("X-OpenFaaS-Internal", "faas-middleware")])
            return
        self._inflight += 1
        try:
            await self._backend.handle(request, conn)
        finally:
            self._inflight -= 1

    def forget(self, conn: Connection) -> None:
        self.connections.discard(conn)
        if not self.connections:
            self._all_closed.set()

    def healthy(self) -> bool:
        if not self._accepting or not os.path.exists(self.config.lock_path):
            return False
        return not isinstance(self._backend, HttpBackend) or self._backend.ready.is_set()

    async def run(self) -> int:
        config = self.config
        try:
            server = await self.loop.create_server(
                lambda: Connection(self), port=config.port, reuse_address=True, backlog=1024
            )
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ConfigError(f"cannot listen on port {config.port}: {reason}") from exc
        await self._backend.start()
        log(
            f"Timeouts: read: {config.read_timeout:g}s, write: {config.write_timeout:g}s, "
            f"hard: {config.exec_timeout:g}s, health: {config.healthcheck_interval:g}s."
        )
        log(f"Listening on port: {config.port} ({config.mode} mode)")
        if not config.suppress_lock:
            log(f"Writing lock-file to: {config.lock_path}")
            try:
                os.close(os.open(config.lock_path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o660))
            except OSError as exc:
                raise ConfigError(f"cannot write lock file {config.lock_path}: {exc}") from exc
        self._accepting = True
        stop = self.loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, wake, stop)
        await stop
        await self._drain(server)
        return 0

    async def _drain(self, server: asyncio.AbstractServer) -> None:
        """Unhealthy at once; keep serving for healthcheck_interval so the orchestrator sees
        it; then stop accepting and give in-flight requests up to write_timeout."""
        config = self.config
        self._accepting = False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(config.lock_path)
        log(f"SIGTERM received: unhealthy now, shutting down in {config.healthcheck_interval:g}s.")
        await asyncio.sleep(config.healthcheck_interval)
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
        log("Exiting.")
