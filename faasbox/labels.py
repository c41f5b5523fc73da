"""The scaling labels a function carries, read and checked in one place.

OpenFaaS's `com.openfaas.scale.*` and faasbox's `com.faasbox.scale.*` (docs/scaling.md).
Deployment validation (deployment.py) refuses a request whose labels do not read; the
autoscaler, the idler, the waker and the alert handler read the same labels back off
services, where anyone with access to the engine may have set them. Both go through
`scale_policy`, so a label is accepted, refused and explained the same way everywhere.
The whole-number grammar is also the one annotations with numbers use.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from faasbox.config import ConfigError, parse_duration

SCALE_MIN = "com.openfaas.scale.min"
SCALE_MAX = "com.openfaas.scale.max"
SCALE_FACTOR = "com.openfaas.scale.factor"
SCALE_ZERO = "com.openfaas.scale.zero"
SCALE_ZERO_DURATION = "com.openfaas.scale.zero-duration"
SCALE_TARGET = "com.openfaas.scale.target"
# faasbox's own labels for the second idle tier, beside OpenFaaS's first one.
SCALE_PAUSE = "com.faasbox.scale.pause"
SCALE_ASLEEP_DURATION = "com.faasbox.scale.zero-duration"

DEFAULT_MIN, DEFAULT_MAX, DEFAULT_FACTOR = 1, 20, 20
# The most replicas one function may ask for, by the scale API or by its labels.
MAX_REPLICAS = 1000
# Past any concurrency one replica could serve; the bound keeps a huge label cheap.
MAX_TARGET = 1_000_000
# A paused replica costs no CPU and wakes in tens of ms: pause soon.
DEFAULT_IDLE = 5 * 60.0
# A paused replica still holds its memory: give it back after a quarter of an hour more.
DEFAULT_ASLEEP = 15 * 60.0

_WHOLE = re.compile(r"[0-9]+")


class InvalidLabel(ValueError):
    """A label (or annotation) that does not read; the message names it."""


@dataclass(frozen=True)
class ScalePolicy:
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


def whole_number(
    labels: Mapping[str, str], key: str, default: int, high: int, what: str = "label"
) -> int:
    """ASCII digits only (int() also takes `+5`, `1_0` and other scripts' digits),
    bounded before conversion so a thousand-digit label costs nothing."""
    raw = labels.get(key)
    if raw is None:
        return default
    raw = raw.strip()
    if raw.startswith("-"):
        raise InvalidLabel(f"{what} {key}={raw[:40]!r} must not be negative")
    if not _WHOLE.fullmatch(raw):
        raise InvalidLabel(f"{what} {key}={raw[:40]!r} must be a whole number")
    if len(raw) > len(str(high)) or int(raw) > high:
        raise InvalidLabel(f"{what} {key}={raw[:40]!r} must be between 0 and {high}")
    return int(raw)


def scale_policy(labels: Mapping[str, str]) -> ScalePolicy:
    """The policy a function's labels ask for, refusing what OpenFaaS would silently
    turn into 0 replicas; InvalidLabel names the bad label."""
    low = whole_number(labels, SCALE_MIN, DEFAULT_MIN, MAX_REPLICAS)
    high = whole_number(labels, SCALE_MAX, DEFAULT_MAX, MAX_REPLICAS)
    factor = whole_number(labels, SCALE_FACTOR, DEFAULT_FACTOR, 100)
    if low > high:
        raise InvalidLabel(f"label {SCALE_MIN}={low} is above {SCALE_MAX}={high}")
    pause = labels.get(SCALE_PAUSE, "true").strip().lower()
    if pause not in ("true", "false"):
        raise InvalidLabel(f"label {SCALE_PAUSE}={pause[:40]!r} must be true or false")
    return ScalePolicy(
        min=low,
        max=high,
        factor=factor,
        target=_target(labels),
        zero=labels.get(SCALE_ZERO, "").strip().lower() == "true",
        idle=_duration(labels, SCALE_ZERO_DURATION, DEFAULT_IDLE),
        pause=pause == "true",
        asleep=_duration(labels, SCALE_ASLEEP_DURATION, DEFAULT_ASLEEP),
    )


def _target(labels: Mapping[str, str]) -> int | None:
    if SCALE_TARGET not in labels:
        return None
    try:
        target = whole_number(labels, SCALE_TARGET, 0, MAX_TARGET)
    except InvalidLabel:
        target = 0
    if target < 1:
        raw = labels[SCALE_TARGET].strip()
        raise InvalidLabel(
            f"label {SCALE_TARGET}={raw[:40]!r} must be a whole number above 0, "
            f"at most {MAX_TARGET}"
        )
    return target


def _duration(labels: Mapping[str, str], label: str, default: float) -> float:
    if label not in labels:
        return default
    try:
        return parse_duration(labels[label])
    except ConfigError as exc:
        raise InvalidLabel(f"label {label}: {exc}") from None
