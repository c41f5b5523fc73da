"""Sliding windows over the gateway's counters, sampled once per scaling tick.

The invoke path only bumps plain integers (metrics.py); reading them here once per
tick turns them into rates and concurrency without adding a single instruction to
a request. Each function keeps the samples of the last window plus the one just
before it, so a difference always spans the whole window.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass

from faasbox.metrics import Metrics

_OK = 200


@dataclass(frozen=True)
class Sample:
    at: float
    ok: int  # cumulative 200 answers, the only code OpenFaaS's alert rule counts
    busy: float  # cumulative seconds spent in completed requests
    started: int
    inflight: int


class Windows:
    """name -> the samples of the last `length` seconds."""

    def __init__(self, metrics: Metrics, length: float) -> None:
        self._metrics = metrics
        self.length = length
        self._samples: dict[str, deque[Sample]] = {}
        self._active_at: dict[str, float] = {}

    def sample(self, names: Iterable[str], now: float) -> None:
        """Record every function's counters; functions not named are forgotten."""
        busy: defaultdict[str, float] = defaultdict(float)
        for (name, _code), histogram in self._metrics.durations.items():
            busy[name] += histogram.total
        wanted = set(names)
        for name in wanted:
            sample = Sample(
                at=now,
                ok=self._metrics.invocations.get((name, _OK), 0),
                busy=busy[name],
                started=self._metrics.started.get(name, 0),
                inflight=self._metrics.inflight.get(name, 0),
            )
            samples = self._samples.setdefault(name, deque())
            previous = samples[-1] if samples else None
            if previous is None or sample.started != previous.started or sample.inflight > 0:
                self._active_at[name] = now
            samples.append(sample)
            while len(samples) > 2 and samples[1].at <= now - self.length:
                samples.popleft()
        for gone in set(self._samples) - wanted:
            del self._samples[gone]
            self._active_at.pop(gone, None)

    def rate(self, name: str) -> float:
        """Successful requests per second over the window. A function seen for less than
        a window is still divided by the whole window: fewer than threshold*window
        requests never look like a sustained rate."""
        samples = self._samples.get(name)
        if not samples:
            return 0.0
        return max(samples[-1].ok - samples[0].ok, 0) / self.length

    def loads(self, name: str) -> list[float]:
        """Concurrency seen in the window: the requests in flight at each tick (the gateway
        counts those queued in a fork-mode watchdog too), and the window's average from
        busy seconds (Little's law), which catches requests shorter than a tick. Busy time
        is booked when a request ends, so only the whole window's average is fair."""
        samples = self._samples.get(name)
        if not samples:
            return []
        average = max(samples[-1].busy - samples[0].busy, 0.0) / self.length
        return [*(float(s.inflight) for s in samples), average]

    def inflight(self, name: str) -> int:
        samples = self._samples.get(name)
        return samples[-1].inflight if samples else 0

    def idle_for(self, name: str, now: float) -> float:
        """Seconds since the function last started or held a request (or was first seen)."""
        return now - self._active_at.get(name, now)

    def touch(self, name: str, now: float) -> None:
        """Restart the idle clock, e.g. when a function is woken or scaled by hand."""
        self._active_at[name] = now
