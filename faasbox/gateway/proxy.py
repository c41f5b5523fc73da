"""The invoke path: `/function/<name>[/path]` forwarded to a ready replica and back.

The server protocol hands these requests over before any ASGI or Starlette work, so
the work per request is what `gateway/call.py` does: find the function's route (made
when the functions view changed), claim the least busy replica below its cap, write
one request to a pooled connection, relay the bodies both ways, count the call.
Docker is never called on this path. Errors are short plain text, with the codes of
the OpenFaaS contract: 404 unknown function, 503 no ready replica, 502 when the
replica fails or times out.
"""

from __future__ import annotations

import asyncio
import contextlib

from faasbox.functions.view import Function
from faasbox.gateway.balancer import Balancer
from faasbox.gateway.call import Call, Caller
from faasbox.gateway.pool import Pool
from faasbox.runtime import Runtime
from faasbox.scaling.waker import Waker

PREFIX = b"/function/"
# How often running calls are checked against their deadlines: timeouts are seconds, and
# one sweep costs less than a timer armed and cancelled per call.
SWEEP_EVERY = 0.1


class Gateway:
    """Routes, the upstream pool and the limits every call of this process shares."""

    def __init__(self, runtime: Runtime, waker: Waker | None = None) -> None:
        settings = runtime.settings
        self.waker = waker
        self.functions = runtime.functions
        self.metrics = runtime.metrics
        self.pool = Pool(idle_timeout=settings.upstream_idle_timeout)
        self.balancer = Balancer(
            cap=settings.max_calls_per_replica, idle_timeout=settings.upstream_idle_timeout
        )
        self.max_queued = settings.max_queued_calls
        self.suffix = "." + settings.namespace
        self.max_body = settings.max_body_size
        self.read_timeout = settings.read_timeout if settings.read_timeout > 0 else 0.0
        # Reading the caller's body is bounded by read_timeout; the whole exchange, answer
        # included, by upstream_timeout (as Go's client timeout does) and write_timeout.
        limits = [t for t in (settings.write_timeout, settings.upstream_timeout) if t > 0]
        self.exchange_timeout = min(limits) if limits else 0.0
        self.loop = asyncio.get_event_loop()
        self.calls: set[Call] = set()
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        for function in self.functions.all():
            self._on_change(function.name, function)
        self.functions.listen(self._on_change)
        self.metrics.pool_size = lambda: self.pool.size
        self.pool.start()
        self._sweeper = self.loop.create_task(self._sweep(), name="gateway-deadlines")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.pool.close()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            now = self.loop.time()
            for call in list(self.calls):
                call.expire(now)

    def _on_change(self, name: str, function: Function | None) -> None:
        """Replicas that leave stop getting new calls now; their idle connections close,
        calls already on them finish on their own connection. Calls waiting for a free
        replica try the new ones."""
        added, gone = self.balancer.update(name, function)
        for address in added:
            self.pool.admit(address)
        for address in gone:
            self.pool.drop(address)
        route = self.balancer.routes.get(name)
        if added and route is not None:
            for _ in range(min(len(route.waiters), len(added) * route.cap)):
                self.loop.call_soon(route.waiters.popleft())

    def open(
        self,
        caller: Caller,
        method: bytes,
        url: bytes,
        headers: list[tuple[bytes, bytes]],
        client: tuple[str, int] | None,
        *,
        keep_alive: bool,
        http11: bool,
        continue_100: bool,
    ) -> Call:
        """A call for a request whose URL starts with PREFIX, to be started by its caller."""
        rest = url[len(PREFIX) :]
        cut = len(rest)
        for mark in (b"/", b"?"):
            at = rest.find(mark)
            if 0 <= at < cut:
                cut = at
        name = rest[:cut].decode("latin-1")
        target = rest[cut:]
        if not target.startswith(b"/"):
            target = b"/" + target
        if name.endswith(self.suffix):
            name = name[: -len(self.suffix)]
        route = self.balancer.routes.get(name) if name else None
        return Call(
            self,
            caller,
            name,
            route,
            method,
            target,
            headers,
            client,
            keep_alive=keep_alive,
            http11=http11,
            continue_100=continue_100,
        )
