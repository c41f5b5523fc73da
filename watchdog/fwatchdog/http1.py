"""HTTP/1.1 requests as the server side reads them: the head, the framing and the body.

The upstream client of http mode reads its responses with the same framing rules
(`chunk_size`, `digits`, `HOP_BY_HOP`), so both directions agree on what a message is.
"""

from __future__ import annotations

import asyncio
import collections
import http
import re
import time
import urllib.parse
from collections.abc import Callable

# Request bytes queued for a handler before the socket stops being read.
BODY_HIGH_WATER = 1 << 16
# One read from a pipe or temp file; below glibc's mmap threshold so reads stay cheap.
READ_SIZE = 1 << 16
MAX_HEAD = 1 << 16
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
    }
)
STATUS_LINES = {
    int(code): f"HTTP/1.1 {int(code)} {code.phrase}\r\n".encode() for code in http.HTTPStatus
}
# A chunk size is hex digits and nothing else: int(x, 16) would also take `-1`, `0x10`, `1_0`
# and `+5`, which another parser on the path may read differently (request smuggling).
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
# NUL anywhere, or a CR or LF that is not part of a CRLF, in a request head.
_BAD_HEAD_BYTES = re.compile(rb"\x00|\r(?!\n)|(?<!\r)\n")


def chunk_size(line: bytes) -> int:
    """The size on a chunk line (extensions ignored); ValueError for anything but hex."""
    size = line.split(b";", 1)[0].rstrip(b" \t")
    if not _CHUNK_SIZE.fullmatch(size):
        raise ValueError(f"bad chunk size {size[:20]!r}")
    return int(size, 16)


def digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts `²` and other Unicode digits."""
    return text.isascii() and text.isdigit()


class BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Request:
    __slots__ = (
        "body",
        "chunked",
        "content_length",
        "first",
        "headers",
        "keep_alive",
        "method",
        "path",
        "query",
        "target",
        "version",
    )

    def __init__(self, head: bytes) -> None:
        if _BAD_HEAD_BYTES.search(head):
            raise BadRequest(400, "NUL, bare CR or bare LF in the request head")
        lines = head.split(b"\r\n")
        try:
            method, target, version = lines[0].decode("latin-1").split(" ")
        except ValueError:
            raise BadRequest(400, "malformed request line") from None
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise BadRequest(505, "only HTTP/1.0 and HTTP/1.1 are served")
        self.method = method
        self.target = target
        self.version = version
        self.headers: list[tuple[str, str]] = []
        self.first: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name[-1:] in b" \t":
                raise BadRequest(400, "malformed header line")
            text_name = name.decode("latin-1")
            text_value = value.strip(b" \t").decode("latin-1")
            self.headers.append((text_name, text_value))
            self.first.setdefault(text_name.lower(), text_value)
        if not target.startswith("/"):
            target = urllib.parse.urlsplit(target).path or "/"
        raw_path, _, self.query = target.partition("?")
        self.path = urllib.parse.unquote(raw_path)
        codings = [v for n, v in self.headers if n.lower() == "transfer-encoding"]
        if codings and ", ".join(codings).lower() != "chunked":
            raise BadRequest(400, "only Transfer-Encoding: chunked is understood")
        self.chunked = bool(codings)
        lengths = {v for n, v in self.headers if n.lower() == "content-length"} or {"0"}
        if self.chunked:
            self.content_length = -1
        elif len(lengths) == 1 and digits(length := lengths.pop()):
            self.content_length = int(length)
        else:
            raise BadRequest(400, "bad Content-Length")
        connection = self.first.get("connection", "").lower()
        self.keep_alive = (
            "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        )
        self.body = Body(self.content_length == 0)

    @property
    def host(self) -> str:
        return self.first.get("host", "")


class Body:
    """A request body handed from the connection's parser to its handler.

    The parser only records bytes and wakes the reader; the socket stops being read while
    more than BODY_HIGH_WATER bytes wait here, so a 200 MB upload never sits in memory.
    """

    def __init__(self, complete: bool) -> None:
        self.complete = complete
        self.lost = False
        self._chunks: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._waiter: asyncio.Future[None] | None = None
        self._pause: Callable[[bool], None] = lambda _: None
        self._on_first_read: Callable[[], None] | None = None

    def bind(self, pause: Callable[[bool], None], on_first_read: Callable[[], None] | None) -> None:
        self._pause = pause
        self._on_first_read = on_first_read

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._queued += len(data)
        if self._queued > BODY_HIGH_WATER:
            self._pause(True)
        if self._waiter is not None:
            wake(self._waiter)

    def finish(self, lost: bool = False) -> None:
        self.complete = True
        self.lost = lost
        if self._waiter is not None:
            wake(self._waiter)

    async def read(self) -> bytes:
        """The next chunk, or b"" at the end; ConnectionError when the client went away."""
        if self._on_first_read is not None:
            self._on_first_read()
            self._on_first_read = None
        while not self._chunks:
            if self.lost:
                raise ConnectionResetError("client closed the connection mid-request")
            if self.complete:
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        data = self._chunks.popleft()
        self._queued -= len(data)
        if self._queued <= BODY_HIGH_WATER // 4:
            self._pause(False)
        return data


_date: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    global _date
    now = int(time.time())
    if now != _date[0]:
        _date = (now, time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)).encode())
    return _date[1]


def wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
