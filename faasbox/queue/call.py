"""One accepted call as the queue keeps it, and what each backend hands the workers.

A call is stored as one blob: a small JSON head (who, where, which headers) followed by
the body bytes, so both backends store and move the same bytes and never re-encode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


class QueueFull(Exception):
    """The queue holds its configured maximum; the caller should come back later."""


class CallTooLarge(Exception):
    """The stored call would be larger than the backend accepts."""


@dataclass(frozen=True)
class Call:
    call_id: str
    function: str
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    callback_url: str
    accepted_at: float

    def encode(self) -> bytes:
        head = orjson.dumps(
            {
                "id": self.call_id,
                "fn": self.function,
                "m": self.method,
                "p": self.path,
                "q": self.query,
                "h": self.headers,
                "cb": self.callback_url,
                "at": self.accepted_at,
            }
        )
        return head + b"\n" + self.body

    @classmethod
    def decode(cls, blob: bytes) -> Call:
        head, _, body = blob.partition(b"\n")
        meta: dict[str, Any] = orjson.loads(head)
        return cls(
            call_id=meta["id"],
            function=meta["fn"],
            method=meta["m"],
            path=meta["p"],
            query=meta["q"],
            headers=[(k, v) for k, v in meta["h"]],
            body=body,
            callback_url=meta["cb"],
            accepted_at=meta["at"],
        )


@dataclass
class Lease:
    """A call handed to a worker: `delivery` counts from 1 (a retry is delivery 2 and up).

    `handle` is the backend's own reference (a row number, a JetStream message)."""

    call: Call
    delivery: int
    handle: Any = None


@dataclass(frozen=True)
class Outcome:
    """How the last attempt ended: the function's status, or 0 and why it never answered."""

    status: int
    error: str = ""


@dataclass(frozen=True)
class Entry:
    """One call in a listing (queued, in flight, or dead)."""

    call_id: str
    state: str
    accepted_at: float
    deliveries: int
    status: int = 0
    error: str = ""
    since: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "callId": self.call_id,
            "state": self.state,
            "acceptedAt": self.accepted_at,
            "deliveries": self.deliveries,
        }
        if self.state == "dead":
            out.update(status=self.status, error=self.error, deadAt=self.since)
        return out


@dataclass
class Overview:
    """Counts for one function, with the first calls of each kind."""

    queued: int = 0
    inflight: int = 0
    dead: int = 0
    calls: list[Entry] = field(default_factory=list)
