"""Build contexts: `build/<fn>/` made from a template and a handler, as faas-cli makes them.

The watchdog is written in by the builder (as the one-file zip application
resources.watchdog_app makes) rather than vendored in each template, so every image
carries the watchdog of the faasbox that built it and templates stay three small files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from faasbox.builder import resources
from faasbox.builder.errors import ContextError
from faasbox.builder.stack import Function
from faasbox.builder.templates import Template

BUILD_DIR = "build"
WATCHDOG_NAME = "fwatchdog.py"
_SKIPPED = {"build", "template"}


def assemble(
    fn: Function,
    template: Template | None,
    root: Path,
    copy: list[str] = (),  # type: ignore[assignment]
) -> Path:
    """Fresh `<root>/build/<fn>/`; `template` is None for `lang: dockerfile`."""
    handler = (root / fn.handler) if fn.handler else None
    if handler is None or not handler.is_dir():
        raise ContextError(f"{fn.name}: handler folder {fn.handler or '(none)'} does not exist")
    dest = root / BUILD_DIR / fn.name
    if dest.exists():
        shutil.rmtree(dest)
    if template is None:
        handler_dst = dest
        dest.mkdir(parents=True)
    else:
        shutil.copytree(template.path, dest, symlinks=True)
        handler_dst = dest / template.handler_folder
        handler_dst.mkdir(parents=True, exist_ok=True)
    _overlay(handler, handler_dst)
    for extra in copy:
        source = (root / extra).resolve()
        if not source.is_relative_to(root.resolve()):
            raise ContextError(f"{fn.name}: copy path {extra} is outside the project")
        if not source.exists():
            raise ContextError(f"{fn.name}: copy path {extra} does not exist")
        _copy(source, handler_dst / extra)
    watchdog = dest / WATCHDOG_NAME
    if template is not None or not watchdog.exists():
        watchdog.write_bytes(resources.watchdog_app())
    if not (dest / "Dockerfile").is_file():
        raise ContextError(f"{fn.name}: no Dockerfile in the template or the handler")
    return dest


def _overlay(source: Path, dest: Path) -> None:
    for entry in source.iterdir():
        if entry.name not in _SKIPPED:
            _copy(entry, dest / entry.name)


def _copy(source: Path, dest: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=True)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
