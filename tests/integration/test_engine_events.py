"""The engine's event stream as the functions view sees it: a replica's health checks
are not changes (each would cost the view a service inspect and two task listings), and
real changes still are. Real engine, a real service, Docker's own events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from faasbox.engine.client import Engine
from faasbox.engine.events import service_changes
from tests.integration.test_scaling_kit import fork_image
from tests.support.engine import docker, unique

pytestmark = pytest.mark.engine

# The OpenFaaS images' style of check, at the shortest interval Docker takes.
EVERY_SECOND = "HEALTHCHECK --interval=1s CMD [ -e /tmp/.lock ] || exit 1\n"
QUIET = 4.0  # seconds an idle replica is watched: four health checks
WAIT = 60.0  # bound on how long a real change may take to be reported


async def _docker(*args: str) -> str:
    return await asyncio.to_thread(docker, *args)


async def _container(service: str, healthy: bool = False, other_than: str = "") -> str:
    """The id of the service's running container (a healthy one when asked)."""
    flags = ["--filter", f"label=com.docker.swarm.service.name={service}"]
    if healthy:
        flags += ["--filter", "health=healthy"]
    async with asyncio.timeout(WAIT):
        while True:
            found = set((await _docker("ps", "-q", "--no-trunc", *flags)).split()) - {other_than}
            if found:
                return found.pop()
            await asyncio.sleep(0.2)


async def _checks_since(container: str, begin: datetime) -> int:
    log = json.loads(await _docker("inspect", "--format", "{{json .State.Health.Log}}", container))
    return sum(1 for check in log if datetime.fromisoformat(check["Start"]) >= begin)


@contextlib.asynccontextmanager
async def _changes(service: str) -> AsyncIterator[asyncio.Queue[bool]]:
    """`lagging` of every change the stream reports for `service`, from now on."""
    engine = Engine()
    queue: asyncio.Queue[bool] = asyncio.Queue()
    subscribed = asyncio.Event()

    async def follow() -> None:
        changes = service_changes(engine)
        first = asyncio.ensure_future(anext(changes))
        await asyncio.sleep(0.5)  # the request is on the wire before anything happens
        subscribed.set()
        name, lagging = await first
        while True:
            if name == service:
                queue.put_nowait(lagging)
            name, lagging = await anext(changes)

    task = asyncio.create_task(follow())
    await subscribed.wait()
    try:
        yield queue
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await engine.close()


async def _quiet(queue: asyncio.Queue[bool]) -> None:
    """Forget what the last step reported, late events included, before the next one."""
    await asyncio.sleep(1)
    while not queue.empty():
        queue.get_nowait()


async def _reported(queue: asyncio.Queue[bool], what: str) -> bool:
    try:
        async with asyncio.timeout(WAIT):
            lagging = await queue.get()
    except TimeoutError:
        raise AssertionError(f"{what}: no change reported") from None
    while not queue.empty():  # one change can be several events (kill, die)
        lagging = queue.get_nowait() or lagging
    return lagging


async def test_health_checks_are_no_changes_and_real_changes_are(engine_ready: None) -> None:
    image = await asyncio.to_thread(fork_image, EVERY_SECOND)
    service = unique("events")
    async with _changes(service) as changes:
        await _docker("service", "create", "-d", "--name", service, image)
        try:
            container = await _container(service, healthy=True)
            await _quiet(changes)  # the start's events are in
            begin = datetime.now().astimezone()
            await asyncio.sleep(QUIET)
            assert await _checks_since(container, begin) >= 3, "the checks ran meanwhile"
            assert changes.empty(), "a health check was reported as a change"

            await _docker("pause", container)
            assert await _reported(changes, "pause") is True  # lags the listing
            await _quiet(changes)
            await _docker("unpause", container)
            assert await _reported(changes, "unpause") is True
            await _quiet(changes)
            await _docker("service", "update", "-d", "--label-add", "x=1", service)
            assert await _reported(changes, "service update") is False
            await _quiet(changes)
            await _docker("kill", container)
            await _reported(changes, "kill")
            await _container(service, other_than=container)
            await _reported(changes, "the replacement's start")
            await _quiet(changes)
        finally:
            await _docker("service", "rm", service)
        await _reported(changes, "removal")
