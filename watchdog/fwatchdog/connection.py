"""One client connection of the watchdog's HTTP/1.1 server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from fwatchdog.http1 import (
    MAX_HEAD,
    READ_SIZE,
    STATUS_LINES,
    BadRequest,
    Body,
    Request,
    chunk_size,
    http_date,
    wake,
)

if TYPE_CHECKING:
    from fwatchdog.server import Server


# Response bytes queued in the transport before handlers wait for the client.
WRITE_HIGH_WATER = 1 << 16
_IDLE, _BODY, _WAIT = range(3)  # between requests, reading a body, answering

# Every connection receives into this one buffer: the loop calls get_buffer, recv_into and
# buffer_updated back to back, and fixed 64 KiB reads keep the heap from fragmenting.
_RECEIVE = memoryview(bytearray(READ_SIZE))


class Connection(asyncio.BufferedProtocol):
    """One client connection: parses requests, feeds bodies, writes responses.

    Requests on a connection are served one at a time; pipelined bytes wait in the buffer
    until the response before them is finished. Losing the connection cancels the handler,
    which is how a client that hangs up gets its child killed.
    """

    def __init__(self, server: Server) -> None:
        self._server = server
        self._loop = server.loop
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._state = _IDLE
        self._request: Request | None = None
        self._task: asyncio.Task[None] | None = None
        self._remaining = 0  # body bytes left (Content-Length) or in the current chunk
        self._chunk_state = 0  # 0 size line, 1 data, 2 CRLF after data, 3 trailers
        self._read_timer: asyncio.TimerHandle | None = None
        self._write_timer: asyncio.TimerHandle | None = None
        self._paused_reading = False
        self._writable: asyncio.Future[None] | None = None
        self._response_chunked = False
        self._response_started = False
        self._no_body = False  # a HEAD request, or a status that has no body
        self._head = b""  # a response head not yet written
        self.closing = False
        self.closing_after_response = False

    # asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # a TCP server's always is
        self._transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self._server.connections.add(self)
        self._arm_read_timer()

    def get_buffer(self, sizehint: int) -> memoryview:
        return _RECEIVE

    def buffer_updated(self, nbytes: int) -> None:
        received = _RECEIVE[:nbytes]
        request = self._request
        if (
            self._state == _BODY
            and request is not None
            and not self._buf
            and (self._chunk_state == 1 or not request.chunked)
        ):
            # The bulk of a large body goes straight to the handler, not through the buffer.
            take = min(self._remaining, nbytes)
            if take:
                self._remaining -= take
                request.body.feed(bytes(received[:take]))
                received = received[take:]
        self._buf += received
        self._parse()

    def eof_received(self) -> bool:
        """A client's EOF counts as hanging up, as Go's server treats it: its child is
        killed rather than left to finish for nobody. (Half-closing clients are rare.)"""
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self._server.forget(self)
        for timer in (self._read_timer, self._write_timer):
            if timer is not None:
                timer.cancel()
        if self._request is not None:
            self._request.body.finish(lost=not self._request.body.complete)
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._writable is not None:
            wake(self._writable)

    def pause_writing(self) -> None:
        self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None:
            wake(self._writable)
        self._writable = None

    # parsing ---------------------------------------------------------------------------

    def _parse(self) -> None:
        while not self.closing:
            if self._state == _BODY and not self._consume_body():
                return
            if self._state != _IDLE:
                if len(self._buf) > MAX_HEAD:  # pipelined requests wait, within bounds
                    self._pause_reading(True)
                return
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > MAX_HEAD:
                    self._reject(BadRequest(431, "request head too large"))
                return
            head = bytes(self._buf[:end])
            del self._buf[: end + 4]
            if not head.strip():
                continue
            try:
                request = Request(head)
            except BadRequest as exc:
                self._reject(exc)
                return
            self._start(request)

    def _start(self, request: Request) -> None:
        self._request = request
        self._response_started = False
        self._response_chunked = False
        self._remaining = 0 if request.chunked else request.content_length
        self._chunk_state = 0
        if request.body.complete:
            self._body_complete()
        else:
            self._state = _BODY
            expects = request.first.get("expect", "").lower() == "100-continue"
            request.body.bind(self._pause_reading, self._send_continue if expects else None)
        if self._server.config.write_timeout:
            self._write_timer = self._loop.call_later(
                self._server.config.write_timeout, self._deadline_passed
            )
        self._task = self._loop.create_task(self._server.handle(request, self))

    def _consume_body(self) -> bool:
        """Moves body bytes from the buffer to the handler; True once the body is complete."""
        assert self._request is not None
        body = self._request.body
        if not self._request.chunked:
            if not self._take_counted(body):
                return False
            self._body_complete()
            return True
        while True:
            if self._chunk_state == 1:
                if not self._take_counted(body):
                    return False
                self._chunk_state = 2
            end = self._buf.find(b"\r\n")
            if end < 0:
                if len(self._buf) > MAX_HEAD:
                    self._reject(BadRequest(400, "chunk line too long"))
                return False
            line = bytes(self._buf[:end])
            del self._buf[: end + 2]
            if self._chunk_state == 2:
                if line:
                    self._reject(BadRequest(400, "bad chunk terminator"))
                    return False
                self._chunk_state = 0
            elif self._chunk_state == 3:
                if not line:
                    self._body_complete()
                    return True
            else:
                try:
                    self._remaining = chunk_size(line)
                except ValueError:
                    self._reject(BadRequest(400, "bad chunk size"))
                    return False
                self._chunk_state = 1 if self._remaining else 3

    def _take_counted(self, body: Body) -> bool:
        """Feeds up to `_remaining` buffered bytes (a Content-Length body or one chunk);
        True once all of them have arrived."""
        take = min(self._remaining, len(self._buf))
        if take:
            body.feed(bytes(self._buf[:take]))
            del self._buf[:take]
            self._remaining -= take
        return not self._remaining

    def _body_complete(self) -> None:
        assert self._request is not None
        self._state = _WAIT
        self._request.body.finish()
        self._pause_reading(False)
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _reject(self, exc: BadRequest) -> None:
        """A request that cannot be parsed ends the connection: framing is lost."""
        if self._request is None or not self._response_started:
            self._request = None
            self.respond(exc.status, f"{exc}\n".encode(), close=True)
        elif self._transport is not None:
            self._transport.abort()

    # flow control and timers -------------------------------------------------------------

    def _pause_reading(self, pause: bool) -> None:
        if self._transport is None or self.closing or pause == self._paused_reading:
            return
        self._paused_reading = pause
        if pause:
            self._transport.pause_reading()
        else:
            self._transport.resume_reading()

    def _send_continue(self) -> None:
        if self._transport is not None and not self.closing:
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _arm_read_timer(self) -> None:
        if self._server.config.read_timeout:
            self._read_timer = self._loop.call_later(
                self._server.config.read_timeout, self._deadline_passed
            )

    def _deadline_passed(self) -> None:
        """read_timeout or write_timeout: the connection goes, and with it any child."""
        if self._transport is not None:
            self._transport.abort()

    def close_when_idle(self) -> None:
        if self._request is None and self._transport is not None:
            self._transport.close()
        self.closing_after_response = True

    # responses ---------------------------------------------------------------------------

    def start_response(
        self, status: int, headers: Iterable[tuple[str, str]], length: int | None
    ) -> None:
        """Sends the head; `length` None means the size is unknown and the body is chunked."""
        assert self._request is not None and self._transport is not None
        self._response_started = True
        self._no_body = self._request.method == "HEAD" or status in (204, 304)
        lines = [STATUS_LINES.get(status) or f"HTTP/1.1 {status} Unknown\r\n".encode()]
        lines.append(b"Date: " + http_date() + b"\r\n")
        for name, value in headers:
            lines.append(f"{name}: {value}\r\n".encode("latin-1"))
        if length is not None:
            lines.append(b"Content-Length: %d\r\n" % length)
        elif self._no_body:
            pass
        elif self._request.version == "HTTP/1.1":
            lines.append(b"Transfer-Encoding: chunked\r\n")
            self._response_chunked = True
        else:
            self._request.keep_alive = False
        if not self._request.keep_alive or self.closing_after_response:
            lines.append(b"Connection: close\r\n")
        lines.append(b"\r\n")
        # Held back to go out with the first body bytes: one send, one packet, when small.
        self._head = b"".join(lines)

    def write(self, data: bytes) -> None:
        if not data or self._transport is None or self.closing or self._no_body:
            return
        if self._response_chunked:
            data = b"%x\r\n%b\r\n" % (len(data), data)
        if self._head:
            data = self._head + data
            self._head = b""
        self._transport.write(data)

    def flush(self) -> None:
        """Sends a held-back head now: for bodies that may be slow to come."""
        if self._head and self._transport is not None and not self.closing:
            self._transport.write(self._head)
        self._head = b""

    async def drain(self) -> None:
        if self._writable is not None:
            await self._writable
        if self.closing:
            raise ConnectionResetError("client went away")

    def end_response(self) -> None:
        request = self._request
        if request is None or self._transport is None or self.closing:
            return
        self._transport.write(self._head + (b"0\r\n\r\n" if self._response_chunked else b""))
        self._head = b""
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        self._request = None
        self._task = None
        if not request.keep_alive or not request.body.complete or self.closing_after_response:
            self._transport.close()
            self.closing = True
            return
        self._state = _IDLE
        self._arm_read_timer()
        self._pause_reading(False)
        if self._buf:
            self._parse()

    def respond(
        self,
        status: int,
        body: bytes,
        headers: Iterable[tuple[str, str]] = (),
        close: bool = False,
    ) -> None:
        if self._transport is None or self.closing:
            return
        if self._request is None:  # an unparseable request: answer, then hang up
            self._transport.write(
                STATUS_LINES[status] + b"Content-Type: text/plain; charset=utf-8\r\n"
                b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body
            )
            self._transport.close()
            self.closing = True
            return
        if close:
            self._request.keep_alive = False
        self.start_response(
            status, [("Content-Type", "text/plain; charset=utf-8"), *headers], len(body)
        )
        self.write(body)
        self.end_response()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    @property
    def response_started(self) -> bool:
        return self._response_started
