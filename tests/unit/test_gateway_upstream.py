"""The upstream protocol parses answers fed to it as a socket would, and the pool keeps only
connections whose answer was read to the end."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from faasbox.gateway import upstream
from faasbox.gateway.pool import Pool
from faasbox.gateway.upstream import Upstream, UpstreamError


class FakeTransport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False
        self.reading = True

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def set_write_buffer_limits(self, high: int) -> None:
        return None


def _connection(head_only: bool = False) -> tuple[Upstream, FakeTransport]:
    conn = Upstream("10.0.0.9", asyncio.get_running_loop())
    transport = FakeTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    conn.begin(head_only=head_only)
    return conn, transport


async def _body(conn: Upstream) -> bytes:
    out = b""
    while True:
        data, done = await conn.read_body()
        out += data
        if done:
            return out


async def test_length_framed_answer_in_pieces() -> None:
    conn, _ = _connection()
    for piece in (b"HTTP/1.1 201 Created\r\nContent-Le", b"ngth: 5\r\nX-A: 1\r\n\r\nhe", b"llo"):
        conn.data_received(piece)
    await conn.read_head()
    assert conn.status == 201
    assert conn.headers == [(b"Content-Length", b"5"), (b"X-A", b"1")]
    assert await _body(conn) == b"hello"
    assert conn.reusable


async def test_chunked_answer_and_informational_skipped() -> None:
    conn, _ = _connection()
    conn.data_received(b"HTTP/1.1 100 Continue\r\n\r\n")
    conn.data_received(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
    await conn.read_head()
    assert conn.status == 200
    conn.data_received(b"2\r\nde\r\n0\r\n\r\n")
    assert await _body(conn) == b"abcde"
    assert conn.reusable


async def test_head_answer_has_no_body_and_the_next_one_parses() -> None:
    conn, _ = _connection(head_only=True)
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    await conn.read_head()
    assert await conn.read_body() == (b"", True)
    assert conn.reusable
    conn.begin(head_only=False)
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    await conn.read_head()
    assert await _body(conn) == b"ok"


async def test_close_delimited_body_ends_with_the_connection() -> None:
    conn, _ = _connection()
    conn.data_received(b"HTTP/1.1 200 OK\r\n\r\npart one ")
    await conn.read_head()
    assert await conn.read_body() == (b"part one ", False)
    conn.data_received(b"part two")
    conn.connection_lost(None)
    assert await _body(conn) == b"part two"
    assert not conn.reusable


async def test_cut_answer_is_an_error() -> None:
    conn, _ = _connection()
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    await conn.read_head()
    assert await conn.read_body() == (b"abc", False)
    conn.connection_lost(ConnectionResetError("reset"))
    with pytest.raises(UpstreamError, match="connection lost"):
        await conn.read_body()


async def test_no_answer_and_garbage_are_errors() -> None:
    conn, _ = _connection()
    conn.connection_lost(None)
    with pytest.raises(UpstreamError, match="before a response"):
        await conn.read_head()
    conn, transport = _connection()
    conn.data_received(b"NOT HTTP AT ALL\r\n\r\n")
    assert transport.closed
    with pytest.raises(UpstreamError, match="invalid response"):
        await conn.read_head()


async def test_reading_pauses_past_the_high_water_mark(monkeypatch: Any) -> None:
    monkeypatch.setattr(upstream, "READ_HIGH_WATER", 10)
    conn, transport = _connection()
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n" + b"x" * 20)
    await conn.read_head()
    assert not transport.reading
    assert await conn.read_body() == (b"x" * 20, False)
    assert transport.reading


async def test_pool_keeps_only_fully_read_connections() -> None:
    pool = Pool(max_idle=1)
    pool.admit("10.0.0.9")
    done, _ = _connection()
    done.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    half, half_transport = _connection()
    half.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
    pool.release(half, keep=True)
    assert half_transport.closed and pool.size == 0
    pool.release(done, keep=True)
    assert pool.size == 1
    extra, extra_transport = _connection()
    extra.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    pool.release(extra, keep=True)
    assert extra_transport.closed and pool.size == 1  # capped
    assert pool.idle("10.0.0.9") is done
    assert pool.idle("10.0.0.9") is None


async def test_pool_drops_a_leaving_replica_and_prunes_old_connections() -> None:
    pool = Pool()
    pool.admit("10.0.0.9")
    conn, transport = _connection()
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    pool.release(conn, keep=True)
    pool.prune(before=conn.idle_since + 1)
    assert transport.closed and pool.size == 0
    other, other_transport = _connection()
    other.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    pool.release(other, keep=True)
    pool.drop("10.0.0.9")
    assert other_transport.closed and pool.size == 0
    again, again_transport = _connection()
    again.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    pool.release(again, keep=True)  # replica gone: not kept
    assert again_transport.closed


async def test_a_204_with_a_body_is_not_reused() -> None:
    conn, _ = _connection()
    conn.data_received(b"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nbad")
    await conn.read_head()
    assert await conn.read_body() == (b"", True)
    assert not conn.reusable
