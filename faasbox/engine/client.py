"""A thin door to the Docker Engine API.

aiodocker gives the transport (unix socket, tcp, TLS from DOCKER_* variables)
through its public surface only: the `session` it builds for the engine's
address, `docker_host` (the URL base for that session), `version()` (which
settles `api_version`) and `utils.httpize` (Docker's query-string encoding).
Requests go through that session here, so the raw API is reached without
aiodocker's private `_query`. This wrapper gives the rest of `engine/` one way
to call the raw API and one set of errors, so no other module imports aiodocker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiodocker
import aiohttp
import orjson
from aiodocker.utils import httpize

from faasbox.engine.errors import EngineError, EngineUnavailable

_DEFAULT_SOCKET = "unix:///var/run/docker.sock"
_CONNECTION_ERROR = 900  # aiodocker's status for "could not connect"
_JSON = "application/json"


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
        self._versioned: str | None = None

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
            self._versioned = None

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
            docker, base = await self._base()
            request_headers = {"Content-Type": _JSON, **(headers or {})}
            async with docker.session.request(
                method,
                f"{base}/{path}",
                params=httpize(params),
                data=data,
                headers=request_headers,
                timeout=client_timeout,
            ) as response:
                if response.status >= 400:
                    raise _api_error(response.status, response.content_type, await response.read())
                # A stream whose reader stopped early (a caller hung up) is released here,
                # which closes its engine connection.
                try:
                    yield response
                finally:
                    response.release()
        except aiodocker.DockerError as exc:
            if exc.status == _CONNECTION_ERROR:
                raise EngineUnavailable(f"Docker Engine is not reachable: {exc.message}") from None
            raise ApiError(exc.status, exc.message) from None
        except aiohttp.ClientConnectorError as exc:
            raise EngineUnavailable(f"Docker Engine is not reachable: {exc}") from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise EngineUnavailable(f"lost the connection to Docker Engine: {exc}") from None
        except TimeoutError:
            raise EngineUnavailable(
                f"Docker Engine did not answer {method} {path} in time"
            ) from None

    async def _base(self) -> tuple[aiodocker.Docker, str]:
        """The client and the versioned URL base; the first call settles the API version
        with the engine (`version()` does that in aiodocker, once)."""
        docker = self._client()
        if self._versioned is None:
            await docker.version()
            self._versioned = f"{docker.docker_host}/{docker.api_version}"
        return docker, self._versioned


def _api_error(status: int, content_type: str, body: bytes) -> ApiError:
    """Docker's error answer: `{"message": ...}` as JSON, or plain text from a proxy."""
    text = body.decode("utf8", errors="replace")
    if content_type == _JSON:
        return ApiError(status, str(orjson.loads(body).get("message", text)))
    return ApiError(status, text)
