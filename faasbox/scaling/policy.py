"""How many replicas a function should have: pure decisions, no clocks read and no I/O.

Two rules, chosen per function by its labels (read by faasbox.labels):

- the OpenFaaS rule (default): more than `threshold` successful requests per second over
  the window, held for `hold` seconds, steps replicas up by `ceil(max * factor / 100)`;
  when the rate falls back the alert resolves and replicas return to min. faasbox sends
  the same decisions whether the alert comes from its own loop or from AlertManager.
- the target rule (`com.openfaas.scale.target=N`): replicas = ceil(concurrency / N) over
  the window, so a fork-per-request function grows as soon as requests pile up, before
  they queue, and shrinks only once a whole window has asked for less.

Idling (`com.openfaas.scale.zero=true`) has two tiers: after `zero-duration` without
requests the replicas are paused, after `com.faasbox.scale.zero-duration` more they go
to zero (docs/scaling.md explains the defaults).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from faasbox.labels import ScalePolicy


def alert_replicas(firing: bool, current: int, policy: ScalePolicy) -> int:
    """The OpenFaaS alert handler's arithmetic: a firing alert adds one step up to max;
    a resolved one (or a step of zero) goes back to min, though never below one replica."""
    if firing and policy.step > 0:
        return min(current + policy.step, policy.max)
    return policy.floor


def target_replicas(loads: Iterable[float], policy: ScalePolicy) -> int:
    """Replicas for the busiest moment of the window at `policy.target` requests each.
    Loads are sums of float durations: rounding first keeps 2.0000000000000004 from
    costing a replica."""
    assert policy.target is not None
    peak = max(loads, default=0.0)
    return policy.clamp(math.ceil(round(peak / policy.target, 6)))


class Alert(Enum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass
class RateAlert:
    """Prometheus's `for:` and AlertManager's repeat, for one function, without either.

    Fires once the rate has stayed above the threshold for `hold` seconds, fires again
    every `repeat` seconds while it stays there (each firing is one more step), and
    resolves the first time the rate is back at or below the threshold.
    """

    threshold: float
    hold: float
    repeat: float
    above_since: float | None = None
    fired_at: float | None = None

    @property
    def firing(self) -> bool:
        return self.fired_at is not None

    def update(self, rate: float, now: float) -> Alert | None:
        if rate <= self.threshold:
            self.above_since = None
            if self.fired_at is None:
                return None
            self.fired_at = None
            return Alert.RESOLVED
        if self.above_since is None:
            self.above_since = now
        if now - self.above_since < self.hold:
            return None
        if self.fired_at is None or now - self.fired_at >= self.repeat:
            self.fired_at = now
            return Alert.FIRING
        return None

    def held_for(self, now: float) -> float:
        return 0.0 if self.above_since is None else now - self.above_since
