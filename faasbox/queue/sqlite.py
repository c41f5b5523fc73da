"""The default backend: one SQLite file in the state dir, written by one thread.

Every operation is a small function run on the writer thread. The thread takes all the
operations waiting at once and runs them in one transaction, so many concurrent accepts
share one commit (WAL with synchronous=FULL: one fsync) and the event loop never blocks
on the disk. A lock file makes one faasbox the only user of the file, which is what
lets a restart hand out the calls a killed process had leased at once instead of after
their lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import queue as thread_queue
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from faasbox.config import Settings
from faasbox.queue.call import Call, Entry, Lease, Outcome, Overview, QueueFull
from faasbox.queue.store import Cancel

log = logging.getLogger("faasbox.queue")

T = TypeVar("T")
_QUEUED, _LEASED, _DEAD = 0, 1, 2
_STATES = {_QUEUED: "queued", _LEASED: "inflight", _DEAD: "dead"}
_SWEEP_EVERY = 10.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  fn TEXT NOT NULL,
  blob BLOB NOT NULL,
  state INTEGER NOT NULL DEFAULT 0,
  deliveries INTEGER NOT NULL DEFAULT 0,
  due REAL NOT NULL,
  accepted REAL NOT NULL,
  status INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS calls_ready ON calls(fn, state, due);
CREATE INDEX IF NOT EXISTS calls_id ON calls(id);
CREATE TABLE IF NOT EXISTS seen(id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
"""
# `due` is when a queued call may run, when a lease expires, or when a call died.

_Op = Callable[[sqlite3.Connection], Any]


class SqliteQueue:
    def __init__(self, path: Path, settings: Settings) -> None:
        self._path = path
        self._cap = settings.async_queue_max
        self._window = settings.async_dedupe_window
        self._lease = settings.async_lease
        self._dead_max = settings.async_dead_max
        self._dead_age = settings.async_dead_age
        self._ops: thread_queue.SimpleQueue[tuple[_Op, asyncio.Future[Any], bool] | None] = (
            thread_queue.SimpleQueue()
        )
        self._synchronous = "FULL"
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock_fd = -1
        self._live = 0  # queued + leased, for the cap; touched on the writer thread only
        self._ready: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._last_sweep = 0.0

    # lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self._path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RuntimeError(f"{self._path} is in use by another faasbox") from None
        self._lock_fd = fd
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="async-queue-sqlite", daemon=True)
        self._thread.start()
        reclaimed = await self._call(self._recover)
        if reclaimed:
            log.info("[queue] %d call(s) in flight at the last stop queued again", reclaimed)

    async def close(self) -> None:
        if self._thread is not None:
            self._ops.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _recover(self, db: sqlite3.Connection) -> int:
        """The lock proves no other process holds leases: every leased call is due again."""
        reclaimed = db.execute(
            "UPDATE calls SET state=?, due=? WHERE state=?", (_QUEUED, time.time(), _LEASED)
        ).rowcount
        (self._live,) = db.execute("SELECT COUNT(*) FROM calls WHERE state<?", (_DEAD,)).fetchone()
        return int(reclaimed)

    # the writer thread ---------------------------------------------------------
    def _run(self) -> None:
        # Calls carry callers' headers (credentials among them): owner-only, like the
        # WAL files SQLite creates next to it with the same mode.
        os.close(os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600))
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            while self._batch(db):
                pass
        finally:
            db.close()

    def _batch(self, db: sqlite3.Connection) -> bool:
        """Run every waiting operation in one transaction; False once asked to stop."""
        first = self._ops.get()
        if first is None:
            return False
        batch = [first]
        stop = False
        while True:
            try:
                item = self._ops.get_nowait()
            except thread_queue.Empty:
                break
            if item is None:
                stop = True
                break
            batch.append(item)
        results: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        live = self._live
        # Leases need no fsync: a lost claim or renewal only hands a call out again. A
        # batch of nothing else commits without one; anything else waits for the disk.
        synchronous = "FULL" if any(durable for _, _, durable in batch) else "NORMAL"
        if synchronous != self._synchronous:
            db.execute(f"PRAGMA synchronous={synchronous}")
            self._synchronous = synchronous
        try:
            db.execute("BEGIN IMMEDIATE")
            for op, future, _ in batch:
                try:
                    results.append((future, op(db), None))
                except Exception as exc:  # an operation refuses before it writes anything
                    results.append((future, None, exc))
            self._maybe_sweep(db)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("[queue] SQLite failed, %d operation(s) not done: %s", len(batch), exc)
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            self._live = live
            results = [(future, None, exc) for _, future, _ in batch]
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_resolve, results)
        return not stop

    def _maybe_sweep(self, db: sqlite3.Connection) -> None:
        """Housekeeping, at most every few seconds, inside a transaction already open."""
        now = time.time()
        if now - self._last_sweep < _SWEEP_EVERY:
            return
        self._last_sweep = now
        db.execute("UPDATE calls SET state=? WHERE state=? AND due<?", (_QUEUED, _LEASED, now))
        db.execute("DELETE FROM calls WHERE state=? AND due<?", (_DEAD, now - self._dead_age))
        db.execute(
            "DELETE FROM calls WHERE state=? AND seq NOT IN"
            " (SELECT seq FROM calls WHERE state=? ORDER BY due DESC LIMIT ?)",
            (_DEAD, _DEAD, self._dead_max),
        )
        db.execute("DELETE FROM seen WHERE at<?", (now - self._window,))

    async def _call(self, op: Callable[[sqlite3.Connection], T], *, durable: bool = True) -> T:
        assert self._loop is not None
        future: asyncio.Future[T] = self._loop.create_future()
        self._ops.put((op, future, durable))
        return await future

    # the interface -------------------------------------------------------------
    async def put(self, call: Call, *, dedupe: bool) -> bool:
        blob = call.encode()

        def op(db: sqlite3.Connection) -> bool:
            if self._live >= self._cap:
                raise QueueFull(f"{self._live} calls queued")
            if dedupe:
                row = db.execute("SELECT at FROM seen WHERE id=?", (call.call_id,)).fetchone()
                if row is not None and row[0] >= call.accepted_at - self._window:
                    return False
                db.execute(
                    "INSERT OR REPLACE INTO seen(id, at) VALUES (?, ?)",
                    (call.call_id, call.accepted_at),
                )
            db.execute(
                "INSERT INTO calls(id, fn, blob, due, accepted) VALUES (?, ?, ?, ?, ?)",
                (call.call_id, call.function, blob, call.accepted_at, call.accepted_at),
            )
            self._live += 1
            return True

        stored = await self._call(op)
        if stored:
            self._ready[call.function].set()
        return stored

    async def claim(self, function: str, limit: int, wait: float) -> list[Lease]:
        ready = self._ready[function]
        deadline = time.monotonic() + wait
        while True:
            ready.clear()
            leases, next_due = await self._call(
                lambda db: self._claim(db, function, limit), durable=False
            )
            left = deadline - time.monotonic()
            if leases or left <= 0:
                return leases
            if next_due is not None:
                left = min(left, max(0.01, next_due - time.time()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await ready.wait()

    def _claim(
        self, db: sqlite3.Connection, function: str, limit: int
    ) -> tuple[list[Lease], float | None]:
        now = time.time()
        rows = db.execute(
            "SELECT seq, blob, deliveries FROM calls WHERE fn=? AND state=? AND due<=?"
            " ORDER BY due, seq LIMIT ?",
            (function, _QUEUED, now, limit),
        ).fetchall()
        if not rows:
            (next_due,) = db.execute(
                "SELECT MIN(due) FROM calls WHERE fn=? AND state=?", (function, _QUEUED)
            ).fetchone()
            return [], next_due
        db.executemany(
            "UPDATE calls SET state=?, deliveries=deliveries+1, due=? WHERE seq=?",
            [(_LEASED, now + self._lease, seq) for seq, _, _ in rows],
        )
        return [Lease(Call.decode(blob), n + 1, seq) for seq, blob, n in rows], None

    async def renew(self, leases: list[Lease]) -> None:
        until = time.time() + self._lease
        rows = [(until, lease.handle, _LEASED) for lease in leases]
        await self._call(
            lambda db: db.executemany("UPDATE calls SET due=? WHERE seq=? AND state=?", rows),
            durable=False,
        )

    async def done(self, lease: Lease) -> None:
        def op(db: sqlite3.Connection) -> None:
            if db.execute("DELETE FROM calls WHERE seq=?", (lease.handle,)).rowcount:
                self._live -= 1

        await self._call(op)

    async def retry(self, lease: Lease, delay: float, outcome: Outcome) -> None:
        due = time.time() + delay
        await self._call(
            lambda db: db.execute(
                "UPDATE calls SET state=?, due=?, status=?, error=? WHERE seq=?",
                (_QUEUED, due, outcome.status, outcome.error, lease.handle),
            ),
            durable=False,
        )
        self._ready[lease.call.function].set()

    async def bury(self, lease: Lease, outcome: Outcome) -> None:
        def op(db: sqlite3.Connection) -> None:
            changed = db.execute(
                "UPDATE calls SET state=?, due=?, status=?, error=? WHERE seq=? AND state=?",
                (_DEAD, time.time(), outcome.status, outcome.error, lease.handle, _LEASED),
            ).rowcount
            self._live -= changed

        await self._call(op)

    async def cancel(self, call_id: str) -> Cancel:
        def op(db: sqlite3.Connection) -> Cancel:
            if db.execute("DELETE FROM calls WHERE id=? AND state=?", (call_id, _QUEUED)).rowcount:
                self._live -= 1
                return Cancel.CANCELLED
            row = db.execute(
                "SELECT 1 FROM calls WHERE id=? AND state=?", (call_id, _LEASED)
            ).fetchone()
            return Cancel.RUNNING if row else Cancel.UNKNOWN

        return await self._call(op)

    async def overview(self, function: str, limit: int) -> Overview:
        def op(db: sqlite3.Connection) -> Overview:
            view = Overview()
            for state, n in db.execute(
                "SELECT state, COUNT(*) FROM calls WHERE fn=? GROUP BY state", (function,)
            ):
                setattr(view, _STATES[state], n)
            for state in (_LEASED, _QUEUED, _DEAD):
                for row in db.execute(
                    "SELECT id, accepted, deliveries, status, error, due FROM calls"
                    " WHERE fn=? AND state=? ORDER BY seq LIMIT ?",
                    (function, state, limit),
                ):
                    call_id, accepted, deliveries, status, error, due = row
                    view.calls.append(
                        Entry(call_id, _STATES[state], accepted, deliveries, status, error, due)
                    )
            return view

        return await self._call(op)

    async def replay(self, function: str, call_id: str) -> bool:
        def op(db: sqlite3.Connection) -> bool:
            if self._live >= self._cap:
                raise QueueFull(f"{self._live} calls queued")
            changed = db.execute(
                "UPDATE calls SET state=?, deliveries=0, due=?, status=0, error=''"
                " WHERE fn=? AND id=? AND state=?",
                (_QUEUED, time.time(), function, call_id, _DEAD),
            ).rowcount
            self._live += changed
            return bool(changed)

        replayed = await self._call(op)
        if replayed:
            self._ready[function].set()
        return replayed

    async def drop(self, function: str, call_id: str) -> bool:
        return await self._call(
            lambda db: bool(
                db.execute(
                    "DELETE FROM calls WHERE fn=? AND id=? AND state=?", (function, call_id, _DEAD)
                ).rowcount
            )
        )

    async def functions(self) -> set[str]:
        rows = await self._call(
            lambda db: db.execute(
                "SELECT DISTINCT fn FROM calls WHERE state<?", (_DEAD,)
            ).fetchall()
        )
        return {fn for (fn,) in rows}

    async def depths(self) -> dict[str, tuple[int, int, int]]:
        rows = await self._call(
            lambda db: db.execute(
                "SELECT fn, state, COUNT(*) FROM calls GROUP BY fn, state"
            ).fetchall()
        )
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for fn, state, n in rows:
            out[fn][state] = n
        return {fn: (q, i, d) for fn, (q, i, d) in out.items()}


def _resolve(results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, exc in results:
        if future.done():
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)
