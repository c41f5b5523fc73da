"""Cross-site requests with the browser's cached credentials: every state-changing /system
call needs a machine Content-Type and must not come from another site. faas-cli's own
requests (application/json, no Origin) and the portal's (same origin) keep working."""

from __future__ import annotations

import pytest

from tests.security.conftest import exchange, status_of
from tests.support.engine import unique
from tests.support.server import Server

pytestmark = pytest.mark.engine

SIMPLE_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
]


def raw_call(box: Server, method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """As a browser would send it: raw, so nothing adds or fixes a header."""
    token = __import__("base64").b64encode(f"{box.user}:{box.password}".encode())
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{box.port}\r\nConnection: close\r\n"
    head += f"Authorization: Basic {token.decode()}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items() if v)
    return exchange(box.port, head.encode() + b"\r\n" + body)


# Named per run, so anything a failing probe does create is swept after the suite.
VICTIM = unique("fb14-csrf")
CALLS = [
    ("POST", "/system/functions", f'{{"service":"{VICTIM}","image":"x"}}'.encode()),
    ("POST", "/system/secrets", f'{{"name":"{VICTIM}","value":"stolen"}}'.encode()),
    ("POST", f"/system/scale-function/{VICTIM}", b'{"replicas":0}'),
    ("DELETE", "/system/functions", f'{{"functionName":"{VICTIM}"}}'.encode()),
]


@pytest.mark.parametrize("kind", SIMPLE_TYPES, ids=["text", "form", "multipart", "none"])
@pytest.mark.parametrize(
    ("method", "path", "body"), CALLS, ids=["deploy", "secret", "scale", "delete"]
)
def test_simple_request_types_are_415(
    box: Server, kind: str, method: str, path: str, body: bytes
) -> None:
    answer = raw_call(box, method, path, body, {"Content-Type": kind})
    assert status_of(answer) == 415, answer[:300]
    assert b"application/json" in answer


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-origin"},
    ],
    ids=["origin", "null-origin", "cross-site", "same-site", "other-port"],
)
def test_cross_site_json_is_403(box: Server, headers: dict[str, str]) -> None:
    name = unique("fb14-csrf")
    body = f'{{"name":"{name}","value":"stolen"}}'.encode()
    answer = raw_call(
        box, "POST", "/system/secrets", body, {"Content-Type": "application/json", **headers}
    )
    assert status_of(answer) == 403, answer[:300]
    with box.client() as api:
        assert name not in [s["name"] for s in api.get("/system/secrets").json()]


def test_same_origin_and_cli_requests_pass(box: Server) -> None:
    name = unique("fb14-ok")
    body = f'{{"name":"{name}","value":"v"}}'.encode()
    portal = {
        "Content-Type": "application/json",
        "Origin": f"http://127.0.0.1:{box.port}",
        "Sec-Fetch-Site": "same-origin",
    }
    assert status_of(raw_call(box, "POST", "/system/secrets", body, portal)) == 201
    cli = {"Content-Type": "application/json", "User-Agent": "Go-http-client/1.1"}
    delete = f'{{"name":"{name}"}}'.encode()
    assert status_of(raw_call(box, "DELETE", "/system/secrets", delete, cli)) == 200


def test_reads_stay_open_to_simple_requests(box: Server) -> None:
    with box.client() as api:
        listed = api.get("/system/functions", headers={"Sec-Fetch-Site": "cross-site"})
    assert listed.status_code == 200  # reads change nothing; CORS keeps the answer unread


def test_the_guard_holds_without_auth(make_server: object) -> None:
    """--no-auth is exactly where any page could drive the API."""
    assert callable(make_server)
    server = make_server(network=unique("fb14-noauth"), env={"FAASBOX_AUTH": "false"})
    server.start()
    body = f'{{"name":"{unique("fb14-csrf")}","value":"v"}}'.encode()
    raw = (
        f"POST /system/secrets HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    assert status_of(exchange(server.port, raw)) == 415
