"""Which headers cross the gateway each way, and what it adds."""

from __future__ import annotations

from faasbox.gateway.headers import RequestHead, request_head, response_head

START = b"GET / HTTP/1.1\r\nhost: fn:8080\r\n"


def _lines(
    headers: list[tuple[bytes, bytes]], client: tuple[str, int] | None = ("10.0.0.1", 5)
) -> tuple[RequestHead, list[bytes]]:
    head = request_head(START, headers, client, lambda: b"new-id", b"123")
    return head, [line.rstrip(b"\r\n") for line in head.lines[1:]]


def test_hop_by_hop_and_framing_are_not_forwarded() -> None:
    head, lines = _lines(
        [
            (b"host", b"gw:8080"),
            (b"connection", b"keep-alive, x-private"),
            (b"x-private", b"secret"),
            (b"keep-alive", b"timeout=5"),
            (b"te", b"trailers"),
            (b"transfer-encoding", b"chunked"),
            (b"proxy-authorization", b"Basic x"),
            (b"proxy", b"http://evil.example:3128"),
            (b"expect", b"100-continue"),
            (b"content-length", b"12"),
            (b"x-kept", b"yes"),
        ]
    )
    assert lines == [
        b"x-kept: yes",
        b"x-call-id: new-id",
        b"x-start-time: 123",
        b"x-forwarded-for: 10.0.0.1:5",
        b"x-forwarded-host: gw:8080",
    ]
    assert head.chunked and head.content_length == 12
    assert head.minted


def test_caller_values_win_and_forwarded_for_is_appended_to() -> None:
    head, lines = _lines(
        [
            (b"x-call-id", b"theirs"),
            (b"x-forwarded-for", b"1.2.3.4"),
            (b"x-forwarded-host", b"example.org"),
            (b"x-forwarded-for", b"5.6.7.8"),
        ]
    )
    assert lines == [
        b"x-call-id: theirs",
        b"x-forwarded-host: example.org",
        b"x-start-time: 123",
        b"x-forwarded-for: 1.2.3.4, 5.6.7.8, 10.0.0.1:5",
    ]
    assert head.call_id == b"theirs" and not head.minted


def test_call_id_is_made_only_when_the_caller_sent_none() -> None:
    def mint() -> bytes:
        raise AssertionError("a call id was made although the caller sent one")

    head = request_head(START, [(b"x-call-id", b"theirs")], None, mint, b"1")
    assert head.call_id == b"theirs"


def test_no_client_address_no_forwarded_for() -> None:
    _, lines = _lines([], client=None)
    assert lines == [b"x-call-id: new-id", b"x-start-time: 123"]


def test_response_keeps_repeats_drops_hop_by_hop_and_adds_ids() -> None:
    head, _ = _lines([])
    lines, has_length = response_head(
        [
            (b"Content-Type", b"text/plain"),
            (b"Set-Cookie", b"a=1"),
            (b"Set-Cookie", b"b=2"),
            (b"Connection", b"keep-alive, X-Hop"),
            (b"X-Hop", b"1"),
            (b"Transfer-Encoding", b"chunked"),
            (b"Date", b"Mon, 01 Jan 2024 00:00:00 GMT"),
        ],
        head,
        b"123",
    )
    assert lines == (
        b"content-type: text/plain\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n"
        b"x-call-id: new-id\r\nx-start-time: 123\r\n"
    )
    assert not has_length


def test_response_call_id_only_when_the_gateway_made_it() -> None:
    head, _ = _lines([(b"x-call-id", b"theirs")])
    assert response_head([(b"Content-Length", b"2")], head, b"9") == (
        b"content-length: 2\r\nx-start-time: 9\r\n",
        True,
    )
    mine, _ = _lines([])
    echoed, _ = response_head([(b"X-Call-Id", b"new-id"), (b"X-Start-Time", b"9")], mine, b"9")
    assert echoed == b"x-call-id: new-id\r\nx-start-time: 9\r\n"
