"""fork mode: one fprocess per request, as the OpenFaaS classic watchdog."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import IO

from fwatchdog.children import PipeReader, Reaper, kill_group, spawn, write_pipe
from fwatchdog.config import Config
from fwatchdog.connection import Connection
from fwatchdog.http1 import READ_SIZE, Request
from fwatchdog.log import log, write_all
from fwatchdog.tmpfile import unlinked_file

# Child output kept in memory up to this size; beyond it, in an unlinked temp file.
SPILL_AT = 1 << 19
FORK_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
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
            self._file = os.fdopen(unlinked_file(self._spill_dir, "spill"), "w+b")
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


class StderrLog(PipeReader):
    """With combine_output=false the child's stderr goes to the container log."""

    def received(self, data: bytes) -> None:
        for line in data.decode("utf-8", "replace").splitlines():
            log("stderr: " + line)


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
                    write_all(1, part)
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
