"""The queue interface against both real backends (a SQLite file, a real nats-server):
the rules the workers rely on, without an engine."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest

from faasbox.config import Settings
from faasbox.queue.call import Call, Outcome, QueueFull
from faasbox.queue.store import Cancel, Queue, open_queue
from tests.support.nats_server import NatsServer

LEASE = 1.0


def make_call(call_id: str, function: str = "fn", body: bytes = b"body") -> Call:
    return Call(
        call_id=call_id,
        function=function,
        method="PUT",
        path="/p",
        query="a=1",
        headers=[("X-Thing", "1")],
        body=body,
        callback_url="",
        accepted_at=time.time(),
    )


@pytest.fixture(scope="module", params=["sqlite", "nats"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    store = tmp_path_factory.mktemp("nats")
    with NatsServer(store) if request.param == "nats" else nullcontext() as nats:
        yield nats.url if nats is not None else "sqlite"


def settings_for(backend: str, state_dir: Path, **values: object) -> Settings:
    return Settings(state_dir=state_dir, queue=backend, async_lease=LEASE).with_overrides(**values)


@pytest.fixture
async def queue(backend: str, tmp_path: Path) -> AsyncIterator[Queue]:
    q = open_queue(settings_for(backend, tmp_path, async_queue_max=3))
    await q.start()
    try:
        yield q
    finally:
        await _empty(q)
        await q.close()


async def _empty(q: Queue) -> None:
    """The NATS streams outlive one test: take every call out again."""
    for function in ("fn", "other"):
        for lease in await q.claim(function, 100, 0.2):
            await q.done(lease)
        for entry in (await q.overview(function, 100)).calls:
            if entry.state == "dead":
                await q.drop(function, entry.call_id)


async def test_a_call_comes_back_as_stored(queue: Queue) -> None:
    call = make_call("c-1", body=b"\x00\n\xffbytes")
    assert await queue.put(call, dedupe=False)
    [lease] = await queue.claim("fn", 10, 1.0)
    assert lease.call == call
    assert lease.delivery == 1
    await queue.done(lease)
    assert await queue.claim("fn", 10, 0.2) == []


async def test_functions_are_separate(queue: Queue) -> None:
    await queue.put(make_call("c-2", function="other"), dedupe=False)
    assert await queue.claim("fn", 10, 0.2) == []
    [lease] = await queue.claim("other", 10, 1.0)
    assert "other" in await queue.functions()
    await queue.done(lease)


async def test_dedupe_only_for_caller_ids(queue: Queue) -> None:
    assert await queue.put(make_call("same"), dedupe=True)
    assert not await queue.put(make_call("same"), dedupe=True)
    [lease] = await queue.claim("fn", 10, 1.0)
    await queue.done(lease)
    assert not await queue.put(make_call("same"), dedupe=True)  # delivered, still in window


async def test_full_queue_refuses_and_stores_nothing(queue: Queue) -> None:
    for i in range(3):
        await queue.put(make_call(f"f-{i}"), dedupe=False)
    with pytest.raises(QueueFull):
        await queue.put(make_call("f-over"), dedupe=False)
    view = await queue.overview("fn", 10)
    assert view.queued + view.inflight == 3
    assert "f-over" not in {e.call_id for e in view.calls}


async def test_retry_waits_and_counts_deliveries(queue: Queue) -> None:
    await queue.put(make_call("r-1"), dedupe=False)
    [lease] = await queue.claim("fn", 10, 1.0)
    began = time.monotonic()
    await queue.retry(lease, 0.5, Outcome(500))
    [again] = await queue.claim("fn", 10, 5.0)
    assert time.monotonic() - began >= 0.4
    assert again.delivery == 2
    await queue.done(again)


async def test_bury_replay_drop(queue: Queue) -> None:
    for call_id in ("d-1", "d-2"):
        await queue.put(make_call(call_id), dedupe=False)
    for lease in await queue.claim("fn", 10, 1.0):
        await queue.bury(lease, Outcome(502, "bad gateway"))
    view = await queue.overview("fn", 10)
    dead = {e.call_id: e for e in view.calls if e.state == "dead"}
    assert view.dead == 2 and set(dead) == {"d-1", "d-2"}
    assert (dead["d-1"].status, dead["d-1"].error, dead["d-1"].deliveries) == (
        502,
        "bad gateway",
        1,
    )
    assert await queue.replay("fn", "d-1")
    assert not await queue.replay("fn", "d-1")
    [lease] = await queue.claim("fn", 10, 1.0)
    assert (lease.call.call_id, lease.delivery) == ("d-1", 1)
    await queue.done(lease)
    assert await queue.drop("fn", "d-2")
    assert not await queue.drop("fn", "d-2")
    assert (await queue.overview("fn", 10)).dead == 0


async def test_cancel(queue: Queue) -> None:
    await queue.put(make_call("x-1"), dedupe=False)
    await queue.put(make_call("x-2"), dedupe=False)
    [running] = await queue.claim("fn", 1, 1.0)
    waiting = "x-2" if running.call.call_id == "x-1" else "x-1"
    assert await queue.cancel(running.call.call_id) is Cancel.RUNNING
    assert await queue.cancel(waiting) is Cancel.CANCELLED
    assert await queue.cancel(waiting) is Cancel.UNKNOWN
    await queue.done(running)
    assert await queue.claim("fn", 10, 0.2) == []


async def test_a_lease_not_finished_is_handed_out_again(backend: str, tmp_path: Path) -> None:
    """As after a kill: the first process never finishes its lease."""
    first = open_queue(settings_for(backend, tmp_path))
    await first.start()
    await first.put(make_call("k-1"), dedupe=False)
    assert len(await first.claim("fn", 10, 1.0)) == 1
    await first.close()
    second = open_queue(settings_for(backend, tmp_path))
    await second.start()
    try:
        [again] = await second.claim("fn", 10, LEASE * 5)
        assert (again.call.call_id, again.delivery) == ("k-1", 2)
        await second.done(again)
    finally:
        await _empty(second)
        await second.close()


async def test_sqlite_file_has_one_owner(tmp_path: Path) -> None:
    first = open_queue(settings_for("sqlite", tmp_path))
    await first.start()
    try:
        with pytest.raises(RuntimeError, match="in use"):
            await open_queue(settings_for("sqlite", tmp_path)).start()
    finally:
        await first.close()
