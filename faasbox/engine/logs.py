"""Function logs from Swarm service logs, one record per line, in time order.

Docker multiplexes stdout and stderr into frames (an 8-byte header, then the
payload); with timestamps and details on, each line reads
`<RFC3339Nano> com.docker.swarm.node.id=..,...,com.docker.swarm.task.id=<id> <text>`.

The engine sends each task's lines as that task's log driver yields them, so the
lines of two tasks arrive interleaved, not in time order. A finished read is
sorted whole. A followed read cannot wait for the end, so every line is held for
`REORDER_WINDOW` seconds after it arrives and lines leave in timestamp order: two
lines are swapped into order when they arrive less than the window apart, and a
line that arrives later than that (a node's clock or delivery far behind) is sent
when it comes, after newer ones.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from faasbox.engine.client import Engine

_TASK_KEY = "com.docker.swarm.task.id="
REORDER_WINDOW = 0.5
# A followed read holds at most this many lines; past it the oldest leave at once.
_HELD_MAX = 5000
# The most lines one answer sorts ("all" means these newest): bounded memory per request.
BACKLOG_MAX = 10_000


@dataclass(frozen=True)
class LogLine:
    timestamp: str
    instance: str
    text: str

    @property
    def order(self) -> str:
        """A key that sorts as time does: Go's RFC3339Nano drops trailing zeros."""
        whole, dot, rest = self.timestamp.partition(".")
        if not dot:
            return whole.rstrip("Z") + ".000000000"
        digits = rest.rstrip("Z")
        return f"{whole}.{digits:0<9}"


def parse_line(raw: str) -> LogLine:
    timestamp, _, rest = raw.partition(" ")
    instance = ""
    if rest.startswith("com.docker.swarm."):
        details, _, rest = rest.partition(" ")
        for item in details.split(","):
            if item.startswith(_TASK_KEY):
                instance = item[len(_TASK_KEY) :]
    return LogLine(timestamp, instance, rest.strip())


async def follow(
    engine: Engine,
    service_id: str,
    *,
    tail: int | None,
    follow: bool,
    since: datetime | None,
) -> AsyncIterator[LogLine]:
    """Lines oldest first; with follow=True, until the caller stops iterating.

    `tail` counts lines over all tasks (the engine counts per task), so a followed
    read starts with a finished, sorted read and then follows from its last line.
    No tail means the newest BACKLOG_MAX lines.
    """
    tail = BACKLOG_MAX if tail is None else min(tail, BACKLOG_MAX)
    params: dict[str, object] = {
        "stdout": 1,
        "stderr": 1,
        "timestamps": 1,
        "details": 1,
        "follow": 0,
        "tail": tail,
    }
    if since is not None:
        params["since"] = f"{since.timestamp():.9f}"
    lines = [line async for line in _read(engine, service_id, params)] if tail else []
    backlog = sorted(lines, key=_order)[-tail:] if tail else []
    for line in backlog:
        yield line
    if not follow:
        return
    # From the backlog's last line on; with no backlog, whatever came since it was read.
    params.update(follow=1, tail="all" if tail else 0)
    if backlog:
        params["since"] = _unix(backlog[-1].timestamp)
    last = backlog[-1].order if backlog else ""
    # The engine's `since` is inclusive: lines of the last backlog instant come again.
    sent = {line for line in backlog if line.order == last}
    async for line in _reordered(_read(engine, service_id, params), REORDER_WINDOW):
        if line.order > last or (line.order == last and line not in sent):
            yield line


def _order(line: LogLine) -> str:
    return line.order


def _unix(timestamp: str) -> str:
    """RFC 3339 (UTC, as the engine writes it) as the engine's `seconds.nanoseconds`."""
    whole, _, fraction = timestamp.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp())
    return f"{seconds}.{fraction:0<9}"


async def _read(
    engine: Engine, service_id: str, params: dict[str, object]
) -> AsyncIterator[LogLine]:
    async with engine.stream(
        "GET", f"services/{service_id}/logs", params=params, timeout=None
    ) as response:
        content = response.content
        pending = ""
        while True:
            try:
                header = await content.readexactly(8)
            except asyncio.IncompleteReadError:
                break
            payload = await content.readexactly(int.from_bytes(header[4:8], "big"))
            pending += payload.decode("utf-8", "replace")
            *lines, pending = pending.split("\n")
            for line in lines:
                if line.strip():
                    yield parse_line(line)
        if pending.strip():
            yield parse_line(pending)


@dataclass(order=True)
class _Held:
    order: str
    seq: int
    line: LogLine = field(compare=False)
    due: float = field(compare=False)
    sent: bool = field(default=False, compare=False)


async def _reordered(lines: AsyncIterator[LogLine], window: float) -> AsyncGenerator[LogLine, None]:
    """`lines` in timestamp order within `window` seconds of arrival (see the module)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[LogLine | None] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for line in lines:
                await queue.put(line)
        finally:
            queue.put_nowait(None)

    reader = asyncio.create_task(pump())
    by_time: list[_Held] = []
    by_arrival: deque[_Held] = deque()
    seq = 0
    try:
        ended = False
        while not ended or by_arrival:
            if not ended:
                wait = by_arrival[0].due - loop.time() if by_arrival else None
                try:
                    line = await asyncio.wait_for(queue.get(), wait)
                except TimeoutError:
                    pass
                else:
                    if line is None:
                        ended = True
                    else:
                        seq += 1
                        held = _Held(line.order, seq, line, loop.time() + window)
                        heapq.heappush(by_time, held)
                        by_arrival.append(held)
            now = loop.time()
            while by_arrival and (ended or by_arrival[0].due <= now or len(by_arrival) > _HELD_MAX):
                target = by_arrival.popleft()
                while not target.sent:
                    held = heapq.heappop(by_time)
                    held.sent = True
                    yield held.line
        await reader
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
