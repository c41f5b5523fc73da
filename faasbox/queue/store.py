"""The queue interface every backend implements, and the name table that picks one.

Backends differ in where calls live (a SQLite file, a JetStream stream); the workers,
the accept path and the admin API see only this interface, so both pass one test suite.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Protocol

from faasbox.config import Settings
from faasbox.queue.call import Call, Lease, Outcome, Overview


class Cancel(enum.Enum):
    CANCELLED = "cancelled"
    RUNNING = "running"
    UNKNOWN = "unknown"


class Queue(Protocol):
    """Calls kept durably from accept until delivered, cancelled or dropped."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def put(self, call: Call, *, dedupe: bool) -> bool:
        """Store the call durably before returning. False: a call with this id was accepted
        within the dedupe window (only checked when `dedupe`, i.e. the caller chose the id).
        Raises QueueFull or CallTooLarge and stores nothing then."""
        ...

    async def claim(self, function: str, limit: int, wait: float) -> list[Lease]:
        """Up to `limit` calls due now, leased to this process; waits up to `wait` s for one."""
        ...

    async def renew(self, leases: list[Lease]) -> None:
        """Keep running calls leased (their worker is alive)."""
        ...

    async def done(self, lease: Lease) -> None:
        """Delivered: never hand this call out again."""
        ...

    async def retry(self, lease: Lease, delay: float, outcome: Outcome) -> None:
        """Hand the call out again after `delay` seconds."""
        ...

    async def bury(self, lease: Lease, outcome: Outcome) -> None:
        """Attempts exhausted: keep the call as a dead letter."""
        ...

    async def cancel(self, call_id: str) -> Cancel: ...

    async def overview(self, function: str, limit: int) -> Overview: ...

    async def replay(self, function: str, call_id: str) -> bool:
        """Queue a dead letter again, from its first attempt. False: no such dead letter."""
        ...

    async def drop(self, function: str, call_id: str) -> bool: ...

    async def functions(self) -> set[str]:
        """Functions that have queued or running calls (also ones no longer deployed)."""
        ...

    async def depths(self) -> dict[str, tuple[int, int, int]]:
        """function -> (queued, in flight, dead), for the metrics."""
        ...


def open_queue(settings: Settings) -> Queue:
    """`sqlite` (a file in the state dir) or a `nats://` URL (JetStream)."""
    name = settings.queue
    if name == "sqlite":
        from faasbox.queue.sqlite import SqliteQueue

        return SqliteQueue(Path(settings.state_dir) / "async-queue.sqlite3", settings)
    if name.startswith(("nats://", "tls://")):
        from faasbox.queue.jetstream import JetStreamQueue

        return JetStreamQueue(name, settings)
    raise ValueError(f"unknown queue {name!r}: use sqlite or nats://host:4222")
