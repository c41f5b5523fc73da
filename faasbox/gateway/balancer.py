"""Which replica takes the next call: the one with the fewest calls outstanding, below its cap.

Least-outstanding adapts to slow replicas (a fork-per-request watchdog busy with a
long call) where round robin would queue behind them; ties rotate, so an idle
function still spreads sequential calls over every replica. A call counts as
outstanding from the moment it is written, so the counts are what each replica is
doing now. Each replica takes at most `cap` calls at once (a fork-mode watchdog
forks one process per call); calls beyond that wait in the function's bounded queue
and go, in order, to the first replica that frees up.

A `Route` is everything per function the hot path needs, computed when the functions
view changes, never per call. It follows the view (`update`), never Docker, and a
replica whose connect failed is passed over for a moment, so a crashed task costs
at most one retry until the engine reports it gone.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence

from faasbox.config import ConfigError, parse_duration
from faasbox.functions.view import Function, Replica

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


class Route:
    """One function as the invoke path sees it."""

    __slots__ = ("backends", "cap", "host", "idle_timeout", "name", "waiters")

    def __init__(self, name: str) -> None:
        self.name = name
        self.host = b"host: %s:8080\r\n" % name.encode()
        self.backends: tuple[Backend, ...] = ()
        self.cap = 0
        self.idle_timeout = 0.0
        # Calls waiting for a replica below its cap, each a callback that starts the call.
        self.waiters: deque[Callable[[], None]] = deque()


def serving(function: Function) -> tuple[Replica, ...]:
    """The replicas that take calls: during a rolling update, only those of the current
    spec once they are at least as many as the old ones. Swarm stops an old replica only
    after its successor passed its first healthcheck, one interval (templates make it
    60 s), while faasbox serves the successor as soon as it answers; without this rule a
    one-replica function would answer from old and new code alike for that minute. Old
    replicas keep serving while they are the majority, so load never piles onto the
    first new one of a larger function."""
    current = tuple(r for r in function.endpoints if r.up_to_date)
    if len(current) * 2 >= len(function.endpoints):
        return current
    return function.endpoints


class Balancer:
    """Function name -> its route, kept in step with the functions view."""

    def __init__(self, *, cap: int, idle_timeout: float) -> None:
        self.routes: dict[str, Route] = {}
        self._cap = cap
        self._idle_timeout = idle_timeout
        self._turn = 0

    def update(self, name: str, function: Function | None) -> tuple[set[str], set[str]]:
        """Follow a change of one function; returns (addresses added, addresses gone).
        Backends that stay keep their object, so in-flight counts survive."""
        route = self.routes.get(name)
        old = {b.address: b for b in route.backends} if route is not None else {}
        if function is None:
            self.routes.pop(name, None)
            return set(), set(old)
        if route is None:
            route = self.routes[name] = Route(name)
        route.backends = tuple(
            old.get(r.address) or Backend(r.task_id, r.address) for r in serving(function)
        )
        env = function.status.get("envVars") or {}
        route.cap = _declared_cap(env, self._cap)
        route.idle_timeout = _idle_timeout(env, self._idle_timeout)
        kept = {b.address for b in route.backends}
        return kept - set(old), set(old) - kept

    def pick(self, route: Route, tried: Sequence[Backend] = ()) -> Backend | None:
        """The least busy backend below the cap not yet tried, preferring ones that did not
        just fail; None when every untried one is at its cap (or none is left)."""
        backends, cap = route.backends, route.cap
        count = len(backends)
        if count == 1 and not tried:
            only = backends[0]
            return only if only.outstanding < cap else None
        self._turn += 1
        best: Backend | None = None
        best_failed = True
        now = 0.0
        for i in range(count):
            backend = backends[(self._turn + i) % count]
            if backend.outstanding >= cap or backend in tried:
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


def _declared_cap(env: dict[str, str], default: int) -> int:
    """The function's own `max_inflight` (the watchdogs refuse calls past it with 429), when
    it sets one below the gateway's cap: calls wait here instead of failing there."""
    try:
        declared = int(env.get("max_inflight") or 0)
    except ValueError:
        declared = 0
    return min(declared, default) if declared > 0 else default


def _idle_timeout(env: dict[str, str], default: float) -> float:
    """How long an idle connection is kept: below the watchdog's read_timeout, which also
    ends idle connections, when the function sets one shorter than ours."""
    try:
        read = parse_duration(env["read_timeout"]) if env.get("read_timeout") else 0.0
    except ConfigError:
        read = 0.0
    return min(default, read / 2) if read > 0 else default
