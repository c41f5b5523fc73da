"""The loop that keeps the functions view (`functions/view.py`) current from the engine.

Fed by the engine's events, so the API, the gateway, the scaler and the UI read
functions without calling Docker. Swarm stays the source of truth: the view is
rebuilt whole on start, after the engine comes back, and every few seconds as
a safety net, and one service is re-read whenever an event names it. New running
replicas are probed here before the view lets calls reach them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any

from faasbox.engine import containers, services
from faasbox.engine.client import ApiError, Engine
from faasbox.engine.errors import EngineUnavailable, FunctionNotFound
from faasbox.engine.events import service_changes
from faasbox.engine.spec import replicas_of, status_fields
from faasbox.functions.probe import healthy, refuses
from faasbox.functions.view import Function, FunctionsView, Observed, Replica

log = logging.getLogger("faasbox.functions")

_TRANSITIONAL = {"new", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
# A running task that appeared while the view was up is probed this often, this many
# times, before it gets calls: Swarm's "running" (or "healthy") is not "answers HTTP".
# One that still refuses connections after _REFUSED_FOR probes gets calls anyway: a
# refused connect costs a call nothing (it goes to another replica, or is a clear 502).
_PROBE_EVERY = 0.1
_PROBES = 300
_REFUSED_FOR = 10
_RESYNC_EVERY = 15.0
_SETTLE_DELAYS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0)


class FunctionsSync:
    """Reads the engine into a FunctionsView: whole on start, then as events name services."""

    def __init__(
        self, engine: Engine, network_id: str, namespace: str, view: FunctionsView
    ) -> None:
        self._engine = engine
        self._network_id = network_id
        self._namespace = namespace
        self._view = view
        self._addresses: dict[str, str] = {}  # container id -> IP on our network
        self._settling: dict[str, asyncio.Task[None]] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._probes: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()
        self._recheck: set[str] = set()  # named by events the engine's listings lag behind
        self._dirty_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def engine_up(self) -> bool:
        """Kept on the view, where the API reads it; this loop is what knows it."""
        return self._view.engine_up

    @engine_up.setter
    def engine_up(self, up: bool) -> None:
        self._view.engine_up = up

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
                known = self._view.get(name)
                if known is None or known.version <= service["Version"]["Index"]:
                    await self._sync_service(service)
        for name in {f.name for f in self._view.all()} - set(listed):
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
                self._view.drop(name)
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
        thaws_before = self._view.thaws
        frozen = await containers.paused(self._engine, service["ID"]) if running else set()
        live: list[Observed] = []
        gone: set[str] = set()
        unsettled = False
        for task in tasks:
            state = task["Status"]["State"]
            desired = task.get("DesiredState")
            if state in _TRANSITIONAL and desired == "running":
                unsettled = True
            if state == "running" and desired != "running":
                unsettled = True
            if state not in ("running", "starting") or desired != "running":
                gone.add(task["ID"])
                continue
            address = await self._address(task)
            if not address:
                continue
            container_id = (task["Status"].get("ContainerStatus") or {}).get("ContainerID", "")
            replica = Replica(task["ID"], address, task["ID"] in current, container_id)
            live.append(Observed(replica, state == "running", container_id in frozen))
        function = Function(
            name=name,
            service_id=service["ID"],
            version=service["Version"]["Index"],
            status=status_fields(service, self._namespace),
            replicas=replicas_of(service),
            labels=dict(service["Spec"].get("Labels") or {}),
        )
        function = self._view.observe(function, live, gone, thaws_before)
        for seen in live:
            if seen.replica in function.starting:
                self._probe_later(name, seen.replica, trust_refusal=seen.running)
        placed = sum(1 for e in (*function.endpoints, *function.paused) if e.up_to_date)
        return unsettled or placed != function.replicas

    def _probe_later(self, name: str, replica: Replica, trust_refusal: bool) -> None:
        if replica.task_id not in self._probes:
            probe = self._probe(name, replica, trust_refusal)
            self._probes[replica.task_id] = asyncio.create_task(probe)

    async def _probe(self, name: str, replica: Replica, trust_refusal: bool) -> None:
        """Promote a new replica once its server answers, so no call meets a replica that
        is still starting (a watchdog's 503, a server not yet listening). Tasks Swarm holds
        "starting" until the image's healthcheck passes are probed too: Docker runs the
        first check only after one interval, which templates make long so idle replicas
        cost nothing. Only a running one that keeps refusing gets calls unanswered."""
        try:
            for attempt in range(_PROBES):
                if await healthy(replica) or (
                    trust_refusal and attempt >= _REFUSED_FOR and await refuses(replica)
                ):
                    self._view.promote(name, replica)
                    return
                await asyncio.sleep(_PROBE_EVERY)
                function = self._view.get(name)
                if function is None or replica not in function.starting:
                    return
        finally:
            self._probes.pop(replica.task_id, None)

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
