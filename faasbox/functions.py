"""The in-memory view of functions and their ready replicas.

Fed by the engine's events, so the API, the gateway, the scaler and the UI read
functions without calling Docker. Swarm stays the source of truth: the view is
rebuilt whole on start, after the engine comes back, and every few seconds as
a safety net, and one service is re-read whenever an event names it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from faasbox.engine import containers, services
from faasbox.engine.client import ApiError, Engine
from faasbox.engine.errors import EngineUnavailable, FunctionNotFound
from faasbox.engine.events import service_changes
from faasbox.engine.spec import replicas_of, status_fields

log = logging.getLogger("faasbox.functions")

_TRANSITIONAL = {"new", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
# A running task that appeared while the view was up is probed this often, this many
# times, before it gets calls: Swarm's "running" (or "healthy") is not "answers HTTP".
# One that still refuses connections after _REFUSED_FOR probes gets calls anyway: a
# refused connect costs a call nothing (it goes to another replica, or is a clear 502).
_PROBE_EVERY = 0.1
_PROBES = 300
_REFUSED_FOR = 10
_FUNCTION_PORT = 8080
_RESYNC_EVERY = 15.0
_SETTLE_DELAYS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0)


@dataclass(frozen=True)
class Replica:
    """A task that can take requests: running, wanted running, with an address."""

    task_id: str
    address: str
    up_to_date: bool
    container_id: str = ""


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
    """name -> Function, kept current from the engine."""

    def __init__(self, engine: Engine, network_id: str, namespace: str) -> None:
        self._engine = engine
        self._network_id = network_id
        self._namespace = namespace
        self._functions: dict[str, Function] = {}
        self._addresses: dict[str, str] = {}  # container id -> IP on our network
        self._listeners: list[Listener] = []
        self._settling: dict[str, asyncio.Task[None]] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # Task ids proven to answer /_/health (or running when the view was first read).
        self._promoted: set[str] = set()
        self._probes: dict[str, asyncio.Task[None]] = {}
        self._held: set[str] = set()  # task ids out of rotation while being paused
        # Docker announces a thaw (and lists the container as running) a moment after it
        # is done, so a read begun before a thaw of ours is not believed about that task.
        self._thaws = 0
        self._thawed: dict[str, int] = {}  # task id -> number of the thaw that woke it
        self._dirty: set[str] = set()
        self._recheck: set[str] = set()  # named by events the engine's listings lag behind
        self._dirty_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.engine_up = False

    # reading ---------------------------------------------------------------
    def get(self, name: str) -> Function | None:
        return self._functions.get(name)

    def all(self) -> list[Function]:
        return sorted(self._functions.values(), key=lambda f: f.name)

    def listen(self, listener: Listener) -> None:
        """Called with (name, Function or None when removed) after every change."""
        self._listeners.append(listener)

    # lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        """Read everything once, then follow events in the background."""
        await self.sync_all()
        self.engine_up = True
        self._tasks = [
            asyncio.create_task(self._follow(), name="functions-events"),
            asyncio.create_task(self._drain(), name="functions-sync"),
            asyncio.create_task(self._resync_periodically(), name="functions-resync"),
        ]

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._settling.values(), *self._probes.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # syncing -----------------------------------------------------------------
    async def sync_all(self) -> None:
        """Re-read every function; names that vanished from the listing are confirmed gone
        one by one, so a function deployed during the listing is not dropped."""
        found = await services.list_functions(self._engine, self._network_id)
        listed = {s["Spec"]["Name"]: s for s in found}
        for name, service in listed.items():
            async with self._locks[name]:
                known = self._functions.get(name)
                if known is None or known.version <= service["Version"]["Index"]:
                    await self._sync_service(service)
        for name in set(self._functions) - set(listed):
            await self.sync(name)

    async def sync(self, name: str) -> None:
        """Re-read one service; keep re-reading briefly while its tasks are moving, because
        Swarm reports task states a moment after the container events that announce them."""
        if await self._read(name) and name not in self._settling:
            self._settling[name] = asyncio.create_task(self._settle(name))

    async def _read(self, name: str) -> bool:
        """One consistent read of a service and its tasks; True while tasks are moving."""
        async with self._locks[name]:
            try:
                service = await services.inspect_function(self._engine, name, self._network_id)
            except FunctionNotFound:
                self._set(name, None)
                return False
            return await self._sync_service(service)

    async def _settle(self, name: str) -> None:
        try:
            for delay in _SETTLE_DELAYS:
                await asyncio.sleep(delay)
                if not await self._read(name):
                    return
        except (EngineUnavailable, ApiError):
            return
        finally:
            self._settling.pop(name, None)

    async def _sync_service(self, service: dict[str, Any]) -> bool:
        """Update one function from its service; True while its tasks are still moving."""
        name = service["Spec"]["Name"]
        tasks = await services.list_tasks(self._engine, service["ID"])
        current = {
            t["ID"] for t in await services.list_tasks(self._engine, service["ID"], up_to_date=True)
        }
        running = any(t["Status"]["State"] == "running" for t in tasks)
        thaws_before = self._thaws
        frozen = await containers.paused(self._engine, service["ID"]) if running else set()
        endpoints, starting, paused = [], [], []
        unsettled = False
        for task in tasks:
            state = task["Status"]["State"]
            desired = task.get("DesiredState")
            if state in _TRANSITIONAL and desired == "running":
                unsettled = True
            if state == "running" and desired != "running":
                unsettled = True
            if state not in ("running", "starting") or desired != "running":
                for table in (self._promoted, self._held):
                    table.discard(task["ID"])
                self._thawed.pop(task["ID"], None)
                continue
            address = await self._address(task)
            if not address:
                continue
            container_id = (task["Status"].get("ContainerStatus") or {}).get("ContainerID", "")
            replica = Replica(task["ID"], address, task["ID"] in current, container_id)
            thawed_since = self._thawed.get(task["ID"], 0) > thaws_before
            if not thawed_since:
                self._thawed.pop(task["ID"], None)  # this read is newer than the thaw
            if state == "running" and not self.engine_up:
                self._promoted.add(task["ID"])  # serving already: no one waits on a probe
            if task["ID"] in self._held or (container_id in frozen and not thawed_since):
                paused.append(replica)
            elif task["ID"] in self._promoted:
                endpoints.append(replica)
            else:
                starting.append(replica)
                if state == "running":
                    self._probe_later(name, replica)
        if sum(1 for e in (*endpoints, *paused) if e.up_to_date) != replicas_of(service):
            unsettled = True
        labels = dict(service["Spec"].get("Labels") or {})
        function = Function(
            name=name,
            service_id=service["ID"],
            version=service["Version"]["Index"],
            status=status_fields(service, self._namespace),
            replicas=replicas_of(service),
            endpoints=tuple(sorted(endpoints, key=lambda r: r.task_id)),
            labels=labels,
            starting=tuple(starting),
            paused=tuple(paused),
        )
        self._set(name, function)
        return unsettled

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

    def _probe_later(self, name: str, replica: Replica) -> None:
        if replica.task_id not in self._probes:
            self._probes[replica.task_id] = asyncio.create_task(self._probe(name, replica))

    async def _probe(self, name: str, replica: Replica) -> None:
        """Promote a new running replica once its server answers, so no call meets a
        replica that is still starting (a watchdog's 503, a server not yet listening)."""
        from faasbox.scaling.waker import healthy  # the waker reads this view: no cycle

        try:
            for attempt in range(_PROBES):
                if await healthy(replica) or (
                    attempt >= _REFUSED_FOR and await _refuses(replica.address)
                ):
                    self.promote(name, replica)
                    return
                await asyncio.sleep(_PROBE_EVERY)
                function = self._functions.get(name)
                if function is None or replica not in function.starting:
                    return
        finally:
            self._probes.pop(replica.task_id, None)

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

    async def _address(self, task: dict[str, Any]) -> str:
        """The task's IP on our network: in the task on overlays, in the container on bridges
        (Swarm leaves local-scope addresses out of the task)."""
        for attachment in task.get("NetworksAttachments") or []:
            if attachment["Network"]["ID"] == self._network_id and attachment.get("Addresses"):
                return str(attachment["Addresses"][0]).partition("/")[0]
        container_id = ((task["Status"].get("ContainerStatus") or {}).get("ContainerID")) or ""
        if not container_id:
            return ""
        if container_id not in self._addresses:
            found = await containers.address(self._engine, container_id, self._network_id)
            if found:
                self._addresses[container_id] = found
        return self._addresses.get(container_id, "")

    def _set(self, name: str, function: Function | None) -> None:
        if function is None:
            if self._functions.pop(name, None) is None:
                return
        else:
            self._functions[name] = function
        for listener in self._listeners:
            listener(name, function)

    # background --------------------------------------------------------------
    async def _follow(self) -> None:
        """Follow events forever; on a broken stream, wait for the engine and resync."""
        delay = 0.2
        while True:
            try:
                async for name, lagging in service_changes(self._engine):
                    if not self.engine_up:
                        self.engine_up = True
                        await self.sync_all()
                    delay = 0.2
                    self._dirty.add(name)
                    if lagging:
                        self._recheck.add(name)
                    self._dirty_event.set()
            except EngineUnavailable as exc:
                if self.engine_up:
                    log.warning("[functions] engine lost: %s", exc)
                self.engine_up = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            try:
                await self.sync_all()
                if not self.engine_up:
                    log.info("[functions] engine back; view rebuilt")
                self.engine_up = True
            except (EngineUnavailable, ApiError):
                self.engine_up = False

    async def _drain(self) -> None:
        """Sync the services events named; a burst of events for one service (scaling to
        twenty replicas is sixty events) costs one read, not sixty."""
        while True:
            await self._dirty_event.wait()
            self._dirty_event.clear()
            names, self._dirty = self._dirty, set()
            recheck, self._recheck = self._recheck, set()
            for name in names:
                try:
                    await self.sync(name)
                    if name in recheck and name not in self._settling:
                        self._settling[name] = asyncio.create_task(self._settle(name))
                except (EngineUnavailable, ApiError) as exc:
                    log.warning("[functions] could not read %s: %s", name, exc)

    async def _resync_periodically(self) -> None:
        while True:
            await asyncio.sleep(_RESYNC_EVERY)
            if not self.engine_up:
                continue
            try:
                await self.sync_all()
            except (EngineUnavailable, ApiError) as exc:
                log.warning("[functions] resync failed: %s", exc)


async def _refuses(address: str) -> bool:
    """True when nothing listens on the function port (as opposed to a slow or busy one)."""
    try:
        async with asyncio.timeout(0.5):
            _, writer = await asyncio.open_connection(address, _FUNCTION_PORT)
    except ConnectionRefusedError:
        return True
    except (OSError, TimeoutError):
        return False
    writer.close()
    return False
