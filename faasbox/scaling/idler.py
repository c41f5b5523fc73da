"""Idling in two tiers: functions labelled `com.openfaas.scale.zero=true` are paused when
idle, and go to zero when they stay idle.

Idle means no request started or in flight. After `com.openfaas.scale.zero-duration`
(default 5m) the replicas are frozen; after `com.faasbox.scale.zero-duration` more
(default 15m), or as soon as the machine is short of memory, the service goes to
zero replicas. With `com.faasbox.scale.pause=false`, or where the engine cannot pause,
the first duration goes straight to zero, as in OpenFaaS. The first request
afterwards wakes the function through the waker; nothing here needs to know about that.
"""

from __future__ import annotations

from faasbox.functions.view import Function
from faasbox.labels import ScalePolicy
from faasbox.metrics import Metrics
from faasbox.scaling.memory import MemoryWatch
from faasbox.scaling.pauser import Pauser
from faasbox.scaling.scaler import Scaler
from faasbox.scaling.window import Windows


class Idler:
    def __init__(
        self,
        windows: Windows,
        metrics: Metrics,
        scaler: Scaler,
        pauser: Pauser,
        memory: MemoryWatch,
    ) -> None:
        self._windows = windows
        self._metrics = metrics
        self._scaler = scaler
        self._pauser = pauser
        self._memory = memory
        self._asleep: set[str] = set()  # functions last seen with every replica paused

    def keep_only(self, names: set[str]) -> None:
        """Forget functions that are gone."""
        self._asleep &= names

    async def check(self, function: Function, policy: ScalePolicy, now: float) -> None:
        name = function.name
        if function.tier == "paused":
            self._asleep.add(name)
        elif name in self._asleep:
            # Running again: woken by a call, or unpaused or replaced behind our back.
            # Either way its idle time starts over instead of freezing it at once.
            self._asleep.discard(name)
            self._windows.touch(name, now)
        held = self._scaler.held(name, now)
        if held:
            self._windows.touch(name, now)  # a person's choice of replicas counts as use
        idle = self._windows.idle_for(name, now)
        # The live counter, not the sample: a request may have arrived since the tick began.
        busy = idle < policy.idle or self._metrics.inflight.get(name, 0) > 0
        if busy and function.paused and function.endpoints:
            await self._pauser.thaw_all(name)  # scaled up, or thawed in part: all run
        if held or busy or not policy.zero or function.replicas == 0:
            return
        why = f"no requests for {idle:.0f} s"
        short = self._memory.short(now)
        if short is not None:
            why += f", memory short ({short:.0%} available)"
        elif policy.pause and self._pauser.possible and idle < policy.idle + policy.asleep:
            if function.endpoints and await self._pauser.pause(name, why):
                self._asleep.add(name)
            if self._pauser.possible:
                return
        await self._scaler.set(name, 0, "idle", why)
