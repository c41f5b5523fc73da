"""Archive checks without a server: the rules the build endpoint applies to uploads."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from faasbox.builder import archive
from faasbox.builder.errors import ArchiveTooLarge, ContextError


def _tar(*members: tuple[str, bytes, str]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, kind, link in (("Dockerfile", tarfile.REGTYPE, ""), *members):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, link
            tar.addfile(info, io.BytesIO(b""))
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize(
    ("name", "kind", "link"),
    [
        ("../x", tarfile.REGTYPE, ""),
        ("a/../../x", tarfile.REGTYPE, ""),
        ("/abs", tarfile.REGTYPE, ""),
        ("l", tarfile.SYMTYPE, "/etc/passwd"),
        ("a/l", tarfile.SYMTYPE, "../../x"),
        ("h", tarfile.LNKTYPE, "../x"),
        ("h", tarfile.LNKTYPE, "/etc/passwd"),
        ("d", tarfile.CHRTYPE, ""),
        ("f", tarfile.FIFOTYPE, ""),
    ],
)
def test_unsafe_members_are_named(name: str, kind: bytes, link: str) -> None:
    with pytest.raises(ContextError, match=name.replace(".", r"\.")):
        archive.check_members(_tar((name, kind, link)))


def test_links_inside_the_context_pass() -> None:
    archive.check_members(
        _tar(("a/b/l", tarfile.SYMTYPE, "../c"), ("h", tarfile.LNKTYPE, "Dockerfile"))
    )


def test_gzip_is_undone_under_the_cap() -> None:
    packed = io.BytesIO(gzip.compress(_tar().getvalue()))
    plain = archive.plain_tar(packed, 1 << 20)
    archive.check_members(plain)
    bomb = io.BytesIO(gzip.compress(bytes(1 << 20)))
    with pytest.raises(ArchiveTooLarge):
        archive.plain_tar(bomb, 1 << 16)
    with pytest.raises(ContextError, match="gzip"):
        archive.plain_tar(io.BytesIO(b"\x1f\x8bnot gzip at all"), 1 << 16)
