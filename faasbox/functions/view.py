"""The in-memory view of functions and their ready replicas.

The single place the gateway, the scaler, the API and the UI read functions from,
so none of them calls Docker. `functions/sync.py` keeps it current from the
engine; the view itself holds what faasbox knows beyond the engine's word: which
new replicas answered a probe, which are held out of rotation while being
paused, which were just thawed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Replica:
    """A task that can take requests: running, wanted running, with an address."""

    task_id: str
    address: str
    up_to_date: bool
    container_id: str = ""


@dataclass(frozen=True)
class Observed:
    """A task one read of the engine saw running or starting, wanted running."""

    replica: Replica
    running: bool  # Swarm says "running" (not "starting": its healthcheck has not passed)
    frozen: bool  # its container is paused


@dataclass
class Function:
    name: str
    service_id: str
    version: int
    status: dict[str, Any]
    replicas: int
    endpoints: tuple[Replica, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    # Started containers whose image healthcheck has not passed yet: Swarm keeps such a
    # task "starting" until the first check (3 s and more), so the waker probes these
    # itself and promotes the first that answers.
    starting: tuple[Replica, ...] = ()
    # Running tasks whose container is frozen (or being frozen): never balanced over
    # until the waker thaws one.
    paused: tuple[Replica, ...] = ()

    @property
    def tier(self) -> str:
        """How far asleep: "zero" (no replicas wanted), "paused" (every replica frozen)
        or "running"."""
        if self.replicas == 0:
            return "zero"
        if self.paused and not self.endpoints:
            return "paused"
        return "running"

    @property
    def available_replicas(self) -> int:
        """OpenFaaS's availableReplicas: running tasks of the current spec."""
        return sum(1 for r in self.endpoints if r.up_to_date)

    def to_json(self, invocations: float = 0.0) -> dict[str, Any]:
        return {
            **self.status,
            "replicas": self.replicas,
            "availableReplicas": self.available_replicas,
            "invocationCount": invocations,
            # Namespaced, so OpenFaaS clients (which ignore unknown keys) never clash with it.
            "faasbox": {"tier": self.tier},
        }


Listener = Callable[[str, Function | None], None]


class FunctionsView:
    """name -> Function. `engine_up` says whether the sync follows the engine now (the
    API answers 503 while it does not)."""

    def __init__(self) -> None:
        self._functions: dict[str, Function] = {}
        self._listeners: list[Listener] = []
        # Task ids proven to answer /_/health (or running when the view was first read).
        self._promoted: set[str] = set()
        self._held: set[str] = set()  # task ids out of rotation while being paused
        # Docker announces a thaw (and lists the container as running) a moment after it
        # is done, so a read begun before a thaw of ours is not believed about that task.
        self._thaws = 0
        self._thawed: dict[str, int] = {}  # task id -> number of the thaw that woke it
        self.engine_up = False

    # reading ---------------------------------------------------------------
    def get(self, name: str) -> Function | None:
        return self._functions.get(name)

    def all(self) -> list[Function]:
        return sorted(self._functions.values(), key=lambda f: f.name)

    def listen(self, listener: Listener) -> None:
        """Called with (name, Function or None when removed) after every change."""
        self._listeners.append(listener)

    # what a read of the engine found ---------------------------------------
    @property
    def thaws(self) -> int:
        """How many thaws so far: a read takes it before asking the engine, so that what
        it finds is not believed about a task thawed meanwhile."""
        return self._thaws

    def observe(
        self, function: Function, live: list[Observed], gone: set[str], thaws_before: int
    ) -> Function:
        """Place one read's replicas as ready, starting or paused by what the view knows
        beyond the engine, forget tasks that are gone, and store the function."""
        for task_id in gone:
            for table in (self._promoted, self._held):
                table.discard(task_id)
            self._thawed.pop(task_id, None)
        endpoints, starting, paused = [], [], []
        for seen in live:
            replica = seen.replica
            thawed_since = self._thawed.get(replica.task_id, 0) > thaws_before
            if not thawed_since:
                self._thawed.pop(replica.task_id, None)  # this read is newer than the thaw
            if seen.running and not self.engine_up:
                self._promoted.add(replica.task_id)  # serving already: no one waits on a probe
            if replica.task_id in self._held or (seen.frozen and not thawed_since):
                paused.append(replica)
            elif replica.task_id in self._promoted:
                endpoints.append(replica)
            else:
                starting.append(replica)
        function = replace(
            function,
            endpoints=tuple(sorted(endpoints, key=lambda r: r.task_id)),
            starting=tuple(starting),
            paused=tuple(paused),
        )
        self._set(function.name, function)
        return function

    def drop(self, name: str) -> None:
        """The engine has no such function (any more)."""
        self._set(name, None)

    # what faasbox knows beyond the engine ------------------------------------
    def promote(self, name: str, replica: Replica) -> Function | None:
        """Count a starting replica as ready because its /_/health answered; Swarm will say
        the same once the image's healthcheck has run."""
        function = self._functions.get(name)
        if function is None or replica not in function.starting:
            return function
        self._promoted.add(replica.task_id)
        function = replace(
            function,
            endpoints=tuple(sorted((*function.endpoints, replica), key=lambda r: r.task_id)),
            starting=tuple(r for r in function.starting if r != replica),
        )
        self._set(name, function)
        return function

    def hold(self, name: str) -> tuple[Replica, ...]:
        """Take every ready replica out of rotation before it is paused, so no request is
        sent to a container about to freeze; reads of the engine keep them out until
        `release`. Returns the replicas held."""
        function = self._functions.get(name)
        if function is None or not function.endpoints:
            return ()
        self._held.update(r.task_id for r in function.endpoints)
        self._set(
            name,
            replace(function, endpoints=(), paused=(*function.paused, *function.endpoints)),
        )
        return function.endpoints

    def release(self, replicas: tuple[Replica, ...]) -> None:
        """End a hold; the next read of the service says whether they are paused."""
        self._held.difference_update(r.task_id for r in replicas)

    def thawed(self, name: str, replica: Replica) -> Function | None:
        """Count a paused replica as ready again because it was just unpaused; a read of
        the engine begun before the unpause cannot put it back."""
        function = self._functions.get(name)
        if function is None or replica not in function.paused:
            return function
        self._thaws += 1
        self._thawed[replica.task_id] = self._thaws
        self._held.discard(replica.task_id)
        function = replace(
            function,
            endpoints=tuple(sorted((*function.endpoints, replica), key=lambda r: r.task_id)),
            paused=tuple(r for r in function.paused if r != replica),
        )
        self._set(name, function)
        return function

    def _set(self, name: str, function: Function | None) -> None:
        if function is None:
            if self._functions.pop(name, None) is None:
                return
        else:
            self._functions[name] = function
        for listener in self._listeners:
            listener(name, function)
