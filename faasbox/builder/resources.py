"""Where the built-in templates and the watchdog live.

In a checkout they are the folders at the top of the tree (`templates/`,
`watchdog/`), the files users read and fork. A wheel carries the same folders
as `faasbox/_templates` and `faasbox/_watchdog` (pyproject maps them), so a
plain `pip install .` (scripts/install.sh) can build functions too. The
checkout wins, so an editable install always uses the files being edited;
FAASBOX_HOME, a folder holding both, overrides either.
"""

from __future__ import annotations

import os
from pathlib import Path

from faasbox.builder.errors import TemplateError

_PACKAGE = Path(__file__).resolve().parents[1]
_CHECKOUT = _PACKAGE.parent
_WATCHDOG = "fwatchdog.py"


def _locations() -> list[tuple[Path, Path]]:
    """(templates folder, watchdog folder) pairs, most specific first."""
    env = os.environ.get("FAASBOX_HOME")
    found = [(Path(env) / "templates", Path(env) / "watchdog")] if env else []
    return [
        *found,
        (_CHECKOUT / "templates", _CHECKOUT / "watchdog"),
        (_PACKAGE / "_templates", _PACKAGE / "_watchdog"),
    ]


def _home() -> tuple[Path, Path]:
    for templates, watchdog_dir in _locations():
        if templates.is_dir() and (watchdog_dir / _WATCHDOG).is_file():
            return templates, watchdog_dir
    raise TemplateError(
        "cannot find faasbox's templates and watchdog (not in this install, no checkout): "
        "reinstall faasbox or set FAASBOX_HOME to a faasbox checkout"
    )


def builtin_templates() -> Path:
    return _home()[0]


def watchdog() -> Path:
    return _home()[1] / _WATCHDOG
