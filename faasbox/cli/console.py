"""The one object verbs write through, so tests and scripts get plain, predictable output.

People read tables and progress; scripts read `--quiet` lines and JSON. Progress
rewrites one line in place only on a terminal; elsewhere every update is a line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO


@dataclass
class Console:
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    err: IO[str] = field(default_factory=lambda: sys.stderr)
    _live: bool = False

    @property
    def tty(self) -> bool:
        return self.err.isatty()

    def print(self, text: str = "") -> None:
        self.end_progress()
        self.out.write(text + "\n")
        self.out.flush()

    def info(self, text: str) -> None:
        """Messages for people (what happened, what next) go to stderr: stdout stays data."""
        self.end_progress()
        self.err.write(text + "\n")
        self.err.flush()

    def progress(self, text: str) -> None:
        if not self.tty:
            self.err.write(text + "\n")
        else:
            width = 100
            self.err.write("\r\x1b[2K" + text[:width])
            self._live = True
        self.err.flush()

    def end_progress(self) -> None:
        if self._live:
            self.err.write("\n")
            self._live = False

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        widths = [len(h) for h in header]
        for row in rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
        for row in [header, *rows]:
            cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=True)]
            self.print("  ".join(cells).rstrip())
