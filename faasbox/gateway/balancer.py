"""Which replica takes the next request: the one with the fewest requests outstanding.

Least-outstanding adapts to slow replicas (a fork-per-request watchdog busy with a
long call) where round robin would queue behind them; ties rotate, so an idle
function still spreads sequential calls over every replica. The replica list
follows the functions view (`update`), never Docker, and a replica whose connect
failed is passed over for a moment, so a crashed task costs at most one retry
until the engine reports it gone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from faasbox.functions import Function

# After a failed connect, the replica is skipped while others can serve, for this long.
FAILED_PAUSE = 2.0


class Backend:
    """One replica as the balancer sees it; the object lives as long as the replica."""

    __slots__ = ("address", "failed_until", "outstanding", "task_id")

    def __init__(self, task_id: str, address: str) -> None:
        self.task_id = task_id
        self.address = address
        self.outstanding = 0
        self.failed_until = 0.0

    def failed(self) -> None:
        self.failed_until = time.monotonic() + FAILED_PAUSE


class Balancer:
    """Function name -> its backends, kept in step with the functions view."""

    def __init__(self) -> None:
        self._backends: dict[str, tuple[Backend, ...]] = {}
        self._turn = 0

    def backends(self, name: str) -> tuple[Backend, ...]:
        return self._backends.get(name, ())

    def update(self, name: str, function: Function | None) -> tuple[set[str], set[str]]:
        """Follow a change of one function; returns (addresses added, addresses gone).
        Backends that stay keep their object, so in-flight counts survive."""
        old = {b.address: b for b in self._backends.get(name, ())}
        endpoints = function.endpoints if function is not None else ()
        fresh = tuple(old.get(r.address) or Backend(r.task_id, r.address) for r in endpoints)
        if fresh:
            self._backends[name] = fresh
        else:
            self._backends.pop(name, None)
        kept = {b.address for b in fresh}
        return kept - set(old), set(old) - kept

    def pick(self, backends: Sequence[Backend], tried: Sequence[Backend] = ()) -> Backend | None:
        """The least busy backend not yet tried, preferring ones that did not just fail."""
        count = len(backends)
        if count == 1 and not tried:
            return backends[0]
        self._turn += 1
        best: Backend | None = None
        best_failed = True
        now = 0.0
        for i in range(count):
            backend = backends[(self._turn + i) % count]
            if backend in tried:
                continue
            failed = False
            if backend.failed_until:
                now = now or time.monotonic()
                failed = backend.failed_until > now
            if (
                best is None
                or (best_failed and not failed)
                or (failed == best_failed and backend.outstanding < best.outstanding)
            ):
                best, best_failed = backend, failed
        return best
