"""Rates, concurrency and idleness read from the gateway's counters."""

from __future__ import annotations

import pytest

from faasbox.metrics import Metrics
from faasbox.scaling.window import Windows


def _serve(metrics: Metrics, name: str, n: int, seconds: float, code: int = 200) -> None:
    for _ in range(n):
        metrics.request_started(name)
        metrics.request_finished(name, code, seconds)


def test_rate_counts_only_200s_over_the_whole_window() -> None:
    metrics = Metrics()
    windows = Windows(metrics, length=10)
    windows.sample(["fn"], 0.0)
    _serve(metrics, "fn", 30, 0.01)
    _serve(metrics, "fn", 40, 0.01, code=500)
    windows.sample(["fn"], 1.0)
    assert windows.rate("fn") == 3.0  # 30 in the first second, spread over 10 s
    for t in range(2, 13):
        _serve(metrics, "fn", 10, 0.01)
        windows.sample(["fn"], float(t))
    assert windows.rate("fn") == 10.0


def test_loads_are_in_flight_samples_and_the_window_average() -> None:
    metrics = Metrics()
    windows = Windows(metrics, length=10)
    windows.sample(["fn"], 0.0)
    _serve(metrics, "fn", 200, 0.1)  # 20 busy seconds over a 10 s window: 2 on average
    windows.sample(["fn"], 1.0)
    for _ in range(5):
        metrics.request_started("fn")  # slow ones, still running
    windows.sample(["fn"], 2.0)
    assert windows.loads("fn") == pytest.approx([0.0, 0.0, 5.0, 2.0])
    assert windows.inflight("fn") == 5


def test_idle_clock() -> None:
    metrics = Metrics()
    windows = Windows(metrics, length=10)
    windows.sample(["fn"], 0.0)
    windows.sample(["fn"], 4.0)
    assert windows.idle_for("fn", 4.0) == 4.0
    _serve(metrics, "fn", 1, 0.01)
    windows.sample(["fn"], 5.0)
    assert windows.idle_for("fn", 6.0) == 1.0
    metrics.request_started("fn")
    windows.sample(["fn"], 20.0)
    windows.sample(["fn"], 30.0)
    assert windows.idle_for("fn", 30.0) == 0.0  # a request still in flight is not idle
    windows.touch("fn", 31.0)
    assert windows.idle_for("fn", 32.0) == 1.0


def test_removed_functions_are_forgotten() -> None:
    metrics = Metrics()
    windows = Windows(metrics, length=10)
    windows.sample(["a", "b"], 0.0)
    windows.sample(["a"], 1.0)
    assert windows.rate("b") == 0.0 and windows.loads("b") == []
