"""Keep-alive connections to replicas, one idle stack per address, shared by the process.

A new TCP connection costs more than the rest of a proxied request, so connections
are reused, but only when their last answer was read to the end (a half-read one
would hand the next request the previous body). Idle connections are capped per
replica and are closed at once when their replica leaves the functions view. They
expire well before a watchdog drops them (30 s idle, or the function's read_timeout):
a request written to a connection the replica is closing at that moment is lost,
and a POST cannot be written again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from faasbox.gateway.upstream import Upstream

FUNCTION_PORT = 8080
CONNECT_TIMEOUT = 2.0
IDLE_TIMEOUT = 15.0
MAX_IDLE_PER_REPLICA = 128


class Pool:
    """Idle connections keyed by replica address, most recently used first out."""

    def __init__(
        self,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        max_idle: int = MAX_IDLE_PER_REPLICA,
        port: int = FUNCTION_PORT,
    ) -> None:
        self._idle: dict[str, list[Upstream]] = {}
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self._max_idle = max_idle
        self._port = port
        self._pruner: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._pruner = asyncio.create_task(self._prune_forever(), name="upstream-pool-prune")

    async def close(self) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruner
        for address in list(self._idle):
            self.drop(address)

    @property
    def size(self) -> int:
        return sum(len(stack) for stack in self._idle.values())

    def idle(self, address: str, fresh_after: float) -> Upstream | None:
        """A live idle connection to `address` last used after `fresh_after` (monotonic
        seconds), if one is kept; older ones are closed on the way."""
        stack = self._idle.get(address)
        while stack:
            conn = stack.pop()
            if conn.closed:
                continue
            if conn.idle_since < fresh_after:
                conn.close()
                continue
            return conn
        return None

    async def connect(self, address: str) -> Upstream:
        """A new connection; OSError or TimeoutError when the replica cannot be reached."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.connect_timeout):
            _, conn = await loop.create_connection(lambda: Upstream(address), address, self._port)
        return conn

    def release(self, conn: Upstream, *, keep: bool) -> None:
        """Keep the connection for the next request to its replica, or close it."""
        conn.finish()
        stack = self._idle.get(conn.address)
        if not keep or not conn.reusable or stack is None or len(stack) >= self._max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        stack.append(conn)

    def admit(self, address: str) -> None:
        """Allow idle connections to this replica (it is in the functions view)."""
        self._idle.setdefault(address, [])

    def drop(self, address: str) -> None:
        """The replica left: close its idle connections and keep no more."""
        for conn in self._idle.pop(address, ()):
            conn.close()

    async def _prune_forever(self) -> None:
        while True:
            await asyncio.sleep(self.idle_timeout / 2)
            self.prune(time.monotonic() - self.idle_timeout)

    def prune(self, before: float) -> None:
        """Close connections idle since before `before` (monotonic seconds)."""
        for address, stack in self._idle.items():
            self._idle[address] = [c for c in stack if not c.closed and c.idle_since >= before]
            for conn in stack:
                if conn.idle_since < before:
                    conn.close()
