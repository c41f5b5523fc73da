"""When a failed delivery is tried again: OpenFaaS's retry labels, back-off with jitter.

faasbox's own failures (the function could not be reached, had no ready replica, or the
gateway answered for it) are always retried. The function's own status codes are retried
only for functions that opted in with any `com.openfaas.retry.*` label or annotation;
what they leave out takes the defaults.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from faasbox.config import ConfigError, parse_duration
from faasbox.engine.spec import ANNOTATION_PREFIX

ATTEMPTS = "com.openfaas.retry.attempts"
CODES = "com.openfaas.retry.codes"
MIN_WAIT = "com.openfaas.retry.min_wait"
MAX_WAIT = "com.openfaas.retry.max_wait"
CONCURRENCY = "com.faasbox.async.concurrency"
DEFAULT_CODES = frozenset({408, 429, 500, 502, 504})
# A Retry-After longer than this is taken as this (a function cannot park a call for days).
MAX_RETRY_AFTER = 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 10
    codes: frozenset[int] = DEFAULT_CODES
    min_wait: float = 10.0
    max_wait: float = 120.0
    on_status: bool = False

    def retries(self, status: int) -> bool:
        return self.on_status and status in self.codes

    def delay(self, retry: int, retry_after: str | None) -> float:
        """Exponential from min_wait to max_wait, jittered over its upper half, so calls
        that failed together do not come back together; a Retry-After wins when longer."""
        ceiling = min(self.max_wait, self.min_wait * 2 ** min(retry, 30))
        wait = random.uniform(ceiling / 2, ceiling)
        if retry_after and retry_after.strip().isdigit():
            wait = max(wait, min(float(retry_after), MAX_RETRY_AFTER))
        return wait


def label(labels: Mapping[str, str], name: str) -> str | None:
    """A setting given as a label or as an annotation (which the engine keeps as a label)."""
    return labels.get(name) or labels.get(ANNOTATION_PREFIX + name)


def policy_from_labels(labels: Mapping[str, str]) -> RetryPolicy:
    """Values that do not parse keep the default, as OpenFaaS does with scaling labels."""
    given = {name: label(labels, name) for name in (ATTEMPTS, CODES, MIN_WAIT, MAX_WAIT)}
    base = RetryPolicy()
    if not any(given.values()):
        return base
    attempts, codes = base.attempts, base.codes
    min_wait, max_wait = base.min_wait, base.max_wait
    raw = given[ATTEMPTS]
    if raw and raw.strip().isdigit() and int(raw) >= 1:
        attempts = int(raw)
    raw = given[CODES]
    if raw:
        parsed = {int(c) for c in raw.replace(" ", "").split(",") if c.isdigit()}
        if parsed:
            codes = frozenset(parsed)
    min_wait = _duration(given[MIN_WAIT], min_wait)
    max_wait = max(min_wait, _duration(given[MAX_WAIT], max_wait))
    return RetryPolicy(attempts, codes, min_wait, max_wait, on_status=True)


def concurrency_from_labels(labels: Mapping[str, str], default: int) -> int:
    """Calls in flight per ready replica."""
    raw = label(labels, CONCURRENCY)
    if raw and raw.strip().isdigit() and int(raw) >= 1:
        return int(raw)
    return default


def _duration(raw: str | None, default: float) -> float:
    if not raw:
        return default
    try:
        return parse_duration(raw)
    except ConfigError:
        return default
