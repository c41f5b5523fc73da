"""A thin door to the Docker Engine API.

aiodocker gives the transport (unix socket, tcp, TLS from DOCKER_* variables);
this wrapper gives the rest of `engine/` one way to call the raw API and one
set of errors, so no other module imports aiodocker or aiohttp.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiodocker
import aiohttp
import orjson

from faasbox.engine.errors import EngineError, EngineUnavailable

_DEFAULT_SOCKET = "unix:///var/run/docker.sock"
_CONNECTION_ERROR = 900  # aiodocker's status for "could not connect"


async def json_lines(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    """The objects of one of Docker's NDJSON streams (events, build, push, pull progress)."""
    async for raw in response.content:
        if raw.strip():
            yield orjson.loads(raw)


class ApiError(EngineError):
    """A non-2xx answer from Docker, with its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"[{status}] {message}")
        self.status = status
        self.message = message


class Engine:
    """One connection pool to the engine for the whole process."""

    def __init__(self, docker_host: str | None = None) -> None:
        self._url = docker_host
        self._docker: aiodocker.Docker | None = None

    def _client(self) -> aiodocker.Docker:
        if self._docker is None:
            try:
                self._docker = aiodocker.Docker(url=self._url)
            except ValueError:
                self._docker = aiodocker.Docker(url=_DEFAULT_SOCKET)
        return self._docker

    async def close(self) -> None:
        if self._docker is not None:
            await self._docker.close()
            self._docker = None

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Any:
        """Call the API and decode its JSON answer (None for an empty body)."""
        data = orjson.dumps(body) if body is not None else None
        async with self.stream(
            method, path, params=params, data=data, headers=headers, timeout=timeout
        ) as response:
            raw = await response.read()
        return orjson.loads(raw) if raw.strip() else None

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = 30.0,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The raw response, for streams (events, logs, pulls); None means no timeout."""
        client_timeout = aiohttp.ClientTimeout(
            total=timeout, sock_connect=5.0 if timeout is None else None
        )
        try:
            async with self._client()._query(
                path, method, params=params, data=data, headers=headers, timeout=client_timeout
            ) as response:
                # aiodocker leaves the response to us: released here, a stream whose
                # reader stopped early (a caller hung up) closes its engine connection.
                try:
                    yield response
                finally:
                    response.release()
        except aiodocker.DockerError as exc:
            if exc.status == _CONNECTION_ERROR:
                raise EngineUnavailable(f"Docker Engine is not reachable: {exc.message}") from None
            raise ApiError(exc.status, exc.message) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise EngineUnavailable(f"lost the connection to Docker Engine: {exc}") from None
        except TimeoutError:
            raise EngineUnavailable(
                f"Docker Engine did not answer {method} {path} in time"
            ) from None
