"""Scale to zero: functions labelled `com.openfaas.scale.zero=true` sleep when idle.

Idle means no request started or in flight for the function's
`com.openfaas.scale.zero-duration` (default 15m). The first request afterwards
wakes it through the waker; nothing here needs to know about that.
"""

from __future__ import annotations

from faasbox.functions import Function
from faasbox.metrics import Metrics
from faasbox.scaling.policy import Policy
from faasbox.scaling.scaler import Scaler
from faasbox.scaling.window import Windows


class Idler:
    def __init__(self, windows: Windows, metrics: Metrics, scaler: Scaler) -> None:
        self._windows = windows
        self._metrics = metrics
        self._scaler = scaler

    async def check(self, function: Function, policy: Policy, now: float) -> None:
        name = function.name
        if self._scaler.paused(name, now):
            self._windows.touch(name, now)  # a person's choice of replicas counts as use
            return
        if not policy.zero or function.replicas == 0:
            return
        idle = self._windows.idle_for(name, now)
        # The live counter, not the sample: a request may have arrived since the tick began.
        if idle < policy.idle or self._metrics.inflight.get(name, 0) > 0:
            return
        await self._scaler.set(name, 0, "idle", f"no requests for {idle:.0f} s")
