"""Log lines leave in time order: sorted whole when read to the end, or within a window."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from faasbox.engine.logs import LogLine, _reordered, _unix


def line(timestamp: str, instance: str = "a") -> LogLine:
    return LogLine(timestamp, instance, f"at {timestamp}")


def test_order_key_follows_time_whatever_the_fraction_digits() -> None:
    stamps = [
        "2026-12-01T08:11:08.5Z",
        "2026-12-01T08:11:08Z",
        "2026-12-01T08:11:08.123456789Z",
        "2026-12-01T08:09:44.99Z",
    ]
    ordered = sorted(stamps, key=lambda s: line(s).order)
    assert ordered == [stamps[3], stamps[1], stamps[2], stamps[0]]


async def arriving(batches: list[tuple[float, list[LogLine]]]) -> AsyncIterator[LogLine]:
    for pause, lines in batches:
        await asyncio.sleep(pause)
        for one in lines:
            yield one


def test_lines_of_two_tasks_leave_in_time_order_within_the_window() -> None:
    async def run() -> list[str]:
        batches = [
            (0.0, [line("2026-12-01T08:11:08Z", "old"), line("2026-12-01T08:11:14Z", "old")]),
            (0.05, [line("2026-12-01T08:09:44Z", "new"), line("2026-12-01T08:11:10Z", "new")]),
        ]
        return [one.timestamp async for one in _reordered(arriving(batches), 0.3)]

    assert asyncio.run(run()) == [
        "2026-12-01T08:09:44Z",
        "2026-12-01T08:11:08Z",
        "2026-12-01T08:11:10Z",
        "2026-12-01T08:11:14Z",
    ]


def test_a_line_later_than_the_window_is_sent_when_it_comes() -> None:
    async def run() -> list[str]:
        batches = [
            (0.0, [line("2026-12-01T08:11:08Z")]),
            (0.3, [line("2026-12-01T08:11:01Z")]),
        ]
        return [one.timestamp async for one in _reordered(arriving(batches), 0.05)]

    assert asyncio.run(run()) == ["2026-12-01T08:11:08Z", "2026-12-01T08:11:01Z"]


def test_a_stopped_reader_stops_the_engine_read() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncIterator[LogLine]:
        try:
            yield line("2026-12-01T08:11:08Z")
            await asyncio.Event().wait()
        finally:
            closed.set()

    async def run() -> bool:
        ordered = _reordered(endless(), 0.01)
        assert (await anext(ordered)).timestamp == "2026-12-01T08:11:08Z"
        await ordered.aclose()
        return closed.is_set()

    assert asyncio.run(run())


def test_since_is_sent_as_the_engines_seconds_and_nanoseconds() -> None:
    assert _unix("2026-12-01T08:11:08.5Z") == "1796112668.500000000"
    assert _unix("1970-01-01T00:00:01Z") == "1.000000000"
