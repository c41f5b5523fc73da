"""Build contexts as tars: packing a local one, and the size caps and member checks that
make an uploaded one safe to build.

The build endpoint accepts a tar from anyone holding the gateway's credentials
and hands it to the engine, which unpacks it on the device. The engine keeps
COPY inside the context, but a tar with `../` names, links that point out of
the context or device nodes is never what a real build context looks like, so
it is refused before the engine sees it, with the offending member named.
Gzip is undone here, capped by the same limit, so a small bomb cannot fill the
disk.
"""

from __future__ import annotations

import gzip
import posixpath
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import IO

from faasbox.builder.errors import ArchiveTooLarge, ContextError

CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"


def spool() -> IO[bytes]:
    """Where an upload lands: memory while small, a temp file past 8 MiB."""
    return tempfile.SpooledTemporaryFile(max_size=8 << 20)


def tar_context(folder: Path) -> IO[bytes]:
    """The context as a tar in a spool (spilled to disk, never all in memory); the caller
    closes it."""
    packed = spool()
    with tarfile.open(fileobj=packed, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    packed.seek(0)
    return packed


def plain_tar(upload: IO[bytes], limit: int) -> IO[bytes]:
    """The upload as an uncompressed tar, rewound; gzip is detected by its magic bytes."""
    upload.seek(0)
    if upload.read(2) != _GZIP_MAGIC:
        upload.seek(0)
        return upload
    upload.seek(0)
    out = spool()
    size = 0
    try:
        with gzip.GzipFile(fileobj=upload, mode="rb") as unzipped:
            while chunk := unzipped.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ArchiveTooLarge(f"the build context unpacks to more than {limit} bytes")
                out.write(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        out.close()
        raise ContextError(f"the build context is not a readable gzip stream ({exc})") from None
    except ArchiveTooLarge:
        out.close()
        raise
    upload.close()
    out.seek(0)
    return out


def check_members(tar_file: IO[bytes]) -> None:
    """Refuse what cannot belong to a build context; the first bad member is named."""
    tar_file.seek(0)
    has_dockerfile = False
    try:
        with tarfile.open(fileobj=tar_file, mode="r:") as tar:
            for member in tar:
                name = member.name
                if name.startswith("/"):
                    raise ContextError(f"{name}: absolute path")
                if ".." in name.split("/"):
                    raise ContextError(f"{name}: `..` in a member name")
                if member.isdev():
                    raise ContextError(f"{name}: device files and fifos are not allowed")
                if member.issym() and _escapes(posixpath.dirname(name), member.linkname):
                    raise ContextError(f"{name}: symlink to {member.linkname}, outside the context")
                if member.islnk() and _escapes("", member.linkname):
                    raise ContextError(
                        f"{name}: hard link to {member.linkname}, outside the context"
                    )
                if posixpath.normpath(name) == "Dockerfile" and member.isfile():
                    has_dockerfile = True
    except tarfile.TarError as exc:
        raise ContextError(f"the build context is not a readable tar ({exc})") from None
    if not has_dockerfile:
        raise ContextError("the build context has no Dockerfile at its top")
    tar_file.seek(0)


def _escapes(folder: str, target: str) -> bool:
    """A link target relative to `folder` that is absolute or climbs above the context."""
    if target.startswith("/"):
        return True
    normal = posixpath.normpath(posixpath.join(folder, target))
    return normal == ".." or normal.startswith("../")


def checked_tar(upload: IO[bytes], limit: int) -> IO[bytes]:
    """plain_tar then check_members, as one blocking step: the API runs it in a thread,
    since inflating and scanning up to the body limit would stall the event loop."""
    context = plain_tar(upload, limit)
    try:
        check_members(context)
    except BaseException:
        context.close()
        raise
    return context
