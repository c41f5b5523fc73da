"""Workers: take calls from the queue and deliver them through faasbox's own `/function/`.

Delivery is an HTTP request to this process's listener on loopback, over kept
connections, as OpenFaaS's queue-worker calls its gateway: the call takes exactly the
path a caller's would (wake from zero, balancing, metrics, timeouts), and the queue
does not depend on how the invoke path is built inside.

Each function has its own loop and its own slots (concurrency per ready replica), so a
slow or failing function only ever holds its own slots: fairness needs no scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp
from yarl import URL

from faasbox.functions.view import Function, FunctionsView
from faasbox.metrics import Metrics
from faasbox.queue.call import Lease, Outcome
from faasbox.queue.callbacks import Callbacks
from faasbox.queue.retry import RetryPolicy, concurrency_from_labels, policy_from_labels
from faasbox.queue.store import Queue

log = logging.getLogger("faasbox.queue")

_CLAIM_WAIT = 5.0
_DEPTH_EVERY = 2.0
# Retry after the queue itself failed (a lost NATS connection, say).
_BACKEND_PAUSE = 1.0
_INTERNAL = "x-openfaas-internal"


class Dispatcher:
    def __init__(
        self,
        queue: Queue,
        functions: FunctionsView,
        metrics: Metrics,
        callbacks: Callbacks,
        *,
        invoke_url: str,
        concurrency: int,
        lease: float,
        timeout: float | None,
    ) -> None:
        self._queue = queue
        self._functions = functions
        self._metrics = metrics
        self._callbacks = callbacks
        self._concurrency = concurrency
        self._lease = lease
        self._invoke_url = invoke_url
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._client: aiohttp.ClientSession | None = None
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._running: dict[str, Lease] = {}  # call id -> lease, this process only
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        # aiohttp (already here through aiodocker) costs a fraction of httpx per request.
        # The function gets the caller's headers only: no client defaults are added, and
        # bodies pass through as the function encoded them.
        self._client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30),
            timeout=self._timeout,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        )
        for name in {*(f.name for f in self._functions.all()), *await self._queue.functions()}:
            self._serve(name)
        self._functions.listen(self._on_change)
        self._metrics.async_depths = {}
        self._tasks = [
            asyncio.create_task(self._renew_forever(), name="async-renew"),
            asyncio.create_task(self._measure_forever(), name="async-depths"),
        ]

    async def stop(self) -> None:
        tasks = [*self._loops.values(), *self._tasks]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.close()

    def running(self, call_id: str) -> bool:
        return call_id in self._running

    def wake(self, function: str) -> None:
        """A call was queued for `function` here: make sure a loop serves it."""
        self._serve(function)

    def _on_change(self, name: str, function: Function | None) -> None:
        if function is not None:
            self._serve(name)

    def _serve(self, name: str) -> None:
        task = self._loops.get(name)
        if task is None or task.done():
            self._loops[name] = asyncio.create_task(self._loop(name), name=f"async-{name}")

    def _slots(self, name: str) -> int:
        function = self._functions.get(name)
        if function is None:
            return 1
        per_replica = concurrency_from_labels(function.labels, self._concurrency)
        return per_replica * max(1, function.available_replicas)

    async def _loop(self, name: str) -> None:
        busy: set[asyncio.Task[None]] = set()
        try:
            while True:
                free = self._slots(name) - len(busy)
                if free <= 0:
                    done, _ = await asyncio.wait(busy, return_when=asyncio.FIRST_COMPLETED)
                    busy.difference_update(done)
                    continue
                try:
                    leases = await self._queue.claim(name, free, _CLAIM_WAIT)
                except Exception as exc:
                    log.warning("[queue] cannot take calls for %s: %s", name, exc)
                    await asyncio.sleep(_BACKEND_PAUSE)
                    continue
                gone = not leases and not busy and self._functions.get(name) is None
                if gone and name not in await self._queue.functions():
                    return
                for lease in leases:
                    task = asyncio.create_task(self._deliver(lease))
                    busy.add(task)
                    task.add_done_callback(busy.discard)
        finally:
            for task in busy:
                task.cancel()

    async def _deliver(self, lease: Lease) -> None:
        call = lease.call
        self._running[call.call_id] = lease
        try:
            await self._attempt(lease)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The call stays leased; after a restart (or its lease expiring) it is retried.
            log.exception("[queue] delivering %s of %s failed", call.call_id, call.function)
        finally:
            self._running.pop(call.call_id, None)

    async def _attempt(self, lease: Lease) -> None:
        call = lease.call
        function = self._functions.get(call.function)
        policy = policy_from_labels(function.labels) if function else RetryPolicy()
        retry = lease.delivery - 1
        metrics = self._metrics
        if lease.delivery > policy.attempts:
            # Earlier deliveries were cut short (faasbox stopped while they ran).
            outcome = Outcome(0, f"no answer after {policy.attempts} deliveries")
            await self._finish(lease, policy, outcome, b"", [], 0.0, dead=True)
            return
        headers = [
            *call.headers,
            ("X-Call-Id", call.call_id),
            ("X-Retry", str(retry)),
            ("X-Retry-Max", str(policy.attempts - 1)),
        ]
        target = f"/function/{call.function}{call.path}"
        if call.query:
            target += "?" + call.query
        began = time.perf_counter()
        body, answer_headers, retry_after = b"", [], None
        internal = False
        assert self._client is not None
        try:
            async with self._client.request(
                call.method,
                URL(self._invoke_url + target, encoded=True),
                headers=headers,
                data=call.body,
            ) as response:
                body = await response.read()
                status = response.status
                answer_headers = list(response.headers.items())
                retry_after = response.headers.get("retry-after")
                internal = _INTERNAL in response.headers and status >= 400
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcome = Outcome(0, f"{type(exc).__name__}: {exc}".rstrip(": "))
            retryable = True
        else:
            outcome = Outcome(status, body[:200].decode("utf-8", "replace") if internal else "")
            retryable = internal or policy.retries(status)
        seconds = time.perf_counter() - began
        if retryable and lease.delivery < policy.attempts:
            metrics.async_retried[call.function] += 1
            await self._queue.retry(lease, policy.delay(retry, retry_after), outcome)
            return
        await self._finish(lease, policy, outcome, body, answer_headers, seconds, dead=retryable)

    async def _finish(
        self,
        lease: Lease,
        policy: RetryPolicy,
        outcome: Outcome,
        body: bytes,
        answer_headers: list[tuple[str, str]],
        seconds: float,
        *,
        dead: bool,
    ) -> None:
        """The final attempt: the callback first, then the queue forgets (or buries) the call,
        so a kill in between repeats the call rather than losing its callback."""
        call = lease.call
        if call.callback_url:
            own = dict((k.lower(), v) for k, v in answer_headers)
            extra = {
                "X-Call-Id": call.call_id,
                "X-Function-Name": call.function,
                "X-Function-Status": str(outcome.status or 503),
                "X-Duration-Seconds": own.get("x-duration-seconds") or f"{seconds:f}",
                "X-Retry": str(lease.delivery - 1),
                "X-Retry-Max": str(policy.attempts - 1),
            }
            await self._callbacks.send(
                call.callback_url, call.function, body, answer_headers, extra
            )
        if dead:
            self._metrics.async_dead_letters[call.function] += 1
            log.warning(
                "[queue] %s of %s is a dead letter after %d deliveries: %s",
                call.call_id,
                call.function,
                lease.delivery,
                outcome.error or f"status {outcome.status}",
            )
            await self._queue.bury(lease, outcome)
        else:
            self._metrics.async_delivered[call.function] += 1
            await self._queue.done(lease)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            if self._running:
                try:
                    await self._queue.renew(list(self._running.values()))
                except Exception as exc:
                    log.warning("[queue] cannot renew leases: %s", exc)

    async def _measure_forever(self) -> None:
        while True:
            try:
                zero = {f.name: (0, 0, 0) for f in self._functions.all()}
                self._metrics.async_depths = zero | await self._queue.depths()
            except Exception as exc:
                log.warning("[queue] cannot read queue depths: %s", exc)
            await asyncio.sleep(_DEPTH_EVERY)
