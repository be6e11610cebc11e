"""The per-session event log without sockets: ids, ordering, bounds, replay after an id."""

from __future__ import annotations

import pytest

from ssemcp.state import (
    DEFAULT_MAX_LOGGED_BYTES,
    DEFAULT_MAX_LOGGED_EVENTS,
    MAX_EVENT_ID_LENGTH,
    EventLog,
    MemoryEventLog,
    Position,
)


def test_memory_log_implements_the_protocol() -> None:
    log: EventLog = MemoryEventLog()
    assert isinstance(log, MemoryEventLog)
    assert DEFAULT_MAX_LOGGED_EVENTS > 0 and DEFAULT_MAX_LOGGED_BYTES > 0


async def test_ids_name_tag_stream_and_sequence_and_are_unique() -> None:
    log = MemoryEventLog(tag="abc")
    first = await log.append(1, b"a")
    second = await log.append(2, b"b")
    third = await log.append(1, b"c")
    assert [first.event_id, second.event_id, third.event_id] == ["abc-1-1", "abc-2-2", "abc-1-3"]
    assert first.stream_id == 1 and second.stream_id == 2


def test_random_tags_differ_between_logs() -> None:
    assert MemoryEventLog().tag != MemoryEventLog().tag


async def test_replay_after_an_id_returns_only_that_streams_later_events_in_order() -> None:
    log = MemoryEventLog(tag="t")
    start = await log.append(1, b"")
    await log.append(2, b"other")
    await log.append(1, b"one")
    await log.append(1, b"two")
    position = await log.position_of(start.event_id)
    assert position == Position(1, start.sequence)
    events = await log.read_after(position)
    assert events is not None
    assert [event.data for event in events] == [b"one", b"two"]


async def test_replay_after_the_last_event_is_empty() -> None:
    log = MemoryEventLog()
    last = await log.append(0, b"x")
    position = await log.position_of(last.event_id)
    assert position is not None
    assert await log.read_after(position) == []


@pytest.mark.parametrize(
    "event_id",
    [
        "",
        "t-1",
        "t-1-1-1",
        "other-1-1",
        "t-x-1",
        "t-1-x",
        "t--1-1",
        "t-1-²",
        "t-1-99",  # never issued
        "t-2-1",  # a real sequence, on another stream: forged
        "t-1-" + "9" * 40,
        "t" * (MAX_EVENT_ID_LENGTH + 1),
    ],
)
async def test_ids_not_issued_by_this_log_have_no_position(event_id: str) -> None:
    log = MemoryEventLog(tag="t")
    await log.append(1, b"a")
    assert await log.position_of(event_id) is None


async def test_another_logs_id_has_no_position_even_with_the_same_numbers() -> None:
    first = MemoryEventLog()
    second = MemoryEventLog()
    event = await first.append(1, b"secret")
    await second.append(1, b"mine")
    assert await second.position_of(event.event_id) is None


async def test_count_bound_evicts_the_oldest() -> None:
    log = MemoryEventLog(max_events=3, tag="t")
    events = [await log.append(1, str(index).encode()) for index in range(5)]
    assert len(log) == 3
    assert await log.position_of(events[0].event_id) is None
    assert await log.position_of(events[1].event_id) is None
    position = await log.position_of(events[2].event_id)
    assert position is not None
    replay = await log.read_after(position)
    assert replay is not None
    assert [event.data for event in replay] == [b"3", b"4"]


async def test_byte_bound_evicts_the_oldest() -> None:
    log = MemoryEventLog(max_bytes=10, tag="t")
    first = await log.append(1, b"12345")
    await log.append(1, b"12345")
    await log.append(1, b"1")
    assert log.size_bytes == 6
    assert await log.position_of(first.event_id) is None


async def test_an_event_larger_than_the_byte_bound_is_returned_but_not_kept() -> None:
    log = MemoryEventLog(max_bytes=4, tag="t")
    kept = await log.append(1, b"ab")
    huge = await log.append(1, b"x" * 10)
    assert huge.data == b"x" * 10
    assert len(log) == 0
    assert log.size_bytes == 0
    assert await log.position_of(kept.event_id) is None


async def test_reader_that_fell_behind_the_bound_gets_none_not_a_gap() -> None:
    log = MemoryEventLog(max_events=2, tag="t")
    start = await log.append(1, b"a")
    position = await log.position_of(start.event_id)
    assert position is not None
    for data in (b"b", b"c", b"d"):
        await log.append(1, data)
    assert await log.read_after(position) is None


async def test_reader_just_before_the_window_still_reads_everything() -> None:
    log = MemoryEventLog(max_events=2, tag="t")
    start = await log.append(1, b"a")
    position = Position(1, start.sequence)
    await log.append(1, b"b")
    await log.append(1, b"c")  # evicts "a" itself, but nothing after it
    replay = await log.read_after(position)
    assert replay is not None
    assert [event.data for event in replay] == [b"b", b"c"]


@pytest.mark.parametrize(("max_events", "max_bytes"), [(0, 10), (1, -1)])
def test_bounds_must_be_sensible(max_events: int, max_bytes: int) -> None:
    with pytest.raises(ValueError, match="max_events"):
        MemoryEventLog(max_events, max_bytes)


def test_tag_must_not_contain_the_separator() -> None:
    with pytest.raises(ValueError, match="tag"):
        MemoryEventLog(tag="a-b")
