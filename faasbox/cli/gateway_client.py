"""The HTTP client for a faasbox or OpenFaaS gateway, with faas-cli's gateway and login rules.

aiohttp rather than httpx: aiodocker already brings it, the builder is async
anyway (it streams to the engine), and one event loop serves both.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any

import aiohttp
import orjson

from faasbox.cli import openfaas_config
from faasbox.cli.errors import GatewayError, Unauthorized

DEFAULT_GATEWAY = "http://127.0.0.1:8080"
OK = (200, 201, 202)


def resolve_gateway(flag: str | None, stack_gateway: str = "") -> str:
    """--gateway, then the stack's provider.gateway, then $OPENFAAS_URL, then the default."""
    for candidate in (flag, stack_gateway, os.environ.get("OPENFAAS_URL")):
        if candidate and openfaas_config.normalise(candidate) != DEFAULT_GATEWAY:
            return openfaas_config.normalise(candidate)
    return DEFAULT_GATEWAY


def message_of(body: bytes) -> str:
    """faasbox answers {"message": ...}; OpenFaaS answers plain text."""
    text = body.decode(errors="replace").strip()
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return text
    if isinstance(decoded, dict) and isinstance(decoded.get("message"), str):
        return str(decoded["message"])
    return text


class Gateway:
    """One session per command; credentials come from the saved login unless given."""

    def __init__(
        self, url: str, auth: tuple[str, str] | None = None, timeout: float = 60.0
    ) -> None:
        self.url = url
        credentials = auth or openfaas_config.lookup(url)
        self._auth = aiohttp.BasicAuth(*credentials) if credentials else None
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Gateway:
        self._session = aiohttp.ClientSession(timeout=self._timeout, auto_decompress=False)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        system: bool = True,
    ) -> tuple[int, bytes]:
        """Status and body; 401 and connection failures become GatewayError here."""
        assert self._session is not None
        if body is not None:
            data = orjson.dumps(body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        try:
            async with self._session.request(
                method,
                self.url + path,
                params=params,
                data=data,
                headers=headers,
                auth=self._auth if system else None,
                allow_redirects=False,
            ) as response:
                payload = await response.read()
        except aiohttp.ClientConnectionError as exc:
            raise GatewayError(f"cannot reach the gateway at {self.url}: {_reason(exc)}") from None
        except TimeoutError:
            raise GatewayError(f"the gateway at {self.url} did not answer in time") from None
        if response.status == 401 and system:
            raise self._unauthorized()
        return response.status, payload

    def _unauthorized(self) -> Unauthorized:
        return Unauthorized(
            f"the gateway at {self.url} refused the credentials (401): "
            f"run `faasbox login -g {self.url}`"
        )

    async def expect(self, method: str, path: str, what: str, **kwargs: Any) -> bytes:
        status, payload = await self.call(method, path, **kwargs)
        if status not in OK:
            raise GatewayError(f"{what}: {message_of(payload) or 'no reason given'} ({status})")
        return payload

    async def lines(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        what: str = "logs",
        method: str = "GET",
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[bytes]:
        """A streamed NDJSON answer, line by line, as the gateway flushes it."""
        assert self._session is not None
        try:
            async with self._session.request(
                method, self.url + path, params=params, data=data, headers=headers, auth=self._auth
            ) as response:
                if response.status == 401:
                    raise self._unauthorized()
                if response.status != 200:
                    body = await response.read()
                    raise GatewayError(f"{what}: {message_of(body)} ({response.status})")
                async for line in response.content:
                    if line.strip():
                        yield line
        except aiohttp.ClientConnectionError as exc:
            raise GatewayError(f"cannot reach the gateway at {self.url}: {_reason(exc)}") from None


def _reason(exc: aiohttp.ClientConnectionError) -> str:
    cause = getattr(exc, "os_error", None)
    return str(getattr(cause, "strerror", None) or cause or exc)
