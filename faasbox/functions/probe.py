"""Asking a replica itself whether it serves: the view's sync promotes new replicas by it,
and the waker waits on it. Swarm's "running" (or "healthy") is not "answers HTTP"."""

from __future__ import annotations

import asyncio

from faasbox.functions.view import Replica

FUNCTION_PORT = 8080
_TIMEOUT = 0.5
_HEALTH_REQUEST = b"GET /_/health HTTP/1.1\r\nHost: function\r\nConnection: close\r\n\r\n"


async def healthy(replica: Replica, port: int = FUNCTION_PORT) -> bool:
    """True when the replica's server answers its health path with anything but 503."""
    writer = None
    try:
        async with asyncio.timeout(_TIMEOUT):
            reader, writer = await asyncio.open_connection(replica.address, port)
            writer.write(_HEALTH_REQUEST)
            status_line = await reader.readline()
    except (OSError, TimeoutError):
        return False
    finally:
        if writer is not None:
            writer.close()
    parts = status_line.split()
    return len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1] != b"503"


async def refuses(replica: Replica, port: int = FUNCTION_PORT) -> bool:
    """True when nothing listens on the function port (as opposed to a slow or busy one)."""
    try:
        async with asyncio.timeout(_TIMEOUT):
            _, writer = await asyncio.open_connection(replica.address, port)
    except ConnectionRefusedError:
        return True
    except (OSError, TimeoutError):
        return False
    writer.close()
    return False
