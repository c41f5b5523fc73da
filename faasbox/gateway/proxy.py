"""Placeholder replaced by the invoke path (issue 4)."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from faasbox.runtime import Runtime


class Gateway:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 501, "headers": []})
        await send({"type": "http.response.body", "body": b"invoke path not built yet\n"})
