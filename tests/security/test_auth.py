"""Path, Host, method and Authorization tricks on the guarded routes, raw so no client
tidies them: every one is 401 (or 404/405 with no data), never the guarded answer."""

from __future__ import annotations

import base64

import pytest

from tests.security.conftest import exchange, status_of
from tests.support.server import Server

pytestmark = pytest.mark.engine

PATHS = [
    "/system/functions",
    "//system/functions",
    "/system//functions",
    "/./system/functions",
    "/function/../system/functions",
    "/%73ystem/functions",
    "/system%2ffunctions",
    "/SYSTEM/functions",
    "/system/functions?x=/healthz",
    "/ui/",
    "/ui/../system/secrets",
    "http://127.0.0.1/system/functions",
]


def get(box: Server, target: str, extra: str = "", method: str = "GET") -> bytes:
    raw = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}\r\n"
    return exchange(box.port, raw.encode(), timeout=5)


@pytest.mark.parametrize("target", PATHS)
def test_path_tricks_never_reach_the_api_unauthenticated(box: Server, target: str) -> None:
    answer = get(box, target)
    assert status_of(answer) in (400, 401, 404, 405), answer[:300]
    assert b'"name"' not in answer and b"<html" not in answer.lower()


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer ",
        "Bearer x",
        "Basic",
        "Basic ",
        "Basic !!!",
        "basic " + base64.b64encode(b"admin:").decode(),
        "Basic " + base64.b64encode(b"admin").decode(),
        "Basic " + base64.b64encode(b":").decode(),
        "Basic " + base64.b64encode(b"admin:x\x00").decode(),
        "Basic " + base64.b64encode(b"admin:" + b"x" * 10_000).decode(),
    ],
)
def test_authorization_tricks_are_401(box: Server, authorization: str) -> None:
    answer = get(box, "/system/functions", f"Authorization: {authorization}\r\n")
    assert status_of(answer) == 401, answer[:300]


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "GET /x"])
def test_odd_methods_are_refused(box: Server, method: str) -> None:
    answer = get(box, "/system/functions", method=method)
    assert status_of(answer) in (400, 401, 405), answer[:300]
