"""Image names as faas-cli writes them: `:latest` when untagged, `--tag` suffixes from git."""

from __future__ import annotations

import subprocess
from pathlib import Path

from faasbox.builder.errors import StackError

TAG_MODES = ("latest", "sha", "branch", "describe")
_GIT = {
    "sha": ["rev-parse", "--short", "HEAD"],
    "branch": ["rev-parse", "--abbrev-ref", "HEAD"],
    "describe": ["describe", "--tags", "--always"],
}


def split_tag(image: str) -> tuple[str, str]:
    slash, colon = image.rfind("/"), image.rfind(":")
    if "@" in image:
        return image, ""
    if colon > slash:
        return image[:colon], image[colon + 1 :]
    return image, ""


def image_name(image: str, mode: str = "latest", root: Path = Path()) -> str:
    """`--tag sha` gives `name:tag-<sha>`; `branch` gives `-<branch>-<sha>` as faas-cli does."""
    repo, tag = split_tag(image)
    if "@" in image:
        return image
    tag = tag or "latest"
    if mode == "latest":
        return f"{repo}:{tag}"
    sha = _git(_GIT["sha"], root)
    if mode == "sha":
        return f"{repo}:{tag}-{sha}"
    if mode == "branch":
        return f"{repo}:{tag}-{_git(_GIT['branch'], root)}-{sha}"
    return f"{repo}:{tag}-{_git(_GIT['describe'], root)}"


def _git(args: list[str], root: Path) -> str:
    try:
        result = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        raise StackError("--tag needs a git repository with at least one commit") from None
    return result.stdout.strip().replace("/", "-")
