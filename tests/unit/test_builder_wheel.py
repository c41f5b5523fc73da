"""The wheel carries the templates and the watchdog, and an install finds them.

scripts/install.sh does a plain `pip install .`, so whatever the wheel lacks
an installed faasbox cannot build. Built from a copy of the checkout so the
build leaves nothing in the shared tree.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from faasbox.builder import resources

REPO = Path(__file__).resolve().parents[2]
BUILD_LOG = "pip-wheel.log"
# .git stays: the build records the commit it was built from (setup.py).
_SKIP = shutil.ignore_patterns(
    ".venv", ".wheels", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "artifacts"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(REPO, source, ignore=_SKIP, symlinks=True)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(work), str(source)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (work / BUILD_LOG).write_text(built.stdout + built.stderr)
    (path,) = work.glob("faasbox-*.whl")
    return path


def _tracked(folder: str, pattern: str = "*") -> set[str]:
    root = REPO / folder
    return {
        str(p.relative_to(root))
        for p in root.rglob(pattern)
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_wheel_holds_templates_watchdog_and_every_module(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {n.removeprefix("faasbox/_templates/") for n in names if "/_templates/" in n}
    assert templates == _tracked("templates")
    watchdog = {"__main__.py", "README.md"} | {
        f"fwatchdog/{name}" for name in _tracked("watchdog/fwatchdog", "*.py")
    }
    assert {f"faasbox/_watchdog/{name}" for name in watchdog} <= names
    modules = {f"faasbox/{m}" for m in _tracked("faasbox", "*.py")}
    assert modules <= names, f"packages missing from pyproject: {sorted(modules - names)}"
    assert "faasbox/ui/static/index.html" in names
    assert "faasbox/ui/store.json" in names  # the shipped function store catalogue
    assert not [n for n in names if "__pycache__" in n]


def test_the_wheel_builds_without_setuptools_warnings(wheel: Path) -> None:
    """An install prints nothing but its result: every setuptools warning (license
    format, a data folder missing from `packages`) is fixed in pyproject.toml."""
    log = (wheel.parent / BUILD_LOG).read_text()
    warnings = [line.strip() for line in log.splitlines() if "Warning:" in line]
    assert warnings == []


def test_an_installed_faasbox_finds_its_templates(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    probe = (
        "from faasbox.builder import resources, templates; from pathlib import Path; "
        "from faasbox.version import commit; "
        "import hashlib; "
        "print(resources.builtin_templates()); print(resources.watchdog()); "
        "print(hashlib.sha256(resources.watchdog_app()).hexdigest()); "
        "print(' '.join(templates.available(Path('.')))); print(commit())"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FAASBOX_HOME", "PYTHONPATH")}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
    )
    found_templates, found_watchdog, app, langs, commit = result.stdout.splitlines()
    assert found_templates == str(target / "faasbox" / "_templates")
    assert found_watchdog == str(target / "faasbox" / "_watchdog")
    # The installed copy packs into the very bytes the checkout does: same image layer.
    assert app == hashlib.sha256(resources.watchdog_app()).hexdigest()
    assert langs.split() == sorted(p.name for p in (REPO / "templates").iterdir())
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    assert commit == head.stdout.strip(), "the wheel records the commit it was built from"


def test_a_checkout_wins_over_the_installed_copy() -> None:
    assert resources.builtin_templates() == REPO / "templates"
    assert resources.watchdog() == REPO / "watchdog"
