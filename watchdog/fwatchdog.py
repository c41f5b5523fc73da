#!/usr/bin/env python3
"""faasbox watchdog: the HTTP front of every faasbox function image.

fork mode (the default) starts `fprocess` once per request, as the OpenFaaS classic
watchdog does; http mode keeps one `fprocess` warm and reverse-proxies to it. The file is
copied into images built on Debian, Alpine and Raspberry Pi OS, so it is one file, standard
library only, and runs on any CPython 3.9+. README.md next to this file documents every
setting and every difference from the classic watchdog.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import http
import itertools
import os
import re
import signal
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import IO, NamedTuple, cast

# base64, json and shutil are imported where a rare path needs them: every module loaded
# stays resident, and the watchdog's RSS budget is 30 MB under load.

# Request bytes queued for a handler before the socket stops being read.
BODY_HIGH_WATER = 1 << 16
# Response bytes queued in the transport before handlers wait for the client.
WRITE_HIGH_WATER = 1 << 16
# Child output kept in memory up to this size; beyond it, in an unlinked temp file.
SPILL_AT = 1 << 19
# One read from a pipe or temp file; below glibc's mmap threshold so reads stay cheap.
READ_SIZE = 1 << 16
MAX_HEAD = 1 << 16
FORK_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
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
# Python ignores SIGPIPE (and SIGXFSZ); an exec'd child must get the defaults back.
CHILD_DEFAULT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, name)
)
# How Go's exec package words a death by signal, which clients see in 500 bodies.
SIGNAL_WORDS: dict[int, str] = {
    signal.SIGKILL: "killed",
    signal.SIGTERM: "terminated",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGINT: "interrupt",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGPIPE: "broken pipe",
}
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


# --- configuration -------------------------------------------------------------------


class ConfigError(Exception):
    """A setting that would otherwise fail at the first request: reported once, at start."""


class Config(NamedTuple):
    argv: list[str]
    mode: str
    upstream: tuple[str, int]
    port: int
    read_timeout: float
    write_timeout: float
    exec_timeout: float
    healthcheck_interval: float
    write_debug: bool
    content_type: str
    marshal_request: bool
    cgi_headers: bool
    combine_output: bool
    suppress_lock: bool
    max_inflight: int
    lock_path: str
    no_new_privileges: bool


_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(name: str, raw: str, default: float) -> float:
    """Seconds from an integer (seconds) or a Go duration such as `1m30s` or `500ms`.

    The classic watchdog silently keeps the default for a bad value; here it is an error at
    start, because a function that ignores its timeout is found only in production.
    """
    if not raw:
        return default
    if raw.isdigit():
        return float(raw)
    parts = _DURATION_PART.findall(raw)
    if not parts or "".join(number + unit for number, unit in parts) != raw:
        raise ConfigError(f"{name}={raw!r} is not a duration (use 30, 30s, 1m30s or 500ms)")
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """Only the exact string `true` is true once a value is set: `cgi_headers=1` is false."""
    raw = env.get(name, "")
    return default if not raw else raw == "true"


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw!r} is not an integer from {low} to {high}")
    return value


def _resolve_program(argv: list[str], env: Mapping[str, str]) -> str:
    """The executable's path, looked up once: a typo fails the start, not every request."""
    import shutil

    program = argv[0]
    if "/" in program:
        found = program if os.access(program, os.X_OK) and os.path.isfile(program) else None
    else:
        found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        raise ConfigError(f"fprocess: {program!r} is not an executable file or on PATH")
    return found


def _upstream(raw: str) -> tuple[str, int]:
    url = urllib.parse.urlsplit(raw)
    try:
        port = url.port or 80
    except ValueError:
        port = 0
    if url.scheme != "http" or not url.hostname or not port:
        raise ConfigError(f"upstream_url={raw!r} must be http://host:port")
    return url.hostname, port


def load_config(env: Mapping[str, str]) -> Config:
    fprocess = env.get("fprocess", "")
    if not fprocess.strip():
        raise ConfigError("fprocess is not set: give the command to run, e.g. fprocess='cat'")
    # The classic watchdog splits on single spaces with no shell and no quoting.
    argv = fprocess.split(" ")
    argv[0] = _resolve_program(argv, env)
    mode = env.get("mode", "") or "fork"
    if mode not in ("fork", "http"):
        raise ConfigError(f"mode={mode!r} must be fork or http")
    upstream = ("", 0)
    if mode == "http":
        if not env.get("upstream_url"):
            raise ConfigError("mode=http needs upstream_url, e.g. http://127.0.0.1:5000")
        upstream = _upstream(env["upstream_url"])
    write_timeout = parse_duration("write_timeout", env.get("write_timeout", ""), 30.0)
    return Config(
        argv=argv,
        mode=mode,
        upstream=upstream,
        port=_integer(env, "port", 8080, 1, 65535),
        read_timeout=parse_duration("read_timeout", env.get("read_timeout", ""), 30.0),
        write_timeout=write_timeout,
        exec_timeout=parse_duration("exec_timeout", env.get("exec_timeout", ""), 0.0),
        healthcheck_interval=parse_duration(
            "healthcheck_interval", env.get("healthcheck_interval", ""), write_timeout
        ),
        write_debug=_flag(env, "write_debug", False),
        content_type=env.get("content_type", ""),
        marshal_request=_flag(env, "marshal_request", False),
        cgi_headers=_flag(env, "cgi_headers", True),
        combine_output=_flag(env, "combine_output", True),
        suppress_lock=_flag(env, "suppress_lock", False),
        max_inflight=_integer(env, "max_inflight", 0, 0, 1 << 30),
        lock_path=os.path.join(env.get("TMPDIR") or "/tmp", ".lock"),
        no_new_privileges=_flag(env, "no_new_privileges", True),
    )


def forbid_privilege_gain() -> None:
    """PR_SET_NO_NEW_PRIVS for the watchdog and so for every child: a setuid file cannot
    raise a request's privileges. Older engines (20.10) ignore the service flag that would
    do this, so the watchdog does it itself. Linux only; elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_no_new_privs = 38
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        raise ConfigError(f"cannot set no_new_privileges: {os.strerror(ctypes.get_errno())}")


# --- logging ---------------------------------------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def log(message: str) -> None:
    """Go's `log` format, so existing greps of container logs keep matching."""
    stamp = time.strftime("%Y/%m/%d %H:%M:%S ")
    _write_all(2, (stamp + message + "\n").encode("utf-8", "replace"))


# --- HTTP/1.1 server -------------------------------------------------------------------


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


_IDLE, _BODY, _WAIT = range(3)
_date: tuple[int, bytes] = (0, b"")


def _http_date() -> bytes:
    global _date
    now = int(time.time())
    if now != _date[0]:
        _date = (now, time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)).encode())
    return _date[1]


def wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


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
        lines.append(b"Date: " + _http_date() + b"\r\n")
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


# --- children --------------------------------------------------------------------------


class Reaper:
    """Collects exited children with waitpid(-1) on SIGCHLD.

    Reaping any pid, not just ours, also collects orphans re-parented to the watchdog when
    it is PID 1 in its container, so no grandchild stays a zombie.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: dict[int, asyncio.Future[int]] = {}
        loop.add_signal_handler(signal.SIGCHLD, self._reap)

    def watch(self, pid: int) -> asyncio.Future[int]:
        """A future for the pid's exit code (negative: killed by that signal)."""
        exited: asyncio.Future[int] = self._loop.create_future()
        self._waiting[pid] = exited
        return exited

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            exited = self._waiting.pop(pid, None)
            if exited is not None and not exited.done():
                exited.set_result(os.waitstatus_to_exitcode(status))


def kill_group(pid: int, exited: asyncio.Future[int], sig: int = signal.SIGKILL) -> None:
    """Signals the child's whole process group, but only while the child is unreaped:
    after that its pid, and so the group id, may belong to another request's child."""
    if exited.done():
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def spawn(argv: list[str], env: Mapping[str, str], stdin: int, stdout: int, stderr: int) -> int:
    """posix_spawn (vfork+exec in glibc and musl): the cheapest way to start a child from
    Python. The child leads a new process group so a timeout can kill its descendants."""
    actions = [
        (os.POSIX_SPAWN_DUP2, stdin, 0),
        (os.POSIX_SPAWN_DUP2, stdout, 1),
        (os.POSIX_SPAWN_DUP2, stderr, 2),
    ]
    return os.posix_spawn(
        argv[0], argv, env, file_actions=actions, setpgroup=0, setsigdef=CHILD_DEFAULT_SIGNALS
    )


class PipeReader:
    """Reads a pipe from the event loop until EOF; subclasses decide where bytes go."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        self._loop = loop
        self._fd = fd
        self.done: asyncio.Future[None] = loop.create_future()
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self.received(data)
            return
        self.close_pipe()
        if not self.done.done():
            self.done.set_result(None)

    def received(self, data: bytes) -> None:
        raise NotImplementedError

    def close_pipe(self) -> None:
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1


class Capture(PipeReader):
    """The child's output, held until its exit code is known.

    The classic watchdog answers 500 for a non-zero exit, so the status line must wait for
    the exit; to keep a 200 MB response from sitting in memory, output past SPILL_AT moves
    to an unlinked temp file and is streamed from there.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, spill_dir: str) -> None:
        super().__init__(loop, fd)
        self._spill_dir = spill_dir
        self._chunks: list[bytes] = []
        self._file: IO[bytes] | None = None
        self.size = 0

    def received(self, data: bytes) -> None:
        self.size += len(data)
        if self._file is not None:
            self._file.write(data)
            return
        self._chunks.append(data)
        if self.size > SPILL_AT:
            self._file = spill_file(self._spill_dir)
            self._file.writelines(self._chunks)
            self._chunks = []

    def head(self, size: int) -> bytes:
        if self._file is None:
            return b"".join(self._chunks)[:size]
        self._file.seek(0)
        return self._file.read(size)

    def parts(self) -> Iterable[bytes]:
        yield from self._chunks
        if self._file is not None:
            self._file.seek(0)
            while data := self._file.read(READ_SIZE):
                yield data

    async def send(self, conn: Connection) -> None:
        for part in self.parts():
            conn.write(part)
            await conn.drain()

    def close(self) -> None:
        self.close_pipe()
        if self._file is not None:
            self._file.close()


_spill_names = itertools.count()


def spill_file(directory: str) -> IO[bytes]:
    """An unlinked file in $TMPDIR: gone with its last descriptor, even after a kill -9.
    (tempfile would do, but its imports cost the resident size this file is kept for.)"""
    while True:
        path = os.path.join(directory, f".fwatchdog-spill-{os.getpid()}-{next(_spill_names)}")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        os.unlink(path)
        return os.fdopen(fd, "w+b")


class StderrLog(PipeReader):
    """With combine_output=false the child's stderr goes to the container log."""

    def received(self, data: bytes) -> None:
        for line in data.decode("utf-8", "replace").splitlines():
            log("stderr: " + line)


async def write_pipe(loop: asyncio.AbstractEventLoop, fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            writable: asyncio.Future[None] = loop.create_future()
            loop.add_writer(fd, wake, writable)
            try:
                await writable
            finally:
                loop.remove_writer(fd)


def sniff(data: bytes) -> str:
    """The few answers of Go's content sniffing that function output actually produces."""
    text = data.lstrip(b"\t\n\x0c\r ")[:14].lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<p>", b"<div", b"<h1")):
        return "text/html; charset=utf-8"
    if text.startswith(b"<?xml"):
        return "text/xml; charset=utf-8"
    for magic, kind in (
        (b"%PDF-", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"GIF8", "image/gif"),
        (b"\xff\xd8\xff", "image/jpeg"),
    ):
        if data.startswith(magic):
            return kind
    head = data[:512]
    if len(head.translate(None, _BINARY)) != len(head):
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


# The control bytes Go's sniffer takes as a sign of binary data.
_BINARY = bytes([*range(0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])


def canonical_env_name(name: str, cache: dict[str, str] = {}) -> str:  # noqa: B006
    """`x-call-id` -> `Http_X_Call_Id`: Go's canonical header form, `-` made `_`.
    The default dict is a deliberate per-process cache; header names repeat."""
    key = cache.get(name)
    if key is None:
        key = "Http_" + "_".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))
        cache[name] = key
    return key


class ForkBackend:
    """One fprocess per request, as the classic watchdog."""

    def __init__(self, config: Config, loop: asyncio.AbstractEventLoop, reaper: Reaper) -> None:
        self._config = config
        self._loop = loop
        self._reaper = reaper
        self._env = dict(os.environ)
        self._spill_dir = os.path.dirname(config.lock_path)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def child_env(self, request: Request) -> Mapping[str, str]:
        if not self._config.cgi_headers:
            return self._env
        env = dict(self._env)
        for name, value in reversed(request.headers):  # the first value of a header wins
            env[canonical_env_name(name)] = value
        env["Http_Method"] = request.method
        env["Http_ContentLength"] = env["Http_Content_Length"] = str(request.content_length)
        if request.chunked:
            env["Http_Transfer_Encoding"] = "chunked"
        else:
            env.pop("Http_Transfer_Encoding", None)
        if request.query:
            env["Http_Query"] = request.query
        env["Http_Path"] = request.path
        env["Http_Host"] = request.host
        return env

    async def handle(self, request: Request, conn: Connection) -> None:
        config = self._config
        started = time.monotonic()
        log("Forking fprocess.")
        stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe() if not config.combine_output else (-1, out_w)
        try:
            pid = spawn(config.argv, self.child_env(request), stdin_r, out_w, err_w)
        except (OSError, ValueError) as exc:
            # ValueError: the request put a NUL (or a `=` in a name) into the environment,
            # which no exec can carry; the caller's fault, so 400, and no fd may stay open.
            for fd in {stdin_w, out_r, err_r} - {-1}:
                os.close(fd)
            log(f"Failed to start process: {exc}")
            bad_input = isinstance(exc, ValueError)
            text = f"the request cannot be passed to the function: {exc}" if bad_input else str(exc)
            conn.respond(400 if bad_input else 500, f"{text}\n".encode())
            return
        finally:
            for fd in {stdin_r, out_w, err_w}:
                os.close(fd)
        exited = self._reaper.watch(pid)
        output = Capture(self._loop, out_r, self._spill_dir)
        errors = StderrLog(self._loop, err_r) if err_r >= 0 else None
        timed_out = False

        def expire() -> None:
            nonlocal timed_out
            timed_out = True
            kill_group(pid, exited)

        timer = self._loop.call_later(config.exec_timeout, expire) if config.exec_timeout else None
        try:
            await self._feed(stdin_w, request)
            await output.done
            code = await exited
            if errors is not None:
                await errors.done
            duration = time.monotonic() - started
            if timed_out:
                log(f"Killed process after exec_timeout ({config.exec_timeout:g}s).")
                conn.respond(408, b"Killed process.\n")
                return
            if code != 0:
                word = f"exit status {code}" if code > 0 else f"signal: {_signal_word(-code)}"
                log(f"Error: {word}")
                prefix = f"{word}\n".encode()
                conn.start_response(
                    500, [("Content-Type", "text/plain; charset=utf-8")], len(prefix) + output.size
                )
                conn.write(prefix)
                await output.send(conn)
                conn.end_response()
                return
            content_type = (
                config.content_type or request.first.get("content-type") or sniff(output.head(512))
            )
            conn.start_response(
                200,
                [("Content-Type", content_type), ("X-Duration-Seconds", f"{duration:f}")],
                output.size,
            )
            await output.send(conn)
            conn.end_response()
            if config.write_debug:
                for part in output.parts():
                    _write_all(1, part)
            else:
                log(f"Wrote {output.size} Bytes - Duration: {duration:f}s")
        finally:
            if timer is not None:
                timer.cancel()
            kill_group(pid, exited)
            output.close()
            if errors is not None:
                errors.close_pipe()

    async def _feed(self, fd: int, request: Request) -> None:
        """Streams the request body (or its marshalled form) into the child's stdin.

        A child that exits without reading its input is not an error: the rest of the body
        is drained so the connection stays usable.
        """
        os.set_blocking(fd, False)
        try:
            chunks = marshalled(request) if self._config.marshal_request else raw_body(request)
            async for chunk in chunks:
                await write_pipe(self._loop, fd, chunk)
        except BrokenPipeError:
            while await request.body.read():
                pass
        finally:
            os.close(fd)


def _signal_word(number: int) -> str:
    return SIGNAL_WORDS.get(number, f"signal {number}")


async def raw_body(request: Request) -> AsyncIterator[bytes]:
    while chunk := await request.body.read():
        yield chunk


async def marshalled(request: Request) -> AsyncIterator[bytes]:
    """`{"header": {...}, "body": {"raw": "<base64>"}}`, streamed: base64 is emitted in
    3-byte groups so the body never has to be whole in memory."""
    import base64
    import json

    header: dict[str, list[str]] = {}
    for name, value in request.headers:
        key = canonical_env_name(name)[5:].replace("_", "-")
        header.setdefault(key, []).append(value)
    prefix = json.dumps({"header": dict(sorted(header.items()))}, separators=(",", ":"))
    yield prefix[:-1].encode() + b',"body":{"raw":"'
    rest = b""
    while chunk := await request.body.read():
        data = rest + chunk
        cut = len(data) - len(data) % 3
        rest = data[cut:]
        if cut:
            yield base64.b64encode(data[:cut])
    yield base64.b64encode(rest) + b'"}}'


# --- http mode -------------------------------------------------------------------------


class UpstreamError(Exception):
    """The warm process could not be reached or broke off its response."""


class HttpBackend:
    """One warm fprocess serving HTTP on upstream_url, restarted whenever it exits."""

    def __init__(self, config: Config, loop: asyncio.AbstractEventLoop, reaper: Reaper) -> None:
        self._config = config
        self._loop = loop
        self._reaper = reaper
        self._host, self._port = config.upstream
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.ready = asyncio.Event()
        self._pid = 0
        self._exited: asyncio.Future[int] = loop.create_future()
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Starts fprocess and waits until it accepts connections, so the lock file (and
        with it Swarm's idea of a ready replica) only appears once requests can succeed."""
        self._launch()
        await self._wait_ready(fatal=True)
        self._supervisor = self._loop.create_task(self._supervise())

    def _launch(self) -> None:
        with open(os.devnull, "rb") as devnull:
            self._pid = spawn(self._config.argv, os.environ, devnull.fileno(), 1, 2)
        self._exited = self._reaper.watch(self._pid)
        log(f"Started fprocess (pid {self._pid}), upstream {self._host}:{self._port}.")

    async def _wait_ready(self, fatal: bool) -> None:
        while not self._exited.done():
            try:
                _, writer = await asyncio.open_connection(self._host, self._port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            self.ready.set()
            return
        if fatal:
            raise ConfigError(
                f"fprocess exited with status {self._exited.result()} before accepting "
                f"connections on {self._host}:{self._port}"
            )

    async def _supervise(self) -> None:
        delay = 0.1
        while not self._stopping:
            code = await self._exited
            self.ready.clear()
            self._drop_idle()
            if self._stopping:
                return
            log(f"fprocess exited with status {code}; restarting in {delay:g}s.")
            await asyncio.sleep(delay)
            started = time.monotonic()
            self._launch()
            await self._wait_ready(fatal=False)
            # A process that keeps dying young backs off, up to 5 s between starts.
            delay = 0.1 if time.monotonic() - started > 10 else min(delay * 2, 5.0)

    def _drop_idle(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

    async def stop(self) -> None:
        self._stopping = True
        self._drop_idle()
        kill_group(self._pid, self._exited, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(self._exited), 5.0)
        except asyncio.TimeoutError:  # noqa: UP041 - distinct from TimeoutError before 3.11
            kill_group(self._pid, self._exited)
        if self._supervisor is not None:
            self._supervisor.cancel()

    async def handle(self, request: Request, conn: Connection) -> None:
        started = time.monotonic()
        timeout = self._config.exec_timeout
        try:
            if timeout:
                await asyncio.wait_for(self._proxy(request, conn, started), timeout)
            else:
                await self._proxy(request, conn, started)
        except asyncio.TimeoutError:  # noqa: UP041 - distinct from TimeoutError before 3.11
            log(f"Upstream timed out after exec_timeout ({timeout:g}s).")
            self._answer_failure(conn, 504, f"upstream timed out after {timeout:g}s\n", started)
        except UpstreamError as exc:
            log(f"Upstream error: {exc}")
            self._answer_failure(conn, 502, f"{exc}\n", started)

    def _answer_failure(self, conn: Connection, status: int, text: str, started: float) -> None:
        if conn.response_started:
            conn.abort()
            return
        duration = f"{time.monotonic() - started:f}"
        conn.respond(status, text.encode(), [("X-Duration-Seconds", duration)], close=True)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        while self._idle:
            reader, writer = self._idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer, True
            writer.close()
        await self.ready.wait()
        try:
            reader, writer = await asyncio.open_connection(self._host, self._port)
        except OSError as exc:
            raise UpstreamError(f"cannot connect to {self._host}:{self._port}: {exc}") from exc
        return reader, writer, False

    async def _proxy(self, request: Request, conn: Connection, started: float) -> None:
        reader, writer, reused = await self._connect()
        reusable = False
        try:
            head = self._request_head(request)
            writer.write(head)
            try:
                await self._send_body(request, writer)
                status, headers, framing = await read_response_head(reader)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                # A pooled connection the upstream closed while idle: retry a body-less
                # request once on a fresh one; anything else is a real failure.
                if not reused or request.content_length != 0 or request.chunked:
                    raise UpstreamError(f"upstream connection failed: {exc!r}") from exc
                writer.close()
                reader, writer, _ = await self._connect()
                writer.write(head)
                try:
                    status, headers, framing = await read_response_head(reader)
                except (ConnectionError, asyncio.IncompleteReadError) as again:
                    raise UpstreamError(f"upstream connection failed: {again!r}") from again
            no_body = request.method == "HEAD" or status in (204, 304) or status < 200
            headers.append(("X-Duration-Seconds", f"{time.monotonic() - started:f}"))
            conn.start_response(status, headers, framing if framing >= 0 else None)
            if framing < 0:
                conn.flush()  # a streamed response: the client may want the head early
            if no_body:
                conn.end_response()
                reusable = framing != -2
                return
            try:
                async for part in read_response_body(reader, framing):
                    conn.write(part)
                    await conn.drain()
            except (ConnectionResetError, asyncio.IncompleteReadError, ValueError) as exc:
                if conn.closing:
                    raise
                raise UpstreamError(f"upstream broke off its response: {exc!r}") from exc
            conn.end_response()
            reusable = framing != -2
        finally:
            if reusable and self.ready.is_set():
                self._idle.append((reader, writer))
            else:
                writer.close()

    def _request_head(self, request: Request) -> bytes:
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

    async def _send_body(self, request: Request, writer: asyncio.StreamWriter) -> None:
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
    framing = -2
    for line in lines[1:]:
        name, _, value = line.partition(":")
        lower = name.strip().lower()
        value = value.strip()
        if lower == "transfer-encoding" and "chunked" in value.lower():
            framing = -1
        elif lower == "content-length" and framing != -1 and digits(value):
            framing = int(value)
        elif lower not in HOP_BY_HOP and lower not in ("date", "content-length"):
            headers.append((name.strip(), value))
    return int(parts[1]), headers, framing


async def read_response_body(reader: asyncio.StreamReader, framing: int) -> AsyncIterator[bytes]:
    if framing >= 0:
        remaining = framing
        while remaining:
            data = await reader.read(min(remaining, READ_SIZE))
            if not data:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(data)
            yield data
    elif framing == -1:
        while True:
            size = chunk_size((await reader.readuntil(b"\r\n"))[:-2])
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return
            while size:
                data = await reader.read(min(size, READ_SIZE))
                if not data:
                    raise asyncio.IncompleteReadError(b"", size)
                size -= len(data)
                yield data
            await reader.readexactly(2)
    else:
        while data := await reader.read(READ_SIZE):
            yield data


# --- the server ------------------------------------------------------------------------


class Server:
    """Health, the lock file, max_inflight and the SIGTERM drain, around a backend."""

    def __init__(self, config: Config, loop: asyncio.AbstractEventLoop, reaper: Reaper) -> None:
        self.config = config
        self.loop = loop
        self.connections: set[Connection] = set()
        self._all_closed = asyncio.Event()
        self._accepting = False
        self._inflight = 0
        self._busy_body = (
            f"Concurrent request limit exceeded. Max concurrent requests: {config.max_inflight}\n"
        ).encode()
        self._backend = (HttpBackend if config.mode == "http" else ForkBackend)(
            config, loop, reaper
        )
        self._http_mode = config.mode == "http"

    async def handle(self, request: Request, conn: Connection) -> None:
        try:
            await self._route(request, conn)
        except (ConnectionError, asyncio.CancelledError):
            conn.abort()
        except Exception as exc:  # a bug must cost one request, not the whole watchdog
            log(f"Error: unexpected {exc!r} while serving {request.method} {request.path}")
            if conn.response_started:
                conn.abort()
            else:
                conn.respond(500, b"Internal watchdog error\n", close=True)

    async def _route(self, request: Request, conn: Connection) -> None:
        if request.path == "/_/health":
            if request.method != "GET":
                conn.respond(405, b"Method Not Allowed\n")
            elif self.healthy():
                conn.respond(200, b"OK")
            else:
                conn.respond(503, b"Service Unavailable\n")
            return
        if not self._http_mode and request.method not in FORK_METHODS:
            conn.respond(405, b"Method Not Allowed\n")
            return
        limit = self.config.max_inflight
        if limit and self._inflight >= limit:
            conn.respond(429, self._busy_body, [("X-OpenFaaS-Internal", "faas-middleware")])
            return
        self._inflight += 1
        try:
            await self._backend.handle(request, conn)
        finally:
            self._inflight -= 1

    def forget(self, conn: Connection) -> None:
        self.connections.discard(conn)
        if not self.connections:
            self._all_closed.set()

    def healthy(self) -> bool:
        if not self._accepting or not os.path.exists(self.config.lock_path):
            return False
        return not isinstance(self._backend, HttpBackend) or self._backend.ready.is_set()

    async def run(self) -> int:
        config = self.config
        try:
            server = await self.loop.create_server(
                lambda: Connection(self), port=config.port, reuse_address=True, backlog=1024
            )
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ConfigError(f"cannot listen on port {config.port}: {reason}") from exc
        await self._backend.start()
        log(
            f"Timeouts: read: {config.read_timeout:g}s, write: {config.write_timeout:g}s, "
            f"hard: {config.exec_timeout:g}s, health: {config.healthcheck_interval:g}s."
        )
        log(f"Listening on port: {config.port} ({config.mode} mode)")
        if not config.suppress_lock:
            log(f"Writing lock-file to: {config.lock_path}")
            try:
                os.close(os.open(config.lock_path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o660))
            except OSError as exc:
                raise ConfigError(f"cannot write lock file {config.lock_path}: {exc}") from exc
        self._accepting = True
        stop = self.loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, wake, stop)
        await stop
        await self._drain(server)
        return 0

    async def _drain(self, server: asyncio.AbstractServer) -> None:
        """Unhealthy at once; keep serving for healthcheck_interval so the orchestrator sees
        it; then stop accepting and give in-flight requests up to write_timeout."""
        config = self.config
        self._accepting = False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(config.lock_path)
        log(f"SIGTERM received: unhealthy now, shutting down in {config.healthcheck_interval:g}s.")
        await asyncio.sleep(config.healthcheck_interval)
        server.close()
        for conn in list(self.connections):
            conn.close_when_idle()
        if self.connections:
            self._all_closed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), config.write_timeout or None)
        for conn in list(self.connections):
            conn.abort()
        await self._backend.stop()
        log("Exiting.")


def main(argv: list[str]) -> int:
    if argv[1:] == ["-run-healthcheck"]:
        lock = os.path.join(os.environ.get("TMPDIR") or "/tmp", ".lock")
        return 0 if os.path.exists(lock) else 1
    for fd in (0, 1, 2):  # children get 0-2 by dup2; make sure none of them is missing
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)
    # The stdlib loop, even where uvloop is installed: fork mode is bound by posix_spawn
    # (same CPU per request on both loops, measured), and uvloop refuses SIGCHLD handlers
    # and adds resident memory.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        config = load_config(os.environ)
        if config.no_new_privileges:
            forbid_privilege_gain()
        server = Server(config, loop, Reaper(loop))
        return loop.run_until_complete(server.run())
    except ConfigError as exc:
        print(f"fwatchdog: {exc}", file=sys.stderr)
        return 2
    finally:
        loop.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
