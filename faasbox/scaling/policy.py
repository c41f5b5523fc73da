"""How many replicas a function should have: pure decisions, no clocks read and no I/O.

Two rules, chosen per function by its labels:

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from faasbox.config import ConfigError, parse_duration
from faasbox.deployment import (
    SCALE_TARGET,
    SCALE_ZERO,
    SCALE_ZERO_DURATION,
    InvalidRequest,
    scale_bounds,
)

# faasbox's own labels for the second idle tier, beside OpenFaaS's first one.
SCALE_PAUSE = "com.faasbox.scale.pause"
SCALE_ASLEEP_DURATION = "com.faasbox.scale.zero-duration"
# A paused replica costs no CPU and wakes in tens of ms: pause soon.
DEFAULT_IDLE = 5 * 60.0
# A paused replica still holds its memory: give it back after a quarter of an hour more.
DEFAULT_ASLEEP = 15 * 60.0


@dataclass(frozen=True)
class Policy:
    """A function's scaling labels, checked once."""

    min: int
    max: int
    factor: int
    target: int | None = None
    zero: bool = False
    idle: float = DEFAULT_IDLE  # seconds without requests before the first tier
    pause: bool = True  # False: the first tier is zero, as in OpenFaaS
    asleep: float = DEFAULT_ASLEEP  # seconds paused before zero

    @property
    def step(self) -> int:
        return math.ceil(self.max * self.factor / 100)

    @property
    def floor(self) -> int:
        """The fewest replicas a decision leaves a running function with: going to zero is
        the idler's job (or a person's), never a side effect of a quiet window."""
        return max(self.min, 1)

    @property
    def pinned(self) -> bool:
        return self.min == self.max

    def clamp(self, replicas: int) -> int:
        return min(max(replicas, self.floor), self.max)


def policy_from_labels(labels: Mapping[str, str]) -> Policy:
    """The Policy a function's labels ask for; InvalidRequest names the bad label."""
    low, high, factor = scale_bounds(labels)
    target: int | None = None
    if SCALE_TARGET in labels:
        raw = labels[SCALE_TARGET]
        try:
            target = int(raw)
        except ValueError:
            target = 0
        if target < 1:
            raise InvalidRequest(f"label {SCALE_TARGET}={raw!r} must be a whole number above 0")
    zero = labels.get(SCALE_ZERO, "").strip().lower() == "true"
    pause = labels.get(SCALE_PAUSE, "true").strip().lower()
    if pause not in ("true", "false"):
        raise InvalidRequest(f"label {SCALE_PAUSE}={pause!r} must be true or false")
    return Policy(
        min=low,
        max=high,
        factor=factor,
        target=target,
        zero=zero,
        idle=_duration(labels, SCALE_ZERO_DURATION, DEFAULT_IDLE),
        pause=pause == "true",
        asleep=_duration(labels, SCALE_ASLEEP_DURATION, DEFAULT_ASLEEP),
    )


def _duration(labels: Mapping[str, str], label: str, default: float) -> float:
    if label not in labels:
        return default
    try:
        return parse_duration(labels[label])
    except ConfigError as exc:
        raise InvalidRequest(f"label {label}: {exc}") from None


def alert_replicas(firing: bool, current: int, policy: Policy) -> int:
    """The OpenFaaS alert handler's arithmetic: a firing alert adds one step up to max;
    a resolved one (or a step of zero) goes back to min, though never below one replica."""
    if firing and policy.step > 0:
        return min(current + policy.step, policy.max)
    return policy.floor


def target_replicas(loads: Iterable[float], policy: Policy) -> int:
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
