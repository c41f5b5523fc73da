"""The one door through which scaling changes replicas.

The autoscaler, the idler, the waker and AlertManager's webhook all come through
here, so each change is made once per function at a time, logged once with its
reason and counted in `faasbox_scale_decisions`. Because every change of ours is
known, any other change the view reports (`/system/scale-function`, `docker service
scale`) is a person's, and automatic decisions for that function pause for a window.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

from faasbox.engine import services
from faasbox.functions import Function
from faasbox.runtime import Runtime

log = logging.getLogger("faasbox.scaling")


class Scaler:
    def __init__(self, runtime: Runtime, pause: float) -> None:
        self._runtime = runtime
        self._pause = pause
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._ours: dict[str, int] = {}  # replicas as last set or seen, per function
        self._paused_until: dict[str, float] = {}
        runtime.functions.listen(self._changed)

    async def set(self, name: str, replicas: int, reason: str, why: str) -> bool:
        """Scale `name` to `replicas` unless it is there already; True when it changed."""
        async with self._locks[name]:
            function = self._runtime.functions.get(name)
            if function is None or function.replicas == replicas:
                return False
            rt = self._runtime
            await services.scale(rt.engine, name, rt.network_id, replicas)
            self._ours[name] = replicas
            log.info("[scale] %s %d->%d: %s", name, function.replicas, replicas, why)
            rt.metrics.scale_decisions[name, reason] += 1
            await rt.functions.sync(name)
        return True

    def paused(self, name: str, now: float) -> bool:
        """True while a manual change is still inside its window."""
        return now < self._paused_until.get(name, 0.0)

    def _changed(self, name: str, function: Function | None) -> None:
        if function is None:
            for table in (self._ours, self._paused_until):
                table.pop(name, None)
            if not self._locks[name].locked():
                del self._locks[name]
            return
        if self._locks[name].locked():
            return  # our own change, still being made
        known = self._ours.setdefault(name, function.replicas)
        if function.replicas != known:
            self._ours[name] = function.replicas
            self._paused_until[name] = time.monotonic() + self._pause
            log.info(
                "[scale] %s %d->%d by hand; automatic decisions wait %.0f s",
                name,
                known,
                function.replicas,
                self._pause,
            )
