"""A call whose function must be woken ends with a short answer whatever the waker raises.

The engine faults behind these (Docker down while a function sleeps, a function removed
during its wake) cannot be made on demand on a shared engine, so the waker is a stand-in
here; the rest (gateway, call, route) is the real code.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import cast

import pytest

from faasbox.config import Settings
from faasbox.engine.errors import EngineUnavailable, FunctionNotFound
from faasbox.functions.view import Function
from faasbox.gateway.proxy import Gateway
from faasbox.metrics import Metrics
from faasbox.runtime import Runtime
from faasbox.scaling.waker import Waker, WakeTimeout


class Caller:
    def __init__(self) -> None:
        self.written = b""
        self.kept: bool | None = None

    def write(self, data: bytes) -> None:
        self.written += data

    def date_line(self) -> bytes:
        return b"date: now\r\n"

    def pause_caller(self, paused: bool) -> None:
        return None

    def call_done(self, keep_alive: bool) -> None:
        self.kept = keep_alive


class FailingWaker:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def ready(self, name: str) -> Function:
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        (FunctionNotFound("gone"), 404, b"function fn not found"),
        (EngineUnavailable("Docker does not answer"), 503, b"cannot wake function fn"),
        (WakeTimeout("fn had no ready replica after 30 s"), 504, b"no ready replica after"),
    ],
)
async def test_waker_errors_are_short_answers(error: Exception, status: int, text: bytes) -> None:
    runtime = SimpleNamespace(settings=Settings(), functions=None, metrics=Metrics())
    gateway = Gateway(cast(Runtime, runtime), cast(Waker, FailingWaker(error)))
    gateway.balancer.update("fn", Function("fn", "sid", 1, {}, 0))  # at zero replicas
    caller = Caller()
    call = gateway.open(
        caller,
        b"GET",
        b"/function/fn/x",
        [],
        None,
        keep_alive=True,
        http11=True,
        continue_100=False,
    )
    call.start()
    for _ in range(5):
        await asyncio.sleep(0)
    assert caller.written.startswith(b"HTTP/1.1 %d " % status), caller.written
    assert text in caller.written
    assert b"x-openfaas-internal: proxy" in caller.written
    assert caller.kept is True  # the caller's connection stays usable
    assert runtime.metrics.inflight["fn"] == 0
