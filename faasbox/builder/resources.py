"""Where the built-in templates and the watchdog live.

In a checkout they are the folders at the top of the tree (`templates/`,
`watchdog/`), the files users read and fork. A wheel carries the same folders
as `faasbox/_templates` and `faasbox/_watchdog` (pyproject maps them), so a
plain `pip install .` (scripts/install.sh) can build functions too. The
checkout wins, so an editable install always uses the files being edited;
FAASBOX_HOME, a folder holding both, overrides either.

Images get the watchdog as one file, `fwatchdog.py`: a zip application of the
`watchdog/` folder's `__main__.py` and `fwatchdog/` package, which `python3 fwatchdog.py`
runs whatever the file's name. It is built here, where build contexts are made, with
fixed timestamps and modes so the same sources always give the same bytes (and so the
same image layer).
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from faasbox.builder.errors import TemplateError

_PACKAGE = Path(__file__).resolve().parents[1]
_CHECKOUT = _PACKAGE.parent
_WATCHDOG = "__main__.py"
_PACKAGE_DIR = "fwatchdog"
_SHEBANG = b"#!/usr/bin/env python3\n"


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
    """The watchdog's source folder (`__main__.py` and the `fwatchdog` package)."""
    return _home()[1]


def watchdog_app(source: Path | None = None) -> bytes:
    """The single-file watchdog every image carries, from `source` (default: watchdog())."""
    folder = source or watchdog()
    files = [folder / _WATCHDOG, *sorted((folder / _PACKAGE_DIR).glob("*.py"))]
    buffer = io.BytesIO()
    buffer.write(_SHEBANG)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
