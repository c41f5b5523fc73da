"""One invocation, from the caller's request head to the last byte of the answer.

The server protocol (`gateway/server.py`) creates a `Call` when a `/function/` head is
parsed and feeds it the caller's body; the replica's connection (`gateway/upstream.py`)
feeds it the answer. Nothing here is a coroutine on the common path: the head and a
body that is already whole go to the replica in one write, the answer's head and the
bytes that came with it go to the caller in one write, and each side's transport
pauses the other when it falls behind. A task exists only while a connection is
made or a sleeping function is woken.

A call is outstanding on its replica from the moment it claims it, and a request is
written to a replica once; it is written again only when it was idempotent, sent
whole on a kept connection, and the replica closed that connection without a byte
of answer (it had timed the connection out just then). A caller that hangs up
closes the replica connection at once, which is what stops a fork-mode child.

Why one module of about 500 lines: nearly all of it is `Call`, one state machine
whose transitions (caller's body, replica claim, send, answer, loss, retry, refusal,
deadline, finish) read and set the same slotted fields; both protocols call into it
and each transition can end in any other. Split over modules (mixins, or helpers that
take the call), a reader would have to hold several files to follow one call, and the
invariants (a replica claimed once and given back once, one answer per call) would no
longer sit next to every place that must keep them. What is not the state machine is
already elsewhere: head rewriting in `headers.py`, replica choice in `balancer.py`,
connections in `pool.py` and `upstream.py`.
"""

from __future__ import annotations

import asyncio
import http
import logging
import os
import time
from typing import TYPE_CHECKING, Protocol

from faasbox.engine.errors import EngineError, FunctionNotFound
from faasbox.gateway.balancer import Backend, Route
from faasbox.gateway.headers import request_head, response_head
from faasbox.gateway.upstream import Upstream
from faasbox.scaling.waker import WakeTimeout

if TYPE_CHECKING:
    from faasbox.gateway.proxy import Gateway

log = logging.getLogger("faasbox.gateway")

# A body up to this size is collected before the request leaves, so it goes with its
# head in one write and with a Content-Length; a longer one streams.
SMALL_BODY = 1 << 16
# Caller bytes held while no replica connection takes them yet.
BODY_HIGH_WATER = 1 << 18
# RFC 9110 section 9.2.2: methods a client may repeat, so a proxy may too.
IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"})
# The metrics code when the caller hung up before the answer (nginx's convention).
CLIENT_GONE = 499


def _status_line(code: int) -> bytes:
    try:
        phrase = http.HTTPStatus(code).phrase.encode()
    except ValueError:
        phrase = b""
    return b"HTTP/1.1 %d %s\r\n" % (code, phrase)


STATUS_LINES = {code: _status_line(code) for code in range(100, 600)}


class Caller(Protocol):
    """What the server protocol offers the call on the caller's connection."""

    def write(self, data: bytes) -> None: ...
    def date_line(self) -> bytes: ...
    def pause_caller(self, paused: bool) -> None: ...
    def call_done(self, keep_alive: bool) -> None: ...


class Call:
    """One invocation's state, shared by the caller's and the replica's protocols."""

    __slots__ = (
        "backend",
        "began",
        "body",
        "body_deadline",
        "body_done",
        "buffered",
        "caller",
        "chunked_down",
        "chunked_up",
        "code",
        "conn",
        "continue_100",
        "deadline",
        "fresh_only",
        "gateway",
        "head",
        "http11",
        "keep_alive",
        "method",
        "name",
        "out",
        "queued",
        "response_complete",
        "response_started",
        "retried",
        "reused",
        "route",
        "start_ns",
        "streaming",
        "task",
        "tried",
        "upstream_done",
        "waiting",
    )

    def __init__(
        self,
        gateway: Gateway,
        caller: Caller,
        name: str,
        route: Route | None,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        client: tuple[str, int] | None,
        *,
        keep_alive: bool,
        http11: bool,
        continue_100: bool,
    ) -> None:
        self.gateway = gateway
        self.caller = caller
        self.name = name
        self.route = route
        self.method = method
        self.keep_alive = keep_alive
        self.http11 = http11
        self.continue_100 = continue_100
        self.start_ns = b"%d" % time.time_ns()
        host = route.host if route is not None else b""
        self.head = request_head(
            b"%s %s HTTP/1.1\r\n%s" % (method, target, host),
            headers,
            client,
            _call_id,
            self.start_ns,
        )
        self.body: list[bytes] = []
        self.buffered = 0
        self.body_done = self.head.content_length <= 0 and not self.head.chunked
        self.code = 502
        self.conn: Upstream | None = None
        self.backend: Backend | None = None
        self.tried: list[Backend] = []
        self.task: asyncio.Task[None] | None = None
        # Loop times the gateway's sweep compares with (0: none); cheaper than timers.
        self.deadline = self.body_deadline = 0.0
        self.out: list[bytes] = []
        self.began = 0.0
        self.reused = self.retried = self.fresh_only = False
        self.streaming = self.chunked_up = self.chunked_down = False
        self.waiting = self.queued = False
        self.response_started = self.response_complete = self.upstream_done = False

    # the caller's side (server protocol) ----------------------------------------------
    def start(self) -> None:
        """The caller's connection is ours (earlier pipelined answers are out): go."""
        gateway, route = self.gateway, self.route
        if route is None:  # unknown functions are not counted
            if self.body_done:
                self._unknown()
            else:
                self.waiting = True  # answer once the body is read: it may be malformed
            return
        gateway.metrics.request_started(self.name)
        self.began = time.perf_counter()
        gateway.calls.add(self)
        now = gateway.loop.time()
        if gateway.max_body < self.head.content_length:
            self._refuse(413, f"request body larger than {gateway.max_body} bytes")
            return
        if not self.body_done:
            if self.continue_100:
                self.caller.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if gateway.read_timeout:
                self.body_deadline = now + gateway.read_timeout
        if gateway.exchange_timeout:
            self.deadline = now + gateway.exchange_timeout
        if self.body_done or self.head.content_length > SMALL_BODY:
            self._go()
        else:
            self.waiting = True

    def request_body(self, data: bytes) -> None:
        if self.response_complete or self.route is None:
            return
        self.buffered += len(data)
        if self.buffered > self.gateway.max_body:
            self._refuse(413, f"request body larger than {self.gateway.max_body} bytes")
            return
        conn = self.conn
        if self.streaming and conn is not None:
            conn.write(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked_up else data)
            return
        self.body.append(data)
        if self.waiting and self.buffered >= SMALL_BODY:
            self.waiting = False
            self._go()
        elif self.buffered > BODY_HIGH_WATER:
            self.caller.pause_caller(True)

    def request_done(self) -> None:
        if self.response_complete:
            return
        self.body_done = True
        if self.streaming and self.conn is not None:
            if self.chunked_up:
                self.conn.write(b"0\r\n\r\n")
        elif self.waiting:
            self.waiting = False
            if self.route is None:
                self._unknown()
            else:
                self._go()

    def invalid(self) -> None:
        """The caller's bytes stopped parsing (bad framing): one 400 and the connection
        closes, whatever the call had begun; nothing more reaches the replica."""
        self.keep_alive = False
        self._refuse(400, "invalid HTTP request")

    def _unknown(self) -> None:
        self.response_started = True
        self._reply(404, f"function {self.name or '(none)'} not found")
        self._finish()

    def caller_paused(self, paused: bool) -> None:
        """The caller reads slower than the replica answers: hold the replica."""
        if self.conn is not None:
            self.conn.pause_reading(paused)

    def caller_gone(self) -> None:
        if self.response_complete:
            return
        self.code = CLIENT_GONE
        if self.conn is not None:
            self.conn.close("the caller went away")
            self.conn = None
        self.keep_alive = False
        self._finish()

    # choosing a replica ----------------------------------------------------------------
    def _go(self) -> None:
        """Claim a replica below its cap and send; or wake the function, or queue."""
        if self.response_complete:
            return
        gateway, route = self.gateway, self.route
        assert route is not None
        backends = route.backends
        if not backends:
            if gateway.waker is None:
                self._refuse(503, f"no ready replica for function {self.name}")
            else:
                self.task = gateway.loop.create_task(self._wake())
            return
        backend = gateway.balancer.pick(route, self.tried)
        if backend is None:
            if all(b in self.tried for b in backends):
                self._refuse(502, f"cannot reach any replica of function {self.name}")
            elif len(route.waiters) >= gateway.max_queued:
                self._refuse(429, f"too many calls waiting for function {self.name}")
            else:
                self.queued = True
                route.waiters.append(self._dequeued)
            return
        backend.outstanding += 1
        self.backend = backend
        conn = None
        if not self.fresh_only:
            conn = gateway.pool.idle(backend.address, time.monotonic() - route.idle_timeout)
        if conn is not None:
            self._send(conn, reused=True)
        else:
            self.task = gateway.loop.create_task(self._connect(backend))

    def _dequeued(self) -> None:
        self.queued = False
        self._go()

    async def _connect(self, backend: Backend) -> None:
        gateway = self.gateway
        try:
            conn = await gateway.pool.connect(backend.address)
        except (OSError, TimeoutError):
            self.task = None
            gateway.metrics.connect_errors[self.name] += 1
            backend.failed()
            self._unclaim()
            self.tried.append(backend)
            self._go()
            return
        self.task = None
        if self.response_complete:
            conn.close()
            return
        self._send(conn, reused=False)

    async def _wake(self) -> None:
        waker = self.gateway.waker
        assert waker is not None
        try:
            await waker.ready(self.name)
        except FunctionNotFound:
            self._refuse(404, f"function {self.name} not found")
            return
        except WakeTimeout as exc:
            self._refuse(504, str(exc))
            return
        except EngineError as exc:
            self._refuse(503, f"cannot wake function {self.name}: {exc}")
            return
        finally:
            self.task = None
        assert self.route is not None
        if self.route.backends:
            self._go()
        else:
            self._refuse(503, f"no ready replica for function {self.name}")

    def _unclaim(self) -> None:
        """Give the replica back; the first call waiting for one takes its turn."""
        backend, self.backend = self.backend, None
        if backend is None:
            return
        backend.outstanding -= 1
        route = self.route
        if route is not None and route.waiters:
            self.gateway.loop.call_soon(route.waiters.popleft())

    # the replica's side (upstream protocol) --------------------------------------------
    def _send(self, conn: Upstream, *, reused: bool) -> None:
        self.conn = conn
        self.reused = reused
        head = self.head
        conn.begin(self, head_only=self.method == b"HEAD")
        start = b"".join(head.lines)
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        if self.body_done:
            if body or head.content_length >= 0 or head.chunked:
                conn.write(b"%scontent-length: %d\r\n\r\n%s" % (start, len(body), body))
            else:
                conn.write(start + b"\r\n")
            return
        # The body is still arriving: keep the caller's length, else chunk it.
        self.streaming = True
        if head.content_length >= 0:
            conn.write(b"%scontent-length: %d\r\n\r\n%s" % (start, head.content_length, body))
        else:
            self.chunked_up = True
            first = b"%x\r\n%s\r\n" % (len(body), body) if body else b""
            conn.write(b"%stransfer-encoding: chunked\r\n\r\n%s" % (start, first))
        self.body = []
        self.caller.pause_caller(False)

    def on_head(self, conn: Upstream) -> None:
        status = conn.status
        self.code = status
        lines, has_length = response_head(conn.headers, self.head, self.start_ns)
        framing = b""
        if not (has_length or self.method == b"HEAD" or status in (204, 304)):
            if self.http11:
                self.chunked_down = True
                framing = b"transfer-encoding: chunked\r\n"
            else:
                self.keep_alive = False  # an HTTP/1.0 caller reads to the close
        if not self.body_done:
            self.keep_alive = False  # the rest of the caller's body would be read as a request
        status_line = STATUS_LINES.get(status) or b"HTTP/1.1 %d \r\n" % status
        closing = b"" if self.keep_alive else b"connection: close\r\n"
        self.out.append(
            b"%s%s%s%s%s\r\n" % (status_line, self.caller.date_line(), lines, framing, closing)
        )
        self.response_started = True

    def on_body(self, data: bytes) -> None:
        if self.chunked_down:
            self.out.append(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.out.append(data)

    def on_end(self) -> None:
        if self.chunked_down:
            self.out.append(b"0\r\n\r\n")
        self.upstream_done = True

    def flush(self) -> None:
        out = self.out
        if out:
            self.caller.write(out[0] if len(out) == 1 else b"".join(out))
            out.clear()
        if self.upstream_done:
            self._finish()

    def on_lost(self, conn: Upstream, reason: str) -> None:
        if self.response_complete:
            return
        self.conn = None
        if self.response_started:
            log.warning("[gateway] %s: %s after the answer began", self.name, reason)
            self.keep_alive = False
            self.flush()
            self._finish()
            return
        self._unclaim()
        if (
            not conn.got_bytes
            and self.reused
            and self.body_done
            and not self.retried
            and self.method in IDEMPOTENT
        ):
            # The replica timed out the kept connection as the request went out.
            self.retried = self.fresh_only = True
            self._go()
            return
        self._refuse(502, f"function {self.name} failed: {reason}")

    def upstream_paused(self, paused: bool) -> None:
        """The replica reads slower than the caller sends: stop reading the caller."""
        self.caller.pause_caller(paused)

    # ending ---------------------------------------------------------------------------
    def expire(self, now: float) -> None:
        """The gateway's sweep: end the call if one of its deadlines has passed."""
        if self.body_deadline and now >= self.body_deadline and not self.body_done:
            self._refuse(408, "request body not received within read_timeout")
        elif self.deadline and now >= self.deadline:
            self._expired()

    def _expired(self) -> None:
        if not self.body_done:
            self._refuse(408, "request body not received within read_timeout")
        elif self.queued:
            self._refuse(503, f"no replica of function {self.name} was free in time")
        else:
            self._refuse(502, f"function {self.name} timed out")

    def _refuse(self, status: int, text: str) -> None:
        """End the call with a short answer of our own, or a cut one if the answer began."""
        if self.response_complete:
            return
        if self.conn is not None:
            self.conn.close(text)
            self.conn = None
        if self.response_started:
            log.warning("[gateway] %s: %s after the answer began", self.name, text)
            self.keep_alive = False
        else:
            self.code = status
            if not self.body_done:
                self.keep_alive = False
            self.response_started = True
            self._reply(status, text)
        self._finish()

    def _reply(self, status: int, text: str) -> None:
        body = text.encode() + b"\n"
        closing = b"" if self.keep_alive else b"connection: close\r\n"
        self.caller.write(
            b"%s%scontent-type: text/plain; charset=utf-8\r\nx-openfaas-internal: proxy\r\n"
            b"content-length: %d\r\n%s\r\n%s"
            % (STATUS_LINES[status], self.caller.date_line(), len(body), closing, body)
        )

    def _finish(self) -> None:
        if self.response_complete:
            return
        self.response_complete = True
        self.gateway.calls.discard(self)
        if self.task is not None:
            self.task.cancel()
            self.task = None
        route = self.route
        if self.queued and route is not None:
            self.queued = False
            route.waiters.remove(self._dequeued)
        conn, self.conn = self.conn, None
        if conn is not None:
            self.gateway.pool.release(conn, keep=self.upstream_done and self.body_done)
        self._unclaim()
        if route is not None:
            self.gateway.metrics.request_finished(
                self.name, self.code, time.perf_counter() - self.began
            )
        self.caller.call_done(self.keep_alive and self.code != CLIENT_GONE)


def _call_id() -> bytes:
    """A random (version 4) UUID, formatted without building a uuid.UUID."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex().encode()
    return b"%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])
