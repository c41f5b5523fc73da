"""Scratch files that cannot outlive the watchdog."""

from __future__ import annotations

import os


def unlinked_file(directory: str, purpose: str) -> int:
    """A descriptor of a fresh file in `directory` that no longer has a name: gone with
    its last descriptor, even after a kill -9. (tempfile would do, but its imports cost
    the resident size this watchdog is kept small for.)"""
    serial = 0
    while True:
        path = os.path.join(directory, f".fwatchdog-{purpose}-{os.getpid()}-{serial}")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            serial += 1
            continue
        os.unlink(path)
        return fd
