"""Ambiguous request framing at faasbox's own port, raw: each is refused with 400 (one
answer, nothing smuggled behind it) and the server serves the next connection. These held
before issue 14; they stay as probes for the server protocol that replaces uvicorn's."""

from __future__ import annotations

import pytest

from tests.security.conftest import exchange, status_of
from tests.support.server import Server

pytestmark = pytest.mark.engine

SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

FRAMINGS = {
    "cl-and-te": b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "two-lengths": b"Content-Length: 4\r\nContent-Length: 40\r\n\r\nabcd" + SMUGGLED,
    "te-obfuscated": b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "te-space-colon": b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "chunk-minus": b"Transfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n" + SMUGGLED,
    "chunk-0x": b"Transfer-Encoding: chunked\r\n\r\n0x1\r\nx\r\n0\r\n\r\n" + SMUGGLED,
    "bare-lf": b"X-A: 1\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "nul-header": b"X-A: 1\x002\r\n\r\n" + SMUGGLED,
    "obs-fold": b"X-A: 1\r\n 2\r\n\r\n" + SMUGGLED,
    "length-plus": b"Content-Length: +4\r\n\r\nabcd" + SMUGGLED,
}


@pytest.mark.parametrize("path", ["/function/fb14-nothere", "/system/functions"])
@pytest.mark.parametrize("case", list(FRAMINGS))
def test_ambiguous_framing_is_one_400(box: Server, path: str, case: str) -> None:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
    answer = exchange(box.port, head + FRAMINGS[case], timeout=5)
    assert status_of(answer) == 400, answer[:300]
    assert answer.count(b"HTTP/1.1 ") == 1, answer[:600]  # nothing smuggled got an answer
    assert (
        status_of(
            exchange(box.port, SMUGGLED.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        )
        == 200
    )
