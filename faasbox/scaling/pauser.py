"""The pause tier: freezing an idle function's replicas and thawing them on demand.

A frozen replica keeps its memory, address and listening socket, so thawing one
answers in tens of milliseconds where a start from zero takes about a second. One
lock per function orders freezes and thaws, so a call that arrives while its
function is being frozen waits for the freeze to finish and is then answered by a
thaw, never by a container that is about to stop.

Where the engine cannot freeze (a rootless engine on cgroup v1, a kernel without the
freezer) the first failure is logged once and `possible` turns False: idle functions
then go to zero as in OpenFaaS.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from faasbox.engine import containers
from faasbox.engine.errors import CannotPause, EngineError
from faasbox.functions.view import Function, Replica
from faasbox.runtime import Runtime

log = logging.getLogger("faasbox.scaling")


class Pauser:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._thawing: set[asyncio.Task[None]] = set()
        self.possible = True
        runtime.functions.listen(self._changed)

    async def pause(self, name: str, why: str) -> bool:
        """Freeze every ready replica of `name`; False when a call is already on its way
        to one (it would hang until the next wake), or when pausing is impossible here."""
        view, metrics = self._runtime.functions, self._runtime.metrics
        async with self._locks[name]:
            held = view.hold(name)
            if not held:
                return False
            frozen: list[Replica] = []
            try:
                # Held replicas get no new calls; one counted in flight may already be
                # connected to a replica, so freezing now could strand it.
                if metrics.inflight.get(name, 0) > 0:
                    return False
                for replica in held:
                    if await containers.pause(self._runtime.engine, replica.container_id):
                        frozen.append(replica)
            except CannotPause as exc:
                self._impossible(exc)
                for replica in frozen:
                    await containers.unpause(self._runtime.engine, replica.container_id)
                return False
            finally:
                view.release(held)
                await self._runtime.functions_sync.sync(name)
        if not frozen:
            return False
        log.info("[scale] %s paused %d replica(s): %s", name, len(frozen), why)
        metrics.scale_decisions[name, "pause"] += 1
        return True

    async def thaw_one(self, name: str) -> bool:
        """Thaw one paused replica and count it ready at once; the others follow in the
        background, so the waiting calls need only the first. False when none could be
        thawed (gone from this node, or another call's thaw came first)."""
        view = self._runtime.functions
        async with self._locks[name]:
            function = view.get(name)
            if function is None or function.endpoints:
                return False
            for replica in sorted(function.paused, key=lambda r: not r.up_to_date):
                if await containers.unpause(self._runtime.engine, replica.container_id):
                    function = view.thawed(name, replica)
                    break
            else:
                return False
        if function is not None and function.paused:
            task = asyncio.create_task(self.thaw_all(name), name=f"thaw-{name}")
            self._thawing.add(task)
            task.add_done_callback(self._thawing.discard)
        self._runtime.metrics.scale_decisions[name, "unpause"] += 1
        return True

    async def thaw_all(self, name: str) -> None:
        """Thaw every paused replica of `name`: before its replicas change (Swarm waits
        out the stop timeout on a frozen container, which cannot see SIGTERM) and when
        some run again while others are still frozen."""
        view = self._runtime.functions
        async with self._locks[name]:
            function = view.get(name)
            if function is None or not function.paused:
                return
            try:
                for replica in function.paused:
                    if await containers.unpause(self._runtime.engine, replica.container_id):
                        view.thawed(name, replica)
                await self._runtime.functions_sync.sync(name)
            except EngineError as exc:
                log.warning("[scale] %s: could not unpause: %s", name, exc)

    async def stop(self) -> None:
        for task in list(self._thawing):
            task.cancel()
        await asyncio.gather(*self._thawing, return_exceptions=True)

    def _changed(self, name: str, function: Function | None) -> None:
        if function is None and name in self._locks and not self._locks[name].locked():
            del self._locks[name]

    def _impossible(self, exc: CannotPause) -> None:
        if self.possible:
            log.warning(
                "[scale] pausing is not possible on this engine (%s); idle functions go "
                "to zero instead",
                exc,
            )
        self.possible = False
