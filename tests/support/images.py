"""Every image a test or bench builds, tagged by what it is built from.

The tag's version is a hash of the build context (every file's path, mode and bytes), the
build args and the base image's id. A missing image and one left by an older commit are
then the same case: the tag is not on the engine, so it is built. Presence is decided by
the exit code of `docker image inspect`, never by what it prints (it prints `[]` for a
missing image). Images are kept for the next run; `faasbox-test/` is the suite's own
prefix, so removing `faasbox-test/*` is always safe for other users of the engine.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.support.engine import DOCKER, PYTHON_BASE, REPO, ensure_base, image_exists

PREFIX = "faasbox-test/"
# A file of a synthesised context: its bytes or text, or a file on disk to copy.
Source = bytes | str | Path


def image_id(tag: str) -> str:
    done = subprocess.run(
        [DOCKER, "image", "inspect", "--format", "{{.Id}}", tag],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"image {tag} is not on this engine: {done.stderr.strip()}")
    return done.stdout.strip()


def built_image(
    name: str,
    context: Path | Mapping[str, Source],
    *,
    base: str | None = PYTHON_BASE,
    **build_args: str,
) -> str:
    """`faasbox-test/<name>:<hash>`, built from `context` unless that tag exists already.

    `context` is a folder, or a mapping of relative paths to contents for contexts a test
    writes itself. With `base`, the offline base is made first (reused when present) and
    passed as the `BASE` build arg, and its id enters the hash, so rebuilding a base
    rebuilds what stands on it.
    """
    files = _files(context)
    if base is not None:
        ensure_base(base)
        build_args = {"BASE": base, **build_args}
    digest = hashlib.sha256()
    for relative, (mode, data) in sorted(files.items()):
        digest.update(f"{relative}\0{mode:o}\0{len(data)}\0".encode())
        digest.update(data)
    for key, value in sorted(build_args.items()):
        digest.update(f"arg\0{key}={value}\0".encode())
    if base is not None:
        digest.update(image_id(base).encode())
    tag = f"{PREFIX}{name}:{digest.hexdigest()[:16]}"
    with _lock(tag):
        if not image_exists(tag):
            _build(files, tag, build_args)
    return tag


def _files(context: Path | Mapping[str, Source]) -> dict[str, tuple[int, bytes]]:
    if isinstance(context, Path):
        return {
            path.relative_to(context).as_posix(): (path.stat().st_mode & 0o777, path.read_bytes())
            for path in context.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }
    files = {}
    for relative, source in context.items():
        if isinstance(source, Path):
            files[relative] = (source.stat().st_mode & 0o777, source.read_bytes())
        else:
            files[relative] = (0o644, source.encode() if isinstance(source, str) else source)
    return files


def _build(files: dict[str, tuple[int, bytes]], tag: str, build_args: dict[str, str]) -> None:
    args = [DOCKER, "build", "-q", "-t", tag]
    for key, value in build_args.items():
        args += ["--build-arg", f"{key}={value}"]
    with tempfile.TemporaryDirectory(prefix="faasbox-image-") as tmp:
        for relative, (mode, data) in files.items():
            path = Path(tmp) / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(mode)
        done = subprocess.run(
            [*args, tmp],
            capture_output=True,
            text=True,
            env={**os.environ, "DOCKER_BUILDKIT": "1"},
            timeout=900,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"building {tag} failed:\n{done.stderr.strip()[-4000:]}")


@contextmanager
def _lock(tag: str) -> Iterator[None]:
    """One build of a tag at a time across the test runs sharing this engine."""
    key = hashlib.sha256(tag.encode()).hexdigest()[:16]
    with (Path(tempfile.gettempdir()) / f"faasbox-test-image-{key}.lock").open("w") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        yield


def probe_image() -> str:
    """The probe function the core tests deploy (tests/images/probe)."""
    return built_image("probe", REPO / "tests" / "images" / "probe")


def echo_image() -> str:
    """The echo function of the invoke tests (tests/images/invoke)."""
    return built_image("invoke-echo", REPO / "tests" / "images" / "invoke")
