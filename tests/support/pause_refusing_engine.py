"""The real Docker Engine API on a unix socket of its own, except that pausing a container
fails as it does on an engine without a usable cgroup freezer.

A fault injection, scoped to one endpoint: an engine that cannot pause (rootless on
cgroup v1, a kernel without the freezer) cannot be made on the test machine, whose
engine pauses fine. Everything else, streams included, is forwarded byte for byte.
"""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path

import aiohttp
from aiohttp import web

_PAUSE = re.compile(r"^(/v[\d.]+)?/containers/([^/]+)/pause$")
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive", "host"}
# Docker's answer on such an engine (status 500), as users report it.
REFUSAL = "OCI runtime pause failed: cannot toggle freezer: cgroups not configured for container"


class PauseRefusingEngine:
    def __init__(self, socket: Path, engine: str = "/var/run/docker.sock") -> None:
        self.socket = socket
        self._engine = engine
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.refused = 0

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def __enter__(self) -> PauseRefusingEngine:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.UnixConnector(self._engine), timeout=aiohttp.ClientTimeout()
        )
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.UnixSite(self._runner, str(self.socket)).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        match = _PAUSE.match(request.path)
        if request.method == "POST" and match:
            self.refused += 1
            message = f"Cannot pause container {match.group(2)}: {REFUSAL}: unknown"
            return web.json_response({"message": message}, status=500)
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with self._session.request(
            request.method,
            f"http://docker{request.path_qs}",
            headers=headers,
            data=await request.read() if request.can_read_body else None,
        ) as upstream:
            response = web.StreamResponse(
                status=upstream.status,
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP},
            )
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
