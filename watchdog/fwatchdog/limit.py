"""max_inflight: how many requests may run at once, in one process or across workers.

Workers are separate processes, so the count they share lives in shared memory: one slot
per worker, written only by that worker, and summed under a POSIX record lock when a
request asks to start. The kernel drops a record lock when its process dies, and the
supervisor zeroes a dead worker's slot, so a crash never strands the count.
"""

from __future__ import annotations

import fcntl
import mmap

from fwatchdog.tmpfile import unlinked_file


class Limit:
    """The count inside one process (a single-process watchdog)."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._running = 0

    def acquire(self) -> bool:
        if self.most and self._running >= self.most:
            return False
        self._running += 1
        return True

    def release(self) -> None:
        self._running -= 1

    def bind(self, worker: int) -> None:
        """Called in a worker after the fork (a shared limit gives it its slot)."""

    def forget(self, worker: int) -> None:
        """Called by the supervisor once a worker is dead (a shared limit frees its slot)."""


class SharedLimit(Limit):
    """The count across worker processes forked after it was made."""

    def __init__(self, most: int, workers: int, directory: str) -> None:
        super().__init__(most)
        self._memory = mmap.mmap(-1, 4 * workers)  # anonymous and MAP_SHARED: seen by forks
        self._slots = memoryview(self._memory).cast("i")
        self._slot = -1
        self._lock_fd = unlinked_file(directory, "inflight")

    def bind(self, worker: int) -> None:
        self._slot = worker
        self._slots[worker] = 0

    def forget(self, worker: int) -> None:
        self._slots[worker] = 0

    def acquire(self) -> bool:
        fcntl.lockf(self._lock_fd, fcntl.LOCK_EX)
        try:
            if sum(self._slots) >= self.most:
                return False
            self._slots[self._slot] += 1
            return True
        finally:
            fcntl.lockf(self._lock_fd, fcntl.LOCK_UN)

    def release(self) -> None:
        # Only this worker writes its slot and an aligned int store is atomic, so no lock.
        self._slots[self._slot] -= 1
