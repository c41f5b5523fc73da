"""Scaling: the autoscaler and idler loop, waking paused and zeroed functions, and the one
door they scale through.

`Scaling` is what the app's lifespan starts and stops, what the gateway asks to wake a
function, and what /system/alert hands AlertManager's decisions to.
"""

from __future__ import annotations

from faasbox.runtime import Runtime
from faasbox.scaling.autoscaler import Autoscaler
from faasbox.scaling.pauser import Pauser
from faasbox.scaling.scaler import Scaler
from faasbox.scaling.waker import Waker, WakeTimeout

__all__ = ["Scaling", "WakeTimeout"]


class Scaling:
    def __init__(self, runtime: Runtime) -> None:
        self.pauser = Pauser(runtime)
        self.scaler = Scaler(runtime, self.pauser, hold=runtime.settings.scale_window)
        self.autoscaler = Autoscaler(runtime, self.scaler, self.pauser)
        self.waker = Waker(runtime, self.scaler, self.pauser)

    async def start(self) -> None:
        await self.autoscaler.start()

    async def stop(self) -> None:
        await self.autoscaler.stop()
        await self.waker.stop()
        await self.pauser.stop()
