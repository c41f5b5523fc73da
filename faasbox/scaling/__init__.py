"""Scaling: the autoscaler and idler loop, scale from zero, and the one door they scale through.

`Scaling` is what the app's lifespan starts and stops, what the gateway asks to wake a
function, and what /system/alert hands AlertManager's decisions to.
"""

from __future__ import annotations

from faasbox.runtime import Runtime
from faasbox.scaling.autoscaler import Autoscaler
from faasbox.scaling.scaler import Scaler
from faasbox.scaling.waker import Waker, WakeTimeout

__all__ = ["Scaling", "WakeTimeout"]


class Scaling:
    def __init__(self, runtime: Runtime) -> None:
        self.scaler = Scaler(runtime, pause=runtime.settings.scale_window)
        self.autoscaler = Autoscaler(runtime, self.scaler)
        self.waker = Waker(runtime, self.scaler)

    async def start(self) -> None:
        await self.autoscaler.start()

    async def stop(self) -> None:
        await self.autoscaler.stop()
        await self.waker.stop()
