"""The client side of http mode: one HTTP/1.1 client to the warm process.

It keeps a pool of keep-alive connections, forwards a request the server side parsed
(its head rewritten without hop-by-hop headers, its body streamed) and reads the answer
with the framing rules the server side uses (`chunk_size`, `digits`, `HOP_BY_HOP`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fwatchdog.http1 import HOP_BY_HOP, READ_SIZE, Request, chunk_size, digits

# Framing of a response body: a length (>= 0), or one of these.
CHUNKED = -1
UNTIL_CLOSE = -2


class UpstreamError(Exception):
    """The warm process could not be reached or broke off its response."""


class Response:
    """One answer being read from the upstream; `release()` hands its connection back."""

    def __init__(
        self,
        client: UpstreamClient,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        head: tuple[int, list[tuple[str, str]], int],
    ) -> None:
        self._client = client
        self._reader = reader
        self._writer = writer
        self.status, self.headers, self.framing = head

    def body(self) -> AsyncIterator[bytes]:
        return read_response_body(self._reader, self.framing)

    def release(self, complete: bool) -> None:
        """Pools the connection when the whole answer was read and its end was framed."""
        self._client.put_back(self._reader, self._writer, complete and self.framing != UNTIL_CLOSE)


class UpstreamClient:
    def __init__(self, host: str, port: int, ready: asyncio.Event) -> None:
        self._host = host
        self._port = port
        self._ready = ready
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def send(self, request: Request) -> Response:
        """Forwards `request` and reads the answer's head. A pooled connection the upstream
        closed while idle is retried once on a fresh one, for a body-less request only."""
        reader, writer, reused = await self._connect()
        head = request_head(request)
        try:
            writer.write(head)
            try:
                await send_body(request, writer)
                return Response(self, reader, writer, await read_response_head(reader))
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                if not reused or request.content_length != 0 or request.chunked:
                    raise UpstreamError(f"upstream connection failed: {exc!r}") from exc
            writer.close()
            reader, writer, _ = await self._connect()
            writer.write(head)
            try:
                return Response(self, reader, writer, await read_response_head(reader))
            except (ConnectionError, asyncio.IncompleteReadError) as again:
                raise UpstreamError(f"upstream connection failed: {again!r}") from again
        except BaseException:
            writer.close()
            raise

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        while self._idle:
            reader, writer = self._idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer, True
            writer.close()
        await self._ready.wait()
        try:
            reader, writer = await asyncio.open_connection(self._host, self._port)
        except OSError as exc:
            raise UpstreamError(f"cannot connect to {self._host}:{self._port}: {exc}") from exc
        return reader, writer, False

    def put_back(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reusable: bool
    ) -> None:
        if reusable and self._ready.is_set():
            self._idle.append((reader, writer))
        else:
            writer.close()

    def drop_idle(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


def request_head(request: Request) -> bytes:
    lines = [f"{request.method} {request.target} HTTP/1.1\r\n"]
    for name, value in request.headers:
        if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
            lines.append(f"{name}: {value}\r\n")
    if request.chunked:
        lines.append("Transfer-Encoding: chunked\r\n")
    elif request.content_length or request.method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {request.content_length}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


async def send_body(request: Request, writer: asyncio.StreamWriter) -> None:
    while chunk := await request.body.read():
        if request.chunked:
            writer.writelines((b"%x\r\n" % len(chunk), chunk, b"\r\n"))
        else:
            writer.write(chunk)
        await writer.drain()
    if request.chunked:
        writer.write(b"0\r\n\r\n")


async def read_response_head(
    reader: asyncio.StreamReader,
) -> tuple[int, list[tuple[str, str]], int]:
    """Status, end-to-end headers and framing: a length, -1 chunked, -2 until close.
    Interim answers (100 Continue, 102, 103) are read past: only a final status counts."""
    while True:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError as exc:
            raise UpstreamError("upstream response head too large") from exc
        lines = raw[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not digits(parts[1]):
            raise UpstreamError(f"malformed upstream status line {lines[0]!r}")
        if not 100 <= int(parts[1]) < 200 or int(parts[1]) == 101:
            break
    headers: list[tuple[str, str]] = []
    framing = UNTIL_CLOSE
    for line in lines[1:]:
        name, _, value = line.partition(":")
        lower = name.strip().lower()
        value = value.strip()
        if lower == "transfer-encoding" and "chunked" in value.lower():
            framing = CHUNKED
        elif lower == "content-length" and framing != CHUNKED and digits(value):
            framing = int(value)
        elif lower not in HOP_BY_HOP and lower not in ("date", "content-length"):
            headers.append((name.strip(), value))
    return int(parts[1]), headers, framing


async def read_response_body(reader: asyncio.StreamReader, framing: int) -> AsyncIterator[bytes]:
    if framing >= 0:
        async for data in _read_counted(reader, framing):
            yield data
    elif framing == CHUNKED:
        while True:
            size = chunk_size((await reader.readuntil(b"\r\n"))[:-2])
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return
            async for data in _read_counted(reader, size):
                yield data
            await reader.readexactly(2)
    else:
        while data := await reader.read(READ_SIZE):
            yield data


async def _read_counted(reader: asyncio.StreamReader, size: int) -> AsyncIterator[bytes]:
    """Exactly `size` bytes (a Content-Length body or one chunk), as they arrive."""
    while size:
        data = await reader.read(min(size, READ_SIZE))
        if not data:
            raise asyncio.IncompleteReadError(b"", size)
        size -= len(data)
        yield data
