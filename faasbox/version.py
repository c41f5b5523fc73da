"""Which faasbox this is: the release, and the git commit it was built from.

`faas-cli version` and dashboards show the commit; an empty one reads as a broken
install, so there is always an answer: the commit recorded in the package when the
wheel was built (setup.py), else that of the checkout faasbox runs from (an editable
install), else `unknown`.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@functools.cache
def commit() -> str:
    try:
        recorded = (_PACKAGE / "_commit.txt").read_text().strip()
    except OSError:  # not a built wheel
        recorded = ""
    return recorded or _checkout_commit(_PACKAGE.parent) or "unknown"


def _checkout_commit(root: Path) -> str:
    if not (root / ".git").exists():
        return ""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
