"""One keep-alive HTTP/1.1 client connection to a replica, as an asyncio.Protocol.

httpx and aiohttp cost more per request than the whole rest of the invoke path, so
the gateway talks HTTP/1.1 itself: it writes a request head it built, and this
protocol parses the answer with httptools. Nothing here awaits: parser callbacks
hand each part of the answer to the call that holds the connection (its `Sink`),
and `flush()` follows every batch of bytes, so a head and a body that arrived
together leave for the caller in one write. Flow control is the transports':
the call pauses this connection's reading while the caller is slow, and this
connection's write pauses reach the call, which stops reading the caller.
"""

from __future__ import annotations

import asyncio
from typing import Protocol, cast

import httptools


class Sink(Protocol):
    """The call an exchange belongs to."""

    def on_head(self, conn: Upstream) -> None: ...
    def on_body(self, data: bytes) -> None: ...
    def on_end(self) -> None: ...
    def flush(self) -> None: ...
    def on_lost(self, conn: Upstream, reason: str) -> None: ...
    def upstream_paused(self, paused: bool) -> None: ...


class Upstream(asyncio.Protocol):
    """A connection that carries one exchange at a time; `begin()` starts the next one."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.idle_since = 0.0
        self.closed = False
        self.sink: Sink | None = None
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._fresh_parser = False
        self._error = ""
        self._reset(head_only=False)

    def _reset(self, *, head_only: bool) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.keep_alive = False
        self.got_bytes = False
        self.complete = False
        self.framed = True
        self._head_only = head_only
        self._head_done = False

    # exchange API (the call) ---------------------------------------------------------
    def begin(self, sink: Sink, *, head_only: bool) -> None:
        """Prepare for a new exchange. A HEAD answer carries no body whatever its headers
        say, and httptools cannot be told so: the parser that saw one is replaced."""
        if self._fresh_parser:
            self._parser = httptools.HttpResponseParser(self)
            self._fresh_parser = False
        self._reset(head_only=head_only)
        self.sink = sink

    def write(self, data: bytes) -> None:
        if self._transport is not None and not self.closed:
            self._transport.write(data)

    def pause_reading(self, paused: bool) -> None:
        if self._transport is not None and not self.closed:
            if paused:
                self._transport.pause_reading()
            else:
                self._transport.resume_reading()

    @property
    def reusable(self) -> bool:
        """Only a connection whose last answer was read to its end may carry another."""
        return self.complete and self.keep_alive and not self.closed and self.framed

    def finish(self) -> None:
        """End the exchange. A slow caller may have paused reading from the replica as
        its last answer bytes went out; a connection kept paused would never see the
        replica close it, and the next call on it would wait for an answer nobody reads."""
        self.sink = None
        self.pause_reading(False)

    def close(self, reason: str = "") -> None:
        """Close without telling the sink (the call that closes it knows why)."""
        if reason and not self._error:
            self._error = reason
        self.sink = None
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    # asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        sink = self.sink
        if sink is None:
            self._fail("unexpected bytes on an idle connection")
            return
        self.got_bytes = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail("the function switched protocols (101) although no upgrade was asked")
            return
        except httptools.HttpParserError as exc:
            self._fail(f"invalid response from the function ({exc})")
            return
        sink.flush()

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        sink, self.sink = self.sink, None
        if sink is None:
            return
        if self._head_done and not self.framed and not self.complete:
            self.complete = True  # the body was delimited by the close
            sink.on_end()
            sink.flush()
            return
        if not self.complete:
            reason = self._error or (f"connection lost ({exc})" if exc else "")
            sink.on_lost(self, reason or "connection closed before the answer was complete")

    def _fail(self, reason: str) -> None:
        self._error = reason
        sink, self.sink = self.sink, None
        self.closed = True
        if self._transport is not None:
            self._transport.close()
        if sink is not None:
            sink.on_lost(self, reason)

    def pause_writing(self) -> None:
        if self.sink is not None:
            self.sink.upstream_paused(True)

    def resume_writing(self) -> None:
        if self.sink is not None:
            self.sink.upstream_paused(False)

    # httptools callbacks: record and hand on only -----------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            if status == 101:
                return  # httptools raises HttpParserUpgrade once this returns
            self.headers = []
            return
        self.status = status
        self.keep_alive = self._parser.should_keep_alive()
        self._head_done = True
        if self._head_only or status in (204, 304):
            self._fresh_parser = True
            if status == 204 and not self._head_only and _declares_body(self.headers):
                # A 204 with a body (naive servers send one): the bytes that follow would
                # be read as the next answer, so the connection is not used again.
                self.keep_alive = False
        else:
            self.framed = _framed(self.headers)
        assert self.sink is not None
        self.sink.on_head(self)
        if self._head_only or status in (204, 304):
            self._end()

    def on_body(self, body: bytes) -> None:
        if not self.complete and self.sink is not None:
            self.sink.on_body(body)

    def on_message_complete(self) -> None:
        if self.status and not self.complete:
            self._end()

    def _end(self) -> None:
        self.complete = True
        if self.sink is not None:
            self.sink.on_end()


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
