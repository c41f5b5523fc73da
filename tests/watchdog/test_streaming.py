"""200 MB each way through the watchdog with its resident memory bounded."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.watchdog.conftest import MakeWatchdog
from tests.watchdog.harness import script, stdlib_python

SIZE = 200 * 1024 * 1024
RSS_LIMIT_KB = 30 * 1024
STDLIB_PYTHON = stdlib_python()


def pattern(total: int, piece: int = 1 << 20) -> Iterator[bytes]:
    block = hashlib.sha256(b"faasbox").digest() * (piece // 32)
    for _ in range(total // piece):
        yield block


def _stream_digest(chunks: Iterator[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.parametrize(
    ("python", "chunked"),
    [(sys.executable, False), (sys.executable, True), (STDLIB_PYTHON, True)],
    ids=["length", "chunked", "chunked-py3.9"],
)
def test_200_mb_round_trip_in_bounded_memory(
    make_watchdog: MakeWatchdog, python: str, chunked: bool
) -> None:
    watchdog = make_watchdog(python=python, fprocess="cat")
    expected = _stream_digest(pattern(SIZE))
    headers = {"Content-Type": "application/octet-stream"}
    if not chunked:
        headers["Content-Length"] = str(SIZE)
    with (
        httpx.Client(timeout=60) as client,
        client.stream("POST", watchdog.url, content=pattern(SIZE), headers=headers) as response,
    ):
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == SIZE
        assert _stream_digest(response.iter_bytes()) == expected
    assert watchdog.peak_rss_kb() < RSS_LIMIT_KB
    assert not list(watchdog.tmpdir.glob(".fwatchdog-spill-*"))


def test_200_mb_chunked_upload_and_generated_response(
    make_watchdog: MakeWatchdog, tmp_path: Path
) -> None:
    count = script(tmp_path, "count.sh", "wc -c\nhead -c 209715200 /dev/zero\n")
    watchdog = make_watchdog(fprocess=count)
    received = 0
    with (
        httpx.Client(timeout=60) as client,
        client.stream(
            "POST",
            watchdog.url,
            content=pattern(SIZE),  # a generator: sent chunked
        ) as response,
    ):
        lines = b""
        for chunk in response.iter_bytes():
            if received < 32:
                lines += chunk[:32]
            received += len(chunk)
    assert lines.split(b"\n", 1)[0].strip() == str(SIZE).encode()
    assert received == len(str(SIZE)) + 1 + SIZE
    assert watchdog.peak_rss_kb() < RSS_LIMIT_KB
    assert os.listdir(watchdog.tmpdir) == [".lock"]
