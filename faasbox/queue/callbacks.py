"""POSTing a call's result to its `X-Callback-Url`, with a few tries and back-off.

A callback that still fails is logged and counted, never raised: the call was
delivered, and a broken receiver must not hold the function's queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import aiohttp
from yarl import URL

from faasbox import __version__
from faasbox.metrics import Metrics

log = logging.getLogger("faasbox.queue")

_FIRST_WAIT = 0.5
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# Headers of the function's answer that describe its connection or encoding, not the result.
_NOT_PASSED = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "date",
        "server",
        "trailer",
        "upgrade",
    }
)
USER_AGENT = f"faasbox-queue/{__version__}"


class Callbacks:
    def __init__(self, metrics: Metrics, *, attempts: int, timeout: float) -> None:
        self._metrics = metrics
        self._attempts = max(1, attempts)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._client: aiohttp.ClientSession | None = None

    def start(self) -> None:
        self._client = aiohttp.ClientSession(
            timeout=self._timeout,
            auto_decompress=False,
            skip_auto_headers=("Accept", "Accept-Encoding", "Content-Type"),
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def send(
        self,
        url: str,
        function: str,
        body: bytes,
        answer_headers: Iterable[tuple[str, str]],
        extra: dict[str, str],
    ) -> bool:
        headers = [(k, v) for k, v in answer_headers if k.lower() not in _NOT_PASSED]
        ours = {k.lower() for k in extra} | {"user-agent"}
        headers = [(k, v) for k, v in headers if k.lower() not in ours]
        headers += [*extra.items(), ("User-Agent", USER_AGENT)]
        assert self._client is not None
        wait = _FIRST_WAIT
        problem = ""
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(wait)
                wait *= 2
            try:
                async with self._client.post(
                    url, data=body, headers=headers, allow_redirects=False
                ) as response:
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            if 200 <= status < 300:
                return True
            problem = f"answered {status}"
            if status not in _RETRY_STATUS:
                break
        self._metrics.async_callback_failures[function] += 1
        log.warning("[queue] callback for %s to %s failed: %s", function, _origin(url), problem)
        return False


def _origin(url: str) -> str:
    """Scheme and host only: a callback URL's path or query may carry a token."""
    parsed = URL(url)
    return f"{parsed.scheme}://{parsed.host}:{parsed.port or ''}".rstrip(":")
