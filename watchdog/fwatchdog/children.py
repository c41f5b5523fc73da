"""Starting, watching and killing child processes, and the pipes to them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator, Mapping

from fwatchdog.http1 import READ_SIZE, wake

# Python ignores SIGPIPE (and SIGXFSZ); an exec'd child must get the defaults back.
CHILD_DEFAULT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, name)
)
# How Go's exec package words a death by signal, which clients see in 500 bodies.


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
        for pid, code in reap_exited():
            exited = self._waiting.pop(pid, None)
            if exited is not None and not exited.done():
                exited.set_result(code)


def reap_exited() -> Iterator[tuple[int, int]]:
    """(pid, exit code) of every child that has exited, without waiting for the others."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, os.waitstatus_to_exitcode(status)


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
