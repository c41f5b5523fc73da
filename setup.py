"""Records the git commit a wheel is built from, so /system/info can report it.

Everything else about the package is in pyproject.toml. The commit comes from
FAASBOX_COMMIT (for builds from a tree without .git, such as an image build
context) or from git in the source tree; without either, none is recorded and
faasbox reports `unknown` (faasbox/version.py).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


def git_head() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:  # no git on this machine
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


class BuildWithCommit(build_py):
    def run(self) -> None:
        super().run()
        commit = os.environ.get("FAASBOX_COMMIT", "").strip() or git_head()
        if commit:
            target = Path(self.build_lib) / "faasbox" / "_commit.txt"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(commit + "\n")


setup(cmdclass={"build_py": BuildWithCommit})
