"""The one door through which scaling changes replicas.

The autoscaler, the idler, the waker and AlertManager's webhook all come through
here, so each change is made once per function at a time, logged once with its
reason and counted in `faasbox_scale_decisions`. Because every change of ours is
known, any other change the view reports (`/system/scale-function`, `docker service
scale`) is a person's, and automatic decisions for that function are held for a window.
Paused replicas are thawed before any change: Swarm would wait out the stop timeout on
a frozen container, and new replicas beside frozen ones would serve alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

from faasbox.engine import services
from faasbox.functions.view import Function
from faasbox.runtime import Runtime
from faasbox.scaling.pauser import Pauser

log = logging.getLogger("faasbox.scaling")


class Scaler:
    def __init__(self, runtime: Runtime, pauser: Pauser, hold: float) -> None:
        self._runtime = runtime
        self._pauser = pauser
        self._hold = hold
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._ours: dict[str, int] = {}  # replicas as last set or seen, per function
        self._held_until: dict[str, float] = {}
        runtime.functions.listen(self._changed)

    async def set(self, name: str, replicas: int, reason: str, why: str) -> bool:
        """Scale `name` to `replicas` unless it is there already; True when it changed."""
        async with self._locks[name]:
            function = self._runtime.functions.get(name)
            if function is None or function.replicas == replicas:
                return False
            rt = self._runtime
            if function.paused:
                await self._pauser.thaw_all(name)
            await services.scale(rt.engine, name, rt.network_id, replicas)
            self._ours[name] = replicas
            log.info("[scale] %s %d->%d: %s", name, function.replicas, replicas, why)
            rt.metrics.scale_decisions[name, reason] += 1
            await rt.functions_sync.sync(name)
        return True

    def held(self, name: str, now: float) -> bool:
        """True while a manual change is still inside its window."""
        return now < self._held_until.get(name, 0.0)

    def _changed(self, name: str, function: Function | None) -> None:
        if function is None:
            for table in (self._ours, self._held_until):
                table.pop(name, None)
            if not self._locks[name].locked():
                del self._locks[name]
            return
        if self._locks[name].locked():
            return  # our own change, still being made
        known = self._ours.setdefault(name, function.replicas)
        if function.replicas != known:
            self._ours[name] = function.replicas
            self._held_until[name] = time.monotonic() + self._hold
            log.info(
                "[scale] %s %d->%d by hand; automatic decisions wait %.0f s",
                name,
                known,
                function.replicas,
                self._hold,
            )
