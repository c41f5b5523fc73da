"""What headers cross the gateway, each way, and what it adds.

Hop-by-hop headers (RFC 9110 section 7.6.1, plus the legacy ones OpenFaaS strips) describe one
connection, so they stop here in both directions, as do headers a `Connection`
header names. `Proxy` never reaches a function: CGI-style handlers would read it as
`HTTP_PROXY` and send their own outbound calls through the caller's proxy (httpoxy).
The function gets `X-Call-Id` (kept when the caller sent one), `X-Start-Time` in
nanoseconds, `X-Forwarded-For` with the caller's `ip:port` (as OpenFaaS sends it)
appended to any list the caller sent, and `X-Forwarded-Host` unless the caller set
it. Tables are built once here; per request, each header costs one set lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Framing is rewritten for the upstream connection; Host names the function; the gateway
# has already answered `Expect: 100-continue`, so the function must not be asked again.
_NOT_FORWARDED = HOP_BY_HOP | {b"host", b"content-length", b"expect", b"proxy"}
# The gateway writes its own Date; a second one would be invalid.
_NOT_RETURNED = HOP_BY_HOP | {b"date"}
_PLAIN_CONNECTION = frozenset({b"close", b"keep-alive"})

X_CALL_ID = b"x-call-id"
X_START_TIME = b"x-start-time"
_X_FORWARDED_FOR = b"x-forwarded-for"
_X_FORWARDED_HOST = b"x-forwarded-host"


class RequestHead:
    """The request as the function will see it, minus the body framing line."""

    __slots__ = ("call_id", "chunked", "content_length", "lines", "minted")

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.content_length = -1
        self.chunked = False
        self.call_id = b""
        self.minted = False


def request_head(
    start_line: bytes,
    headers: Iterable[tuple[bytes, bytes]],
    client: tuple[str, int] | None,
    new_call_id: Callable[[], bytes],
    start_ns: bytes,
) -> RequestHead:
    """Build the forwarded head. `new_call_id` is called only if the caller sent none."""
    head = RequestHead()
    lines = head.lines
    lines.append(start_line)
    host = forwarded_for = b""
    forwarded_host = False
    named: list[bytes] = []
    for name, value in headers:
        if name in _NOT_FORWARDED:
            if name == b"content-length":
                head.content_length = int(value)
            elif name == b"transfer-encoding":
                head.chunked = b"chunked" in value.lower()
            elif name == b"host":
                host = value
            elif name == b"connection":
                named += _listed(value)
            continue
        if name == X_CALL_ID:
            head.call_id = value
        elif name == _X_FORWARDED_FOR:
            forwarded_for = forwarded_for + b", " + value if forwarded_for else value
            continue
        elif name == _X_FORWARDED_HOST:
            forwarded_host = True
        lines.append(b"%s: %s\r\n" % (name, value))
    if named:
        lines[1:] = [line for line in lines[1:] if line.split(b":", 1)[0] not in named]
    if not head.call_id:
        head.call_id, head.minted = new_call_id(), True
        lines.append(b"x-call-id: %s\r\n" % head.call_id)
    lines.append(b"x-start-time: %s\r\n" % start_ns)
    if client is not None:
        caller = b"%s:%d" % (client[0].encode(), client[1])
        forwarded_for = forwarded_for + b", " + caller if forwarded_for else caller
    if forwarded_for:
        lines.append(b"x-forwarded-for: %s\r\n" % forwarded_for)
    if not forwarded_host and host:
        lines.append(b"x-forwarded-host: %s\r\n" % host)
    return head


def response_head(
    upstream: Iterable[tuple[bytes, bytes]], head: RequestHead, start_ns: bytes
) -> tuple[bytes, bool]:
    """The function's header lines for the caller, plus the call id (when the gateway made
    it up) and the start time, unless the function already returned them; and whether
    they carry a Content-Length (else the gateway frames the body itself)."""
    out: list[bytes] = []
    named: list[bytes] = []
    has_call_id = has_start = has_length = False
    for name, value in upstream:
        name = name.lower()
        if name in _NOT_RETURNED:
            if name == b"connection":
                named += _listed(value)
            continue
        if name == X_CALL_ID:
            has_call_id = True
        elif name == X_START_TIME:
            has_start = True
        elif name == b"content-length":
            has_length = True
        out.append(b"%s: %s\r\n" % (name, value))
    if named:
        out = [line for line in out if line.split(b":", 1)[0] not in named]
    if head.minted and not has_call_id:
        out.append(b"x-call-id: %s\r\n" % head.call_id)
    if not has_start:
        out.append(b"x-start-time: %s\r\n" % start_ns)
    return b"".join(out), has_length


def _listed(connection: bytes) -> list[bytes]:
    """Header names a Connection header declares hop-by-hop (beyond close/keep-alive)."""
    tokens = (t.strip().lower() for t in connection.split(b","))
    return [t for t in tokens if t and t not in _PLAIN_CONNECTION]
