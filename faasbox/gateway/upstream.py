"""One keep-alive HTTP/1.1 client connection to a replica, as an asyncio.Protocol.

httpx and aiohttp cost more per request than the whole rest of the invoke path, so
the gateway talks HTTP/1.1 itself: it writes a request head it built, and this
protocol parses the answer with httptools. Parser callbacks only record and wake
the one waiting coroutine; the gateway pulls the head and then the body at its own
pace. Both directions have a high-water mark: response bytes past it pause reading
from the replica, and a paused transport makes request-body writers wait.
"""

from __future__ import annotations

import asyncio
from typing import cast

import httptools

# Response bytes held for the gateway before the replica's socket stops being read.
READ_HIGH_WATER = 1 << 18
# Request bytes queued in the transport before writers wait for the replica.
WRITE_HIGH_WATER = 1 << 18


class UpstreamError(Exception):
    """The replica broke the exchange; the message is short and safe to show a client."""


class Upstream(asyncio.Protocol):
    """A connection that carries one exchange at a time; `begin()` starts the next one."""

    def __init__(self, address: str, loop: asyncio.AbstractEventLoop) -> None:
        self.address = address
        self.idle_since = 0.0
        self.closed = False
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False
        self._fresh_parser = False
        self._active = False
        self._error = ""
        self._reset(head_only=False)

    def _reset(self, *, head_only: bool) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.keep_alive = False
        self.got_bytes = False
        self._head_only = head_only
        self._head_done = False
        self._complete = False
        self._framed = True
        self._chunks: list[bytes] = []
        self._buffered = 0

    # exchange API (the gateway) ----------------------------------------------------
    def begin(self, *, head_only: bool) -> None:
        """Prepare for a new exchange. A HEAD answer carries no body whatever its headers
        say, and httptools cannot be told so: the parser that saw one is replaced."""
        if self._fresh_parser:
            self._parser = httptools.HttpResponseParser(self)
            self._fresh_parser = False
        self._reset(head_only=head_only)
        self._active = True

    def write(self, data: bytes) -> None:
        if self._transport is not None and not self.closed:
            self._transport.write(data)

    async def drain(self) -> None:
        """Wait while the replica is not reading what we send."""
        if self._write_paused and not self.closed:
            self._drained = self._loop.create_future()
            try:
                await self._drained
            finally:
                self._drained = None
        if self.closed:
            raise UpstreamError(self._error or "connection closed while sending")

    async def read_head(self) -> None:
        """Wait for the status line and headers (informational answers are skipped)."""
        while not self._head_done:
            if self.closed:
                raise UpstreamError(self._error or "connection closed before a response")
            await self._wait()

    async def read_body(self) -> tuple[bytes, bool]:
        """Everything received since the last call, and whether the body is complete."""
        while not self._chunks and not self._complete:
            if self.closed:
                if self._framed:
                    raise UpstreamError(self._error or "connection closed mid-response")
                self._complete = True  # the body was delimited by the close
                break
            await self._wait()
        chunks, self._chunks, self._buffered = self._chunks, [], 0
        if self._read_paused and self._transport is not None:
            self._read_paused = False
            self._transport.resume_reading()
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return data, self._complete

    @property
    def reusable(self) -> bool:
        """Only a connection whose last answer was read to its end may carry another."""
        return self._complete and self.keep_alive and not self.closed and self._framed

    def finish(self) -> None:
        self._active = False

    def close(self, reason: str = "") -> None:
        if reason and not self._error:
            self._error = reason
        if self._transport is not None:
            self._transport.close()
        self._lost()

    def _wait(self) -> asyncio.Future[None]:
        self._waiter = self._loop.create_future()
        return self._waiter

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _lost(self) -> None:
        self.closed = True
        self._wake()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self._transport = cast(asyncio.Transport, transport)
        self._transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)

    def data_received(self, data: bytes) -> None:
        if not self._active:
            self.close("unexpected bytes on an idle connection")
            return
        self.got_bytes = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.close(f"invalid response from the function ({exc})")

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and not self._error:
            self._error = f"connection lost ({exc})"
        self._lost()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # httptools callbacks: record and signal only -------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            self.headers = []
            return
        self.status = status
        self.keep_alive = self._parser.should_keep_alive()
        self._head_done = True
        if self._head_only or status in (204, 304):
            self._complete = True
            self._fresh_parser = True
            if status == 204 and not self._head_only and _declares_body(self.headers):
                # A 204 with a body (naive servers send one): the bytes that follow would
                # be read as the next answer, so the connection is not used again.
                self.keep_alive = False
        else:
            self._framed = _framed(self.headers)
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self._complete:
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > READ_HIGH_WATER and not self._read_paused:
            self._read_paused = True
            assert self._transport is not None
            self._transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.status:
            self._complete = True
            self._wake()


def _framed(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the body has a length or chunking; otherwise it ends when the replica closes."""
    for name, _ in headers:
        lowered = name.lower()
        if lowered == b"content-length" or lowered == b"transfer-encoding":
            return True
    return False


def _declares_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"transfer-encoding" or (lowered == b"content-length" and value != b"0"):
            return True
    return False
