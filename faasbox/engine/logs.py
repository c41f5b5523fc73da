"""Function logs from Swarm service logs, one record per line.

Docker multiplexes stdout and stderr into frames (an 8-byte header, then the
payload); with timestamps and details on, each line reads
`<RFC3339Nano> com.docker.swarm.node.id=..,...,com.docker.swarm.task.id=<id> <text>`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from faasbox.engine.client import Engine

_TASK_KEY = "com.docker.swarm.task.id="


@dataclass(frozen=True)
class LogLine:
    timestamp: str
    instance: str
    text: str


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
    """Lines oldest first; with follow=True, until the caller stops iterating."""
    params: dict[str, object] = {
        "stdout": 1,
        "stderr": 1,
        "timestamps": 1,
        "details": 1,
        "follow": int(follow),
        "tail": "all" if tail is None else tail,
    }
    if since is not None:
        params["since"] = f"{since.timestamp():.9f}"
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
