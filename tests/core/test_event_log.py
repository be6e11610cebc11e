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


def test_ids_name_tag_stream_and_sequence_and_are_unique() -> None:
    log = MemoryEventLog(tag="abc")
    first = log.append(1, b"a")
    second = log.append(2, b"b")
    third = log.append(1, b"c")
    assert [first.event_id, second.event_id, third.event_id] == ["abc-1-1", "abc-2-2", "abc-1-3"]
    assert first.stream_id == 1 and second.stream_id == 2


def test_random_tags_differ_between_logs() -> None:
    assert MemoryEventLog().tag != MemoryEventLog().tag


def test_replay_after_an_id_returns_only_that_streams_later_events_in_order() -> None:
    log = MemoryEventLog(tag="t")
    start = log.append(1, b"")
    log.append(2, b"other")
    log.append(1, b"one")
    log.append(1, b"two")
    position = log.position_of(start.event_id)
    assert position == Position(1, start.sequence)
    events = log.read_after(position)
    assert events is not None
    assert [event.data for event in events] == [b"one", b"two"]


def test_replay_after_the_last_event_is_empty() -> None:
    log = MemoryEventLog()
    last = log.append(0, b"x")
    position = log.position_of(last.event_id)
    assert position is not None
    assert log.read_after(position) == []


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
def test_ids_not_issued_by_this_log_have_no_position(event_id: str) -> None:
    log = MemoryEventLog(tag="t")
    log.append(1, b"a")
    assert log.position_of(event_id) is None


def test_another_logs_id_has_no_position_even_with_the_same_numbers() -> None:
    first = MemoryEventLog()
    second = MemoryEventLog()
    event = first.append(1, b"secret")
    second.append(1, b"mine")
    assert second.position_of(event.event_id) is None


def test_count_bound_evicts_the_oldest() -> None:
    log = MemoryEventLog(max_events=3, tag="t")
    events = [log.append(1, str(index).encode()) for index in range(5)]
    assert len(log) == 3
    assert log.position_of(events[0].event_id) is None
    assert log.position_of(events[1].event_id) is None
    position = log.position_of(events[2].event_id)
    assert position is not None
    replay = log.read_after(position)
    assert replay is not None
    assert [event.data for event in replay] == [b"3", b"4"]


def test_byte_bound_evicts_the_oldest() -> None:
    log = MemoryEventLog(max_bytes=10, tag="t")
    first = log.append(1, b"12345")
    log.append(1, b"12345")
    log.append(1, b"1")
    assert log.size_bytes == 6
    assert log.position_of(first.event_id) is None


def test_an_event_larger_than_the_byte_bound_is_returned_but_not_kept() -> None:
    log = MemoryEventLog(max_bytes=4, tag="t")
    kept = log.append(1, b"ab")
    huge = log.append(1, b"x" * 10)
    assert huge.data == b"x" * 10
    assert len(log) == 0
    assert log.size_bytes == 0
    assert log.position_of(kept.event_id) is None


def test_reader_that_fell_behind_the_bound_gets_none_not_a_gap() -> None:
    log = MemoryEventLog(max_events=2, tag="t")
    start = log.append(1, b"a")
    position = log.position_of(start.event_id)
    assert position is not None
    for data in (b"b", b"c", b"d"):
        log.append(1, data)
    assert log.read_after(position) is None


def test_reader_just_before_the_window_still_reads_everything() -> None:
    log = MemoryEventLog(max_events=2, tag="t")
    start = log.append(1, b"a")
    position = Position(1, start.sequence)
    log.append(1, b"b")
    log.append(1, b"c")  # evicts "a" itself, but nothing after it
    replay = log.read_after(position)
    assert replay is not None
    assert [event.data for event in replay] == [b"b", b"c"]


@pytest.mark.parametrize(("max_events", "max_bytes"), [(0, 10), (1, -1)])
def test_bounds_must_be_sensible(max_events: int, max_bytes: int) -> None:
    with pytest.raises(ValueError, match="max_events"):
        MemoryEventLog(max_events, max_bytes)


def test_tag_must_not_contain_the_separator() -> None:
    with pytest.raises(ValueError, match="tag"):
        MemoryEventLog(tag="a-b")
