"""Prometheus metrics with the OpenFaaS gateway's names, so its dashboards and alert rule work.

The invoke path only bumps plain integers in dicts (no locks, no label lookups);
prometheus-client turns them into families at scrape time through a collector.
`function_name` carries the bare name, as the Era A (Swarm) gateway did.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

# Go client's DefBuckets, as the OpenFaaS gateway uses them.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Histogram:
    __slots__ = ("buckets", "count", "total")

    def __init__(self) -> None:
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds
        self.count += 1

    def cumulative(self) -> list[tuple[str, float]]:
        running, out = 0, []
        for bound, n in zip((*BUCKETS, float("inf")), self.buckets, strict=True):
            running += n
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return out


class Metrics(Collector):
    """Per-function counters the gateway and scaler update, exposed the OpenFaaS way."""

    def __init__(self) -> None:
        self.invocations: defaultdict[tuple[str, int], int] = defaultdict(int)
        self.started: defaultdict[str, int] = defaultdict(int)
        self.inflight: defaultdict[str, int] = defaultdict(int)
        self.durations: defaultdict[tuple[str, int], _Histogram] = defaultdict(_Histogram)
        self.connect_errors: defaultdict[str, int] = defaultdict(int)
        self.scale_decisions: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.wakes: defaultdict[tuple[str, str], int] = defaultdict(int)  # (name, tier)
        self.wake_seconds: defaultdict[tuple[str, str], _Histogram] = defaultdict(_Histogram)
        self.replicas: Callable[[], dict[str, int]] = dict
        self.pool_size: Callable[[], int] = lambda: 0
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    # hot path ----------------------------------------------------------------
    def request_started(self, function: str) -> None:
        self.started[function] += 1
        self.inflight[function] += 1

    def request_finished(self, function: str, code: int, seconds: float) -> None:
        self.inflight[function] -= 1
        self.invocations[function, code] += 1
        self.durations[function, code].observe(seconds)

    def woke(self, function: str, tier: str, seconds: float) -> None:
        """A wake from `tier` ("paused" or "zero") had a ready replica after `seconds`."""
        self.wake_seconds[function, tier].observe(seconds)

    # readers -----------------------------------------------------------------
    def invocation_count(self, function: str) -> float:
        return float(sum(n for (name, _), n in self.invocations.items() if name == function))

    def forget(self, function: str) -> None:
        """Drop a removed function's series so a new function of that name starts at zero."""
        tables: tuple[dict[tuple[str, Any], Any], ...] = (
            self.invocations,
            self.durations,
            self.wakes,
            self.wake_seconds,
        )
        for table in tables:
            for key in [k for k in table if k[0] == function]:
                del table[key]
        for single in (self.started, self.connect_errors):
            single.pop(function, None)
        if not self.inflight.get(function):  # calls still running will count themselves down
            self.inflight.pop(function, None)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        total = CounterMetricFamily(
            "gateway_function_invocation",
            "Function invocations by status code",
            labels=["function_name", "code"],
        )
        for (name, code), n in sorted(self.invocations.items()):
            total.add_metric([name, str(code)], n)
        yield total

        seconds = HistogramMetricFamily(
            "gateway_functions_seconds",
            "Function call duration in seconds",
            labels=["function_name", "code"],
        )
        for (name, code), hist in sorted(self.durations.items()):
            seconds.add_metric([name, str(code)], hist.cumulative(), hist.total)
        yield seconds

        # OpenFaaS exposes this counter without a _total suffix; untyped keeps the name exact.
        started = Metric(
            "gateway_function_invocation_started", "Function invocations started", "unknown"
        )
        for name, n in sorted(self.started.items()):
            started.add_sample(
                "gateway_function_invocation_started", {"function_name": name}, float(n)
            )
        yield started

        count = GaugeMetricFamily(
            "gateway_service_count", "Desired replicas per function", labels=["function_name"]
        )
        for name, replicas in sorted(self.replicas().items()):
            count.add_metric([name], replicas)
        yield count

        inflight = GaugeMetricFamily(
            "faasbox_function_inflight", "Requests in flight", labels=["function_name"]
        )
        for name, n in sorted(self.inflight.items()):
            inflight.add_metric([name], n)
        yield inflight

        errors = CounterMetricFamily(
            "faasbox_upstream_connect_errors",
            "Connections to replicas that failed",
            labels=["function_name"],
        )
        for name, n in sorted(self.connect_errors.items()):
            errors.add_metric([name], n)
        yield errors

        decisions = CounterMetricFamily(
            "faasbox_scale_decisions",
            "Autoscaler decisions by reason",
            labels=["function_name", "reason"],
        )
        for (name, reason), n in sorted(self.scale_decisions.items()):
            decisions.add_metric([name, reason], n)
        yield decisions

        wakes = CounterMetricFamily(
            "faasbox_wakes",
            "Wakes of idle functions begun, by the tier they were in",
            labels=["function_name", "tier"],
        )
        for (name, tier), n in sorted(self.wakes.items()):
            wakes.add_metric([name, tier], n)
        yield wakes

        wake_seconds = HistogramMetricFamily(
            "faasbox_wake_seconds",
            "Time from a call finding no ready replica to the first ready replica",
            labels=["function_name", "tier"],
        )
        for (name, tier), hist in sorted(self.wake_seconds.items()):
            wake_seconds.add_metric([name, tier], hist.cumulative(), hist.total)
        yield wake_seconds

        yield GaugeMetricFamily(
            "faasbox_upstream_pool_connections",
            "Idle keep-alive connections to replicas",
            value=self.pool_size(),
        )
