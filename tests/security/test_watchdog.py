"""The watchdog as a direct target (a replica's port is reachable on the functions network):
NUL into the child's environment, smuggling-prone chunk sizes, interim upstream answers,
trailers. Raw sockets throughout: clients would normalise these requests away."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from tests.security.conftest import exchange, status_of
from tests.watchdog.conftest import MakeWatchdog
from tests.watchdog.harness import Watchdog, free_port, wait_until


def request(path: str = "/", extra: bytes = b"", body: bytes = b"") -> bytes:
    return (
        b"GET "
        + path.encode()
        + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + extra
        + (b"\r\n" + body)
    )


def test_nul_in_the_environment_is_400_and_leaks_no_fd(make_watchdog: MakeWatchdog) -> None:
    wd = make_watchdog(fprocess="cat")
    exchange(wd.port, request("/ok"))  # warm: lazily opened files are not a leak
    before = wd.descriptors()
    for _ in range(300):
        answer = exchange(wd.port, request("/%00"))
        assert status_of(answer) == 400, answer[:200]
        assert b"cannot be passed to the function" in answer
    assert wait_until(lambda: wd.descriptors() <= before, timeout=5), (before, wd.descriptors())
    assert status_of(exchange(wd.port, request("/after"))) == 200


@pytest.mark.parametrize(
    "head",
    [
        b"X-Nul: a\x00b\r\n",
        b"X-Bare-Lf: a\nInjected: 1\r\n",
        b"X-Bare-Cr: a\rb\r\n",
    ],
    ids=["nul-header", "bare-lf", "bare-cr"],
)
def test_control_bytes_in_the_head_are_400(make_watchdog: MakeWatchdog, head: bytes) -> None:
    wd = make_watchdog(fprocess="cat")
    assert status_of(exchange(wd.port, request("/", head))) == 400


@pytest.mark.parametrize("size", [b"-1", b"0x10", b"1_0", b"+5", b" 5", b"5 5", b"", b"1" * 17])
def test_chunk_sizes_are_hex_only(make_watchdog: MakeWatchdog, size: bytes) -> None:
    wd = make_watchdog(fprocess="cat")
    raw = (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + size
        + b"\r\nhello\r\n0\r\n\r\n"
    )
    answer = exchange(wd.port, raw)
    assert status_of(answer) == 400, answer[:200]


@pytest.mark.parametrize(
    "framing",
    [
        b"Transfer-Encoding: xchunked\r\n",
        b"Transfer-Encoding: chunked, identity\r\n",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        b"Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length: \u00b2\r\n".encode("latin-1"),
        b"Content-Length: +5\r\n",
    ],
    ids=["xchunked", "chunked-identity", "two-te", "two-lengths", "superscript-2", "plus-5"],
)
def test_ambiguous_framing_is_400(make_watchdog: MakeWatchdog, framing: bytes) -> None:
    wd = make_watchdog(fprocess="cat")
    answer = exchange(wd.port, b"POST / HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\nhello")
    assert status_of(answer) == 400, answer[:200]
    assert wd.proc is not None and wd.proc.poll() is None


def test_a_trailer_never_reaches_the_function(make_watchdog: MakeWatchdog, tmp_path: Path) -> None:
    dump = tmp_path / "env.py"
    dump.write_text("import json, os, sys\nsys.stdin.read()\nprint(json.dumps(dict(os.environ)))\n")
    wd = make_watchdog(fprocess=f"{sys.executable} {dump}")
    raw = (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"5\r\nhello\r\n0\r\nX-Trailer-Injected: yes\r\n\r\n"
    )
    answer = exchange(wd.port, raw)
    assert status_of(answer) == 200, answer[:300]
    env = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert not [k for k in env if "trailer" in k.lower()], env


# An upstream that answers every request with the bytes in $UPSTREAM_ANSWER (hex);
# connections closed before a full head (readiness checks) get nothing.
RAW_UPSTREAM = textwrap.dedent(
    """
    import os, socket, sys
    answer = bytes.fromhex(os.environ["UPSTREAM_ANSWER"])
    server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
    while True:
        conn, _ = server.accept()
        data = b""
        while b"\\r\\n\\r\\n" not in data:
            more = conn.recv(4096)
            if not more:
                break
            data += more
        else:
            conn.sendall(answer)
        conn.close()
    """
)


def raw_upstream(make_watchdog: MakeWatchdog, tmp_path: Path, answer: bytes) -> Watchdog:
    app = tmp_path / "upstream.py"
    app.write_text(RAW_UPSTREAM)
    port = free_port()
    return make_watchdog(
        mode="http",
        fprocess=f"{sys.executable} {app} {port}",
        upstream_url=f"http://127.0.0.1:{port}",
        UPSTREAM_ANSWER=answer.hex(),
    )


def test_an_interim_100_from_the_upstream_is_not_the_answer(
    make_watchdog: MakeWatchdog, tmp_path: Path
) -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"
    final = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfinal"
    wd = raw_upstream(make_watchdog, tmp_path, interim + final)
    answer = exchange(wd.port, request("/"))
    assert status_of(answer) == 200, answer[:300]
    assert answer.endswith(b"final")
    assert b"100 Continue" not in answer


def test_an_upstream_chunk_size_that_is_not_hex_is_refused(
    make_watchdog: MakeWatchdog, tmp_path: Path
) -> None:
    bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"
    wd = raw_upstream(make_watchdog, tmp_path, bad)
    answer = exchange(wd.port, request("/"))
    assert b"hello" not in answer.split(b"\r\n\r\n", 1)[-1], answer[:300]
    assert wd.proc is not None and wd.proc.poll() is None
    assert os.path.exists(wd.lock)
