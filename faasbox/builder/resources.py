"""Where the built-in templates and the watchdog live.

They are folders at the top of the source tree (`templates/`, `watchdog/`), not
package data: faasbox is installed from a checkout (editable, as the Pi
installer does), and the same files are what users read and fork. An install
that copies them elsewhere sets FAASBOX_HOME to the folder holding both.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from faasbox.builder.errors import TemplateError

_CANDIDATES = (
    Path(__file__).resolve().parents[2],
    Path(sys.prefix) / "share" / "faasbox",
)


def home() -> Path:
    env = os.environ.get("FAASBOX_HOME")
    for folder in ([Path(env)] if env else []) + list(_CANDIDATES):
        if (folder / "templates").is_dir() and (folder / "watchdog" / "fwatchdog.py").is_file():
            return folder
    raise TemplateError(
        "cannot find faasbox's templates/ and watchdog/ folders: set FAASBOX_HOME to the "
        "folder holding them (a faasbox checkout)"
    )


def builtin_templates() -> Path:
    return home() / "templates"


def watchdog() -> Path:
    return home() / "watchdog" / "fwatchdog.py"
