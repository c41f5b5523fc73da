"""The upstream protocol parses answers fed to it as a socket would and hands each part to
the call that holds it; the pool keeps only connections whose answer was read to the end."""

from __future__ import annotations

from faasbox.gateway.pool import Pool
from faasbox.gateway.upstream import Upstream


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


class Recorder:
    """A sink that writes down what the connection handed it, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self.body = b""
        self.ended = False
        self.lost = ""

    def on_head(self, conn: Upstream) -> None:
        self.events.append(("head", conn.status))

    def on_body(self, data: bytes) -> None:
        self.body += data

    def on_end(self) -> None:
        self.ended = True

    def flush(self) -> None:
        self.events.append(("flush", len(self.body)))

    def on_lost(self, conn: Upstream, reason: str) -> None:
        self.lost = reason

    def upstream_paused(self, paused: bool) -> None:
        self.events.append(("paused", paused))


def _connection(head_only: bool = False) -> tuple[Upstream, FakeTransport, Recorder]:
    conn = Upstream("10.0.0.9")
    transport = FakeTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    sink = Recorder()
    conn.begin(sink, head_only=head_only)
    return conn, transport, sink


def test_length_framed_answer_in_pieces() -> None:
    conn, _, sink = _connection()
    for piece in (b"HTTP/1.1 201 Created\r\nContent-Le", b"ngth: 5\r\nX-A: 1\r\n\r\nhe", b"llo"):
        conn.data_received(piece)
    assert conn.status == 201
    assert conn.headers == [(b"Content-Length", b"5"), (b"X-A", b"1")]
    assert sink.body == b"hello" and sink.ended
    # One flush per batch of bytes, after the parts it carried.
    assert sink.events == [("flush", 0), ("head", 201), ("flush", 2), ("flush", 5)]
    assert conn.reusable


def test_head_and_body_that_arrive_together_are_flushed_once() -> None:
    conn, _, sink = _connection()
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert sink.events == [("head", 200), ("flush", 2)]
    assert sink.ended


def test_chunked_answer_and_informational_skipped() -> None:
    conn, _, sink = _connection()
    conn.data_received(b"HTTP/1.1 100 Continue\r\n\r\n")
    conn.data_received(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
    assert conn.status == 200 and not sink.ended
    conn.data_received(b"2\r\nde\r\n0\r\n\r\n")
    assert sink.body == b"abcde" and sink.ended
    assert conn.reusable


def test_head_answer_has_no_body_and_the_next_one_parses() -> None:
    conn, _, sink = _connection(head_only=True)
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    assert sink.ended and sink.body == b""
    assert conn.reusable
    again = Recorder()
    conn.begin(again, head_only=False)
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert again.body == b"ok" and again.ended


def test_close_delimited_body_ends_with_the_connection() -> None:
    conn, _, sink = _connection()
    conn.data_received(b"HTTP/1.1 200 OK\r\n\r\npart one ")
    assert sink.body == b"part one " and not sink.ended
    conn.data_received(b"part two")
    conn.connection_lost(None)
    assert sink.body == b"part one part two" and sink.ended and not sink.lost
    assert not conn.reusable


def test_cut_answer_is_an_error() -> None:
    conn, _, sink = _connection()
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    conn.connection_lost(ConnectionResetError("reset"))
    assert "connection lost" in sink.lost and not sink.ended


def test_no_answer_garbage_and_101_are_errors() -> None:
    conn, _, sink = _connection()
    conn.connection_lost(None)
    assert "before the answer" in sink.lost and not conn.got_bytes
    conn, transport, sink = _connection()
    conn.data_received(b"NOT HTTP AT ALL\r\n\r\n")
    assert transport.closed and "invalid response" in sink.lost
    conn, transport, sink = _connection()
    conn.data_received(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"
    )
    assert transport.closed and "101" in sink.lost and ("head", 101) not in sink.events


def test_bytes_on_an_idle_connection_close_it() -> None:
    conn, transport, _ = _connection()
    conn.finish()
    conn.data_received(b"HTTP/1.1 200 OK\r\n\r\n")
    assert transport.closed and conn.closed


def test_write_pauses_reach_the_sink_and_reading_can_be_paused() -> None:
    conn, transport, sink = _connection()
    conn.pause_writing()
    conn.resume_writing()
    assert sink.events == [("paused", True), ("paused", False)]
    conn.pause_reading(True)
    assert not transport.reading
    conn.pause_reading(False)
    assert transport.reading


def test_a_connection_kept_after_a_slow_caller_is_read_again() -> None:
    """The caller's buffer filled as the last answer bytes went out, so reading from the
    replica was paused; the kept connection must not stay paused for the next call."""
    pool = Pool(max_idle=1)
    pool.admit("10.0.0.9")
    conn, transport = _answered()
    conn.pause_reading(True)
    pool.release(conn, keep=True)
    assert pool.idle("10.0.0.9", 0.0) is conn
    assert transport.reading


def _answered(address: str = "10.0.0.9") -> tuple[Upstream, FakeTransport]:
    conn, transport, _ = _connection()
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    return conn, transport


def test_pool_keeps_only_fully_read_connections() -> None:
    pool = Pool(max_idle=1)
    pool.admit("10.0.0.9")
    done, _ = _answered()
    half, half_transport, _ = _connection()
    half.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
    pool.release(half, keep=True)
    assert half_transport.closed and pool.size == 0
    pool.release(done, keep=True)
    assert pool.size == 1
    extra, extra_transport = _answered()
    pool.release(extra, keep=True)
    assert extra_transport.closed and pool.size == 1  # capped
    assert pool.idle("10.0.0.9", 0.0) is done
    assert pool.idle("10.0.0.9", 0.0) is None


def test_pool_hands_out_no_connection_older_than_asked() -> None:
    pool = Pool()
    pool.admit("10.0.0.9")
    conn, transport = _answered()
    pool.release(conn, keep=True)
    assert pool.idle("10.0.0.9", conn.idle_since + 1) is None
    assert transport.closed


def test_pool_drops_a_leaving_replica_and_prunes_old_connections() -> None:
    pool = Pool()
    pool.admit("10.0.0.9")
    conn, transport = _answered()
    pool.release(conn, keep=True)
    pool.prune(before=conn.idle_since + 1)
    assert transport.closed and pool.size == 0
    other, other_transport = _answered()
    pool.release(other, keep=True)
    pool.drop("10.0.0.9")
    assert other_transport.closed and pool.size == 0
    again, again_transport = _answered()
    pool.release(again, keep=True)  # replica gone: not kept
    assert again_transport.closed


def test_a_204_with_a_body_is_not_reused() -> None:
    conn, _, sink = _connection()
    conn.data_received(b"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nbad")
    assert sink.ended and sink.body == b""
    assert not conn.reusable
