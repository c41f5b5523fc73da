"""The commit /system/info reports is never empty: recorded, read from git, or `unknown`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBE = "from faasbox.version import commit; print(commit())"


def _copy_package(root: Path) -> None:
    (root / "faasbox").mkdir(parents=True)
    for name in ("__init__.py", "version.py"):
        shutil.copy(REPO / "faasbox" / name, root / "faasbox" / name)


def _commit_of(root: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_without_git_metadata_the_commit_is_unknown(tmp_path: Path) -> None:
    _copy_package(tmp_path)
    assert _commit_of(tmp_path) == "unknown"


def test_a_recorded_commit_wins(tmp_path: Path) -> None:
    _copy_package(tmp_path)
    (tmp_path / "faasbox" / "_commit.txt").write_text("0123abc\n")
    assert _commit_of(tmp_path) == "0123abc"
