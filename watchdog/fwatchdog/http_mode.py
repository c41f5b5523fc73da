"""http mode: one warm fprocess serving HTTP, restarted whenever it exits."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from fwatchdog.children import Reaper, kill_group, spawn
from fwatchdog.config import Config, ConfigError
from fwatchdog.connection import Connection
from fwatchdog.http1 import Request
from fwatchdog.log import log
from fwatchdog.upstream import UpstreamClient, UpstreamError


class HttpBackend:
    """One warm fprocess serving HTTP on upstream_url, restarted whenever it exits."""

    def __init__(self, config: Config, loop: asyncio.AbstractEventLoop, reaper: Reaper) -> None:
        self._config = config
        self._loop = loop
        self._reaper = reaper
        self._host, self._port = config.upstream
        self.ready = asyncio.Event()
        self._client = UpstreamClient(self._host, self._port, self.ready)
        self._pid = 0
        self._exited: asyncio.Future[int] = loop.create_future()
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Starts fprocess and waits until it accepts connections, so the lock file (and
        with it Swarm's idea of a ready replica) only appears once requests can succeed."""
        self._launch()
        await self._wait_ready(fatal=True)
        self._supervisor = self._loop.create_task(self._supervise())

    def _launch(self) -> None:
        with open(os.devnull, "rb") as devnull:
            self._pid = spawn(self._config.argv, os.environ, devnull.fileno(), 1, 2)
        self._exited = self._reaper.watch(self._pid)
        log(f"Started fprocess (pid {self._pid}), upstream {self._host}:{self._port}.")

    async def _wait_ready(self, fatal: bool) -> None:
        while not self._exited.done():
            try:
                _, writer = await asyncio.open_connection(self._host, self._port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            self.ready.set()
            return
        if fatal:
            raise ConfigError(
                f"fprocess exited with status {self._exited.result()} before accepting "
                f"connections on {self._host}:{self._port}"
            )

    async def _supervise(self) -> None:
        delay = 0.1
        while not self._stopping:
            code = await self._exited
            self.ready.clear()
            self._client.drop_idle()
            if self._stopping:
                return
            log(f"fprocess exited with status {code}; restarting in {delay:g}s.")
            await asyncio.sleep(delay)
            started = time.monotonic()
            self._launch()
            await self._wait_ready(fatal=False)
            # A process that keeps dying young backs off, up to 5 s between starts.
            delay = 0.1 if time.monotonic() - started > 10 else min(delay * 2, 5.0)

    async def stop(self) -> None:
        self._stopping = True
        self._client.drop_idle()
        kill_group(self._pid, self._exited, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(self._exited), 5.0)
        except asyncio.TimeoutError:  # noqa: UP041 - distinct from TimeoutError before 3.11
            kill_group(self._pid, self._exited)
        if self._supervisor is not None:
            self._supervisor.cancel()

    async def handle(self, request: Request, conn: Connection) -> None:
        started = time.monotonic()
        timeout = self._config.exec_timeout
        try:
            if timeout:
                await asyncio.wait_for(self._proxy(request, conn, started), timeout)
            else:
                await self._proxy(request, conn, started)
        except asyncio.TimeoutError:  # noqa: UP041 - distinct from TimeoutError before 3.11
            log(f"Upstream timed out after exec_timeout ({timeout:g}s).")
            self._answer_failure(conn, 504, f"upstream timed out after {timeout:g}s\n", started)
        except UpstreamError as exc:
            log(f"Upstream error: {exc}")
            self._answer_failure(conn, 502, f"{exc}\n", started)

    def _answer_failure(self, conn: Connection, status: int, text: str, started: float) -> None:
        if conn.response_started:
            conn.abort()
            return
        duration = f"{time.monotonic() - started:f}"
        conn.respond(status, text.encode(), [("X-Duration-Seconds", duration)], close=True)

    async def _proxy(self, request: Request, conn: Connection, started: float) -> None:
        response = await self._client.send(request)
        complete = False
        try:
            status = response.status
            no_body = request.method == "HEAD" or status in (204, 304) or status < 200
            headers = [*response.headers, ("X-Duration-Seconds", f"{time.monotonic() - started:f}")]
            length = response.framing if response.framing >= 0 else None
            conn.start_response(response.status, headers, length)
            if length is None:
                conn.flush()  # a streamed response: the client may want the head early
            if not no_body:
                try:
                    async for part in response.body():
                        conn.write(part)
                        await conn.drain()
                except (ConnectionResetError, asyncio.IncompleteReadError, ValueError) as exc:
                    if conn.closing:
                        raise
                    raise UpstreamError(f"upstream broke off its response: {exc!r}") from exc
            conn.end_response()
            complete = True
        finally:
            response.release(complete)
