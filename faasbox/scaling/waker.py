"""Waking: the first request for a paused or zeroed function wakes it, and every request
that arrives meanwhile waits for the same replica instead of failing.

One wake per function at a time: the first caller starts it, later callers share its
outcome. A paused function gets one replica thawed (tens of ms); a function at zero is
scaled up (about a second). A replica counts as ready when the watchdog's `/_/health`
answers anything but 503 (images without a watchdog answer 404 once they listen); a
task Swarm calls running may still be starting its server, and a request sent then
would fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from faasbox.engine.errors import EngineError, FunctionNotFound
from faasbox.functions.probe import healthy
from faasbox.functions.view import Function
from faasbox.labels import InvalidLabel, scale_policy
from faasbox.runtime import Runtime
from faasbox.scaling.pauser import Pauser
from faasbox.scaling.scaler import Scaler

log = logging.getLogger("faasbox.scaling")

_POLL = 0.05
_RESYNC = 0.1  # re-read the service this often while no task is running yet


class WakeTimeout(Exception):
    """No replica became ready in time; the message is shown to the caller."""


class Waker:
    def __init__(self, runtime: Runtime, scaler: Scaler, pauser: Pauser) -> None:
        self._runtime = runtime
        self._scaler = scaler
        self._pauser = pauser
        self._timeout = runtime.settings.scale_from_zero_timeout
        self._wakes: dict[str, asyncio.Task[Function]] = {}
        self._changed: dict[str, asyncio.Event] = {}
        runtime.functions.listen(self._on_change)

    async def ready(self, name: str) -> Function:
        """The function once it has a ready replica, waking it if it is paused or at zero.
        Raises FunctionNotFound, or WakeTimeout past `scale_from_zero_timeout`."""
        wake = self._wakes.get(name)
        if wake is None:
            wake = asyncio.create_task(self._wake(name), name=f"wake-{name}")
            self._wakes[name] = wake
            wake.add_done_callback(lambda _: self._wakes.pop(name, None))
        # A caller that goes away must not cancel the wake the others wait for.
        return await asyncio.shield(wake)

    async def stop(self) -> None:
        for wake in list(self._wakes.values()):
            wake.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await wake

    async def _wake(self, name: str) -> Function:
        begin = time.perf_counter()
        changed = self._changed.setdefault(name, asyncio.Event())
        try:
            async with asyncio.timeout(self._timeout):
                tier = await self._rouse(name)
                function = await self._first_ready(name, changed)
        except TimeoutError:
            raise WakeTimeout(
                f"{name} had no ready replica after {self._timeout:g} s; try again shortly"
            ) from None
        finally:
            self._changed.pop(name, None)
        if tier is not None:
            took = time.perf_counter() - begin
            self._runtime.metrics.woke(name, tier, took)
            log.info("[scale] %s woke from %s in %.0f ms", name, tier, took * 1000)
        return function

    async def _rouse(self, name: str) -> str | None:
        """Thaw a paused function or ask for replicas when there are none; the tier this
        call woke it from, or None when there was nothing to do (it is starting)."""
        function = self._runtime.functions.get(name)
        if function is None:
            raise FunctionNotFound(f"function {name} not found")
        tier = function.tier
        if tier == "paused":
            try:
                woken = await self._pauser.thaw_one(name)
            except EngineError as exc:  # the wait below still ends in a replica or a 504
                log.warning("[scale] %s: could not unpause: %s", name, exc)
                woken = False
        elif tier == "zero":
            try:
                replicas = scale_policy(function.labels).floor
            except InvalidLabel:
                replicas = 1  # labels set behind our back; waking still beats failing
            woken = await self._scaler.set(name, replicas, "wake", "request while at zero")
        else:
            woken = False
        if not woken:
            return None
        self._runtime.metrics.wakes[name, tier] += 1
        return tier

    async def _first_ready(self, name: str, changed: asyncio.Event) -> Function:
        view = self._runtime.functions
        last_sync = time.monotonic()
        while True:
            function = view.get(name)
            if function is None:
                raise FunctionNotFound(f"function {name} not found")
            for replica in function.endpoints:
                if await healthy(replica):
                    return function
            for replica in function.starting:
                if await healthy(replica):
                    promoted = view.promote(name, replica)
                    if promoted is not None and promoted.endpoints:
                        return promoted
            if not function.endpoints and time.monotonic() - last_sync >= _RESYNC:
                # Engine events for a new task can lag its start; don't wait on them alone.
                await self._runtime.functions_sync.sync(name)
                last_sync = time.monotonic()
            changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_POLL):
                    await changed.wait()

    def _on_change(self, name: str, function: Function | None) -> None:
        event = self._changed.get(name)
        if event is not None:
            event.set()
