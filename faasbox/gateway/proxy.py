"""The invoke path: `/function/<name>[/path]` forwarded to a ready replica and back.

app.py hands these requests over as raw ASGI, before Starlette, so the work per
request is what is written here: find the function in the in-memory view, pick
the least busy replica, write one request head to a pooled connection, stream
the bodies both ways, count the call. Docker is never called on this path.
Errors are short plain text, with the codes of the OpenFaaS contract: 404 unknown
function, 503 no ready replica, 502 when the replica fails or times out.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

from starlette.types import Receive, Scope, Send

from faasbox.functions import Function
from faasbox.gateway.balancer import Backend, Balancer
from faasbox.gateway.headers import RequestHead, request_head, response_headers
from faasbox.gateway.pool import FUNCTION_PORT, Pool
from faasbox.gateway.upstream import Upstream, UpstreamError
from faasbox.runtime import Runtime
from faasbox.scaling.waker import Waker, WakeTimeout

log = logging.getLogger("faasbox.gateway")

_PREFIX = b"/function/"
# How long a call runs before a task starts watching for its caller hanging up.
WATCH_AFTER = 0.05
# A code for the metrics when the caller hung up before the answer (nginx's convention);
# nothing is sent with it.
CLIENT_GONE = 499
_ERROR_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"x-openfaas-internal", b"proxy"),
]


class NoReplica(Exception):
    """The function exists but no replica can take requests now."""


class _Refused(Exception):
    """A short answer for the caller, decided before anything was sent."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


class _ClientGone(Exception):
    pass


class Gateway:
    """The ASGI callable app.py sends `/function/` and `/async-function/` requests to."""

    def __init__(self, runtime: Runtime, waker: Waker | None = None) -> None:
        settings = runtime.settings
        self.waker = waker
        self.functions = runtime.functions
        self.metrics = runtime.metrics
        self.balancer = Balancer()
        self.pool = Pool()
        self.suffix = "." + settings.namespace
        self.max_body = settings.max_body_size
        self.read_timeout = _seconds(settings.read_timeout)
        # Reading the caller's body is bounded by read_timeout; the whole exchange, answer
        # included, by upstream_timeout (as Go's client timeout does) and write_timeout.
        limits = [t for t in (settings.write_timeout, settings.upstream_timeout) if t > 0]
        self.exchange_timeout = min(limits) if limits else None

    async def start(self) -> None:
        for function in self.functions.all():
            self._on_change(function.name, function)
        self.functions.listen(self._on_change)
        self.metrics.pool_size = lambda: self.pool.size
        self.pool.start()

    async def stop(self) -> None:
        await self.pool.close()

    def _on_change(self, name: str, function: Function | None) -> None:
        """Replicas that leave stop getting new requests now; their idle connections close,
        in-flight ones finish on their own connection."""
        added, gone = self.balancer.update(name, function)
        for address in added:
            self.pool.admit(address)
        for address in gone:
            self.pool.drop(address)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw: bytes = scope.get("raw_path") or scope["path"].encode()
        if not raw.startswith(_PREFIX):
            await _reply_async_unavailable(send)
            return
        slash = raw.find(b"/", len(_PREFIX))
        if slash < 0:
            name, path = raw[len(_PREFIX) :].decode("latin-1"), b"/"
        else:
            name, path = raw[len(_PREFIX) : slash].decode("latin-1"), raw[slash:]
        if name.endswith(self.suffix):
            name = name[: -len(self.suffix)]
        function = self.functions.get(name) if name else None
        if function is None:
            await _reply(send, 404, f"function {name or '(none)'} not found")
            return
        await _Exchange(self, name, path, scope, receive, send).run(function)

    async def _replicas_for(self, name: str, function: Function) -> tuple[Backend, ...]:
        """The replicas to balance over; with none, the waker wakes the function (if it is at
        zero) and this request waits for its first ready replica."""
        backends = self.balancer.backends(name)
        if not backends and self.waker is not None:
            await self.waker.ready(name)
            backends = self.balancer.backends(name)
        if not backends:
            raise NoReplica(name)
        return backends


class _Exchange:
    """One invocation: its request, the replica connection it holds, and how it ended.

    Two coroutines share it. The invoking task connects, sends the head, waits for the
    answer and streams it back. The caller-side task streams the rest of a long request
    body (concurrently, as a function may answer while it still reads) and then watches
    for the caller hanging up; either way, trouble on that side closes the replica
    connection, which is what wakes the invoking task.
    """

    __slots__ = (
        "caller_side",
        "code",
        "conn",
        "failure",
        "finished",
        "gateway",
        "name",
        "path",
        "receive",
        "response_started",
        "scope",
        "send",
        "sent",
    )

    def __init__(
        self, gateway: Gateway, name: str, path: bytes, scope: Scope, receive: Receive, send: Send
    ) -> None:
        self.gateway = gateway
        self.name = name
        self.path = path
        self.scope = scope
        self.receive = receive
        self.send = send
        self.code = 502
        self.conn: Upstream | None = None
        self.failure: _Refused | None = None
        self.caller_side: asyncio.Task[None] | None = None
        self.sent = False
        self.finished = False
        self.response_started = False

    async def run(self, function: Function) -> None:
        metrics = self.gateway.metrics
        metrics.request_started(self.name)
        began = time.perf_counter()
        try:
            await self._run(function)
        finally:
            metrics.request_finished(self.name, self.code, time.perf_counter() - began)

    async def _run(self, function: Function) -> None:
        gateway, scope = self.gateway, self.scope
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        start_ns = b"%d" % time.time_ns()
        query: bytes = scope["query_string"]
        method: str = scope["method"]
        target = self.path + b"?" + query if query else self.path
        start_line = b"%s %s HTTP/1.1\r\nhost: %s:%d\r\n" % (
            method.encode(),
            target,
            self.name.encode(),
            FUNCTION_PORT,
        )
        reading = False
        try:
            # One deadline for the whole exchange keeps the timer cost to one handle.
            async with asyncio.timeout_at(_at(t0, gateway.exchange_timeout)):
                head = request_head(
                    start_line,
                    scope["headers"],
                    scope.get("client"),
                    _call_id,
                    start_ns,
                )
                reading = True
                first, more = await self._first_body(head, _at(t0, gateway.read_timeout))
                reading = False
                backends = await gateway._replicas_for(self.name, function)
                backend = await self._send_request(backends, head, method, first, more)
                if more:
                    upload = self._upload(head, first, _at(t0, gateway.read_timeout))
                    self.caller_side = loop.create_task(upload)
                    watch = None
                else:
                    # Most calls end within a few ms: a timer is much cheaper than a task,
                    # so the caller is watched only once the call has lasted a while.
                    watch = loop.call_at(t0 + WATCH_AFTER, self._watch, loop)
                try:
                    conn = self.conn
                    assert conn is not None
                    await conn.read_head()
                    await self._respond(conn, head, start_ns)
                finally:
                    backend.outstanding -= 1
                    self._release()
                    if watch is not None:
                        watch.cancel()
                    if self.caller_side is not None and not self.caller_side.done():
                        self.caller_side.cancel()
        except _Refused as refused:
            await self._refuse(refused.status, refused.text)
        except NoReplica:
            await self._refuse(503, f"no ready replica for function {self.name}")
        except WakeTimeout as exc:
            await self._refuse(504, str(exc))
        except _ClientGone:
            self.code = CLIENT_GONE
            self._release()
        except TimeoutError:
            if reading:
                await self._refuse(408, "request body not received within read_timeout")
            else:
                await self._refuse(502, f"function {self.name} timed out")
        except UpstreamError as exc:
            if self.failure is not None:
                await self._refuse(self.failure.status, self.failure.text)
            else:
                await self._refuse(502, f"function {self.name} failed: {exc}")

    async def _first_body(self, head: RequestHead, deadline: float | None) -> tuple[bytes, bool]:
        """The body's first part, and whether more follows. A body that arrives whole (the
        common case) goes upstream with a Content-Length, even if the caller chunked it."""
        max_body = self.gateway.max_body
        if head.content_length > max_body:
            raise _Refused(413, f"request body larger than {max_body} bytes")
        if head.content_length <= 0 and not head.chunked:
            return b"", False
        async with asyncio.timeout_at(deadline):
            message = await self.receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        body: bytes = message.get("body", b"")
        if len(body) > max_body:
            raise _Refused(413, f"request body larger than {max_body} bytes")
        return body, message.get("more_body", False)

    async def _send_request(
        self,
        backends: tuple[Backend, ...],
        head: RequestHead,
        method: str,
        first: bytes,
        more: bool,
    ) -> Backend:
        """Connect and send the head (and a body already at hand). A replica refusing the
        connection is passed over for another; a kept connection the replica closed while
        idle is replaced, as long as the whole request can still be written again."""
        gateway = self.gateway
        if more:
            framing = (
                b"content-length: %d\r\n\r\n" % head.content_length
                if head.content_length >= 0
                else b"transfer-encoding: chunked\r\n\r\n"
            )
        elif first or head.content_length >= 0 or head.chunked:
            framing = b"content-length: %d\r\n\r\n" % len(first)
        else:
            framing = b"\r\n"
        request = b"".join(head.lines) + framing
        tried: list[Backend] = []
        while True:
            backend = gateway.balancer.pick(backends, tried)
            if backend is None:
                raise _Refused(502, f"cannot reach any replica of function {self.name}")
            conn = gateway.pool.idle(backend.address)
            reused = conn is not None
            if conn is None:
                try:
                    conn = await gateway.pool.connect(backend.address)
                except (OSError, TimeoutError):
                    gateway.metrics.connect_errors[self.name] += 1
                    backend.failed()
                    tried.append(backend)
                    continue
            conn.begin(head_only=method == "HEAD")
            self.conn = conn
            if more:
                conn.write(request)
                backend.outstanding += 1
                return backend
            conn.write(request + first if first else request)
            self.sent = True
            if not reused:
                backend.outstanding += 1
                return backend
            try:
                await conn.read_head()
            except UpstreamError:
                if conn.got_bytes:
                    raise
                self._release()
                continue
            backend.outstanding += 1
            return backend

    async def _upload(self, head: RequestHead, data: bytes, deadline: float | None) -> None:
        """Copy the rest of the caller's body (chunked when the caller gave no length),
        then watch the caller. Failures close the replica connection."""
        conn = self.conn
        assert conn is not None
        chunked = head.content_length < 0
        max_body = self.gateway.max_body
        total, more = len(data), True
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    if data:
                        if chunked:
                            conn.write(b"%x\r\n" % len(data))
                            conn.write(data)
                            conn.write(b"\r\n")
                        else:
                            conn.write(data)
                        await conn.drain()
                    if not more:
                        break
                    message = await self.receive()
                    if message["type"] == "http.disconnect":
                        self._caller_gone()
                        return
                    data = message.get("body", b"")
                    more = message.get("more_body", False)
                    total += len(data)
                    if total > max_body:
                        raise _Refused(413, f"request body larger than {max_body} bytes")
        except _Refused as refused:
            self.failure = refused
            conn.close(refused.text)
            return
        except TimeoutError:
            self.failure = _Refused(408, "request body not received within read_timeout")
            conn.close(self.failure.text)
            return
        except UpstreamError:
            return  # the invoking task sees the closed connection and answers
        if chunked:
            conn.write(b"0\r\n\r\n")
        self.sent = True
        await self._watch_caller()

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        self.caller_side = loop.create_task(self._watch_caller())

    async def _watch_caller(self) -> None:
        """A caller that hangs up cancels the call: its replica connection is closed. (Once
        the answer is complete, uvicorn reports a disconnect too; that one changes nothing.)"""
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                break
        if not self.finished:
            self._caller_gone()

    def _caller_gone(self) -> None:
        self.code = CLIENT_GONE
        if self.conn is not None:
            self.conn.close("the caller went away")

    async def _respond(self, conn: Upstream, head: RequestHead, start_ns: bytes) -> None:
        send = self.send
        self.code = conn.status
        await send(
            {
                "type": "http.response.start",
                "status": conn.status,
                "headers": response_headers(conn.headers, head, start_ns),
            }
        )
        self.response_started = True
        while True:
            data, done = await conn.read_body()
            self.finished = done
            await send({"type": "http.response.body", "body": data, "more_body": not done})
            if done:
                return

    def _release(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            self.gateway.pool.release(conn, keep=self.finished and self.sent)

    async def _refuse(self, status: int, text: str) -> None:
        conn = self.conn
        if conn is not None:
            conn.close()
            self._release()
        if self.code == CLIENT_GONE:
            return
        if self.response_started:
            log.warning("[gateway] %s: %s after the answer began", self.name, text)
            return
        self.code = status
        await _reply(self.send, status, text)


async def _reply(send: Send, status: int, text: str) -> None:
    body = text.encode() + b"\n"
    headers = [*_ERROR_HEADERS, (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _reply_async_unavailable(send: Send) -> None:
    """`/async-function/` is the async queue's (not built yet): say so plainly."""
    body = b'{"message":"async invocations are not implemented yet; use /function/"}'
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(body)),
    ]
    await send({"type": "http.response.start", "status": 501, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _call_id() -> bytes:
    """A random (version 4) UUID, formatted without building a uuid.UUID."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex().encode()
    return b"%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def _seconds(value: float) -> float | None:
    """Timeouts of 0 (or less) mean none, as in OpenFaaS."""
    return value if value > 0 else None


def _at(t0: float, *timeouts: float | None) -> float | None:
    """The loop time when the shortest of the given timeouts expires."""
    limits = [t for t in timeouts if t is not None]
    return t0 + min(limits) if limits else None
