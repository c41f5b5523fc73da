"""The scaling loop: every tick, sample the gateway's counters and let each function's
rule decide, in the process and without Prometheus, so load is answered in seconds.

`FAASBOX_AUTOSCALE=false` leaves decisions to an external AlertManager (through
/system/alert); functions still go to zero when idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from faasbox.engine.errors import EngineError
from faasbox.functions.view import Function
from faasbox.labels import InvalidLabel, ScalePolicy, scale_policy
from faasbox.runtime import Runtime
from faasbox.scaling.idler import Idler
from faasbox.scaling.memory import MemoryWatch
from faasbox.scaling.pauser import Pauser
from faasbox.scaling.policy import Alert, RateAlert, alert_replicas, target_replicas
from faasbox.scaling.scaler import Scaler
from faasbox.scaling.window import Windows

log = logging.getLogger("faasbox.scaling")


class Autoscaler:
    def __init__(self, runtime: Runtime, scaler: Scaler, pauser: Pauser) -> None:
        self._runtime = runtime
        self._settings = runtime.settings
        self._scaler = scaler
        self.windows = Windows(runtime.metrics, runtime.settings.scale_window)
        self._idler = Idler(self.windows, runtime.metrics, scaler, pauser, MemoryWatch())
        self._alerts: dict[str, RateAlert] = {}
        self._refused: dict[str, dict[str, str]] = {}  # labels already reported as bad
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="autoscaler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        """Tick on a fixed schedule, so a slow engine call delays a tick, not all later ones."""
        interval = self._settings.scale_interval
        due = time.monotonic()
        while True:
            due += interval
            await asyncio.sleep(max(due - time.monotonic(), 0.0))
            due = max(due, time.monotonic() - interval)
            await self.tick(time.monotonic())

    async def tick(self, now: float) -> None:
        functions = self._runtime.functions.all()
        self.windows.sample((f.name for f in functions), now)
        names = {f.name for f in functions}
        for gone in set(self._alerts) - names:
            del self._alerts[gone]
        self._idler.keep_only(names)
        for function in functions:
            policy = self._policy(function)
            if policy is None:
                continue
            try:
                if self._settings.autoscale:
                    await self._decide(function, policy, now)
                current = self._runtime.functions.get(function.name)
                if current is not None:
                    await self._idler.check(current, policy, now)
            except EngineError as exc:  # ApiError included
                log.warning("[scale] %s: %s", function.name, exc)

    def _policy(self, function: Function) -> ScalePolicy | None:
        """The function's policy; labels set behind faasbox's back are reported once."""
        try:
            policy = scale_policy(function.labels)
        except InvalidLabel as exc:
            if self._refused.get(function.name) != function.labels:
                self._refused[function.name] = function.labels
                log.warning("[scale] %s not scaled: %s", function.name, exc)
            return None
        self._refused.pop(function.name, None)
        return policy

    async def _decide(self, function: Function, policy: ScalePolicy, now: float) -> None:
        name, current = function.name, function.replicas
        alert = self._alerts.setdefault(
            name,
            RateAlert(
                self._settings.scale_threshold, self._settings.scale_hold, self.windows.length
            ),
        )
        rate = self.windows.rate(name)
        event = alert.update(rate, now)  # keep the alert's clock running while paused
        if current == 0 or policy.pinned or self._scaler.held(name, now):
            return  # asleep (the waker's business), pinned by min = max, or set by hand
        if policy.target is not None:
            loads = self.windows.loads(name)
            wanted = target_replicas(loads, policy)
            reason = "target-up" if wanted > current else "target-down"
            why = (
                f"peak {max(loads, default=0.0):.1f} in flight over "
                f"{self.windows.length:.0f} s, target {policy.target} per replica"
            )
        elif event is Alert.FIRING:
            wanted = alert_replicas(True, current, policy)
            reason = "rate-firing"
            why = (
                f"rate {rate:.1f} rps > {self._settings.scale_threshold:g} "
                f"for {alert.held_for(now):.0f} s"
            )
        elif event is Alert.RESOLVED:
            wanted = alert_replicas(False, current, policy)
            reason = "rate-resolved"
            why = f"rate {rate:.1f} rps <= {self._settings.scale_threshold:g}"
        else:
            return
        await self._scaler.set(name, wanted, reason, why)
