"""The idle tiers' pure parts: a function's tier as the API shows it, and reading
/proc/meminfo for the memory-pressure trigger."""

from __future__ import annotations

from pathlib import Path

import pytest

from faasbox.functions.view import Function, Replica
from faasbox.scaling.memory import MemoryWatch, available_share

_ONE = (Replica("t1", "10.0.0.2", True, "c1"),)


@pytest.mark.parametrize(
    ("replicas", "endpoints", "paused", "tier"),
    [
        (0, (), (), "zero"),
        (1, (), _ONE, "paused"),
        (1, _ONE, (), "running"),
        (1, (), (), "running"),  # starting
        (2, _ONE, (Replica("t2", "10.0.0.3", True, "c2"),), "running"),  # waking
    ],
)
def test_tier(
    replicas: int, endpoints: tuple[Replica, ...], paused: tuple[Replica, ...], tier: str
) -> None:
    function = Function("f", "id", 1, {"name": "f"}, replicas, endpoints, paused=paused)
    assert function.tier == tier
    shown = function.to_json()
    assert shown["faasbox"] == {"tier": tier}
    assert shown["availableReplicas"] == len(endpoints)  # a paused replica is not available


_MEMINFO = """\
MemTotal:        3885244 kB
MemFree:          102400 kB
MemAvailable:     {available} kB
Buffers:           10240 kB
"""


def test_available_share() -> None:
    assert available_share(_MEMINFO.format(available=388524)) == pytest.approx(0.1, abs=1e-6)
    assert available_share("MemTotal: 1000 kB\n") is None  # kernels before 3.14
    assert available_share("") is None


def test_memory_watch_reads_once_per_tick(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(_MEMINFO.format(available=200000))
    watch = MemoryWatch(meminfo)
    assert watch.short(1.0) == pytest.approx(200000 / 3885244)
    meminfo.write_text(_MEMINFO.format(available=2000000))
    assert watch.short(1.0) is not None  # same tick: same reading
    assert watch.short(2.0) is None
    meminfo.unlink()
    assert watch.short(3.0) is None  # unreadable: never short
