"""Is the machine short of memory? Then paused functions go to zero early.

A paused replica holds its memory until it goes to zero; on a 1 GB Raspberry Pi a few
of them matter. The kernel's own estimate of what can be allocated without swapping,
`MemAvailable` in /proc/meminfo, is present on every kernel since 3.14 and is cheap to
read; pressure stall information (/proc/pressure/memory) is off by default on
Raspberry Pi OS kernels, so it is not relied on.
"""

from __future__ import annotations

from pathlib import Path

MEMINFO = Path("/proc/meminfo")
LOW = 0.10  # MemAvailable below this share of MemTotal is short


def available_share(meminfo: str) -> float | None:
    """MemAvailable / MemTotal from /proc/meminfo's text; None when either is missing."""
    values: dict[str, int] = {}
    for line in meminfo.splitlines():
        key, _, rest = line.partition(":")
        if key in ("MemTotal", "MemAvailable") and rest.split():
            values[key] = int(rest.split()[0])
    total, available = values.get("MemTotal"), values.get("MemAvailable")
    if not total or available is None:
        return None
    return available / total


class MemoryWatch:
    """Reads the share once per scaling tick however many functions ask."""

    def __init__(self, path: Path = MEMINFO, low: float = LOW) -> None:
        self._path = path
        self._low = low
        self._read_at: float | None = None
        self._share: float | None = None

    def short(self, now: float) -> float | None:
        """The available share when it is below the low mark, else None."""
        if self._read_at != now:
            self._read_at = now
            try:
                self._share = available_share(self._path.read_text())
            except OSError:
                self._share = None
        if self._share is not None and self._share < self._low:
            return self._share
        return None
