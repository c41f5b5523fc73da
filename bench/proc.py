"""CPU time of processes, read from /proc: how every bench charges a proxy, a watchdog or
the engine for its work, whatever else the shared machine runs."""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """utime + stime of one process; with `reaped`, also those of the children it has
    waited for (cutime + cstime: a containerd-shim's runc runs)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(v) for v in fields[11 : 15 if reaped else 13]) / TICK


def children(pid: int) -> list[int]:
    """The process's children, read now (those of its main thread)."""
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
