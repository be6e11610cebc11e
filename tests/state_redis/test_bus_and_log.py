"""The Redis bus and event log on a real redis-server: the same answers as the memory ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from live_server import wait_until
from redis_server import RedisServer

from ssemcp.jsonrpc import Notification
from ssemcp.state.events import MemoryEventLog, Position
from ssemcp.state.redis.bus import decode, encode
from ssemcp.state.redis.connection import RedisConnection
from ssemcp.state.redis.events import RedisEventLog
from ssemcp.state.redis.names import check_prefix, check_url
from ssemcp.state.redis.state import RedisState


class Recorder:
    def __init__(self) -> None:
        self.heard: list[Notification] = []

    def post(self, notification: Notification) -> None:
        self.heard.append(notification)


@pytest.fixture
async def two_states(
    redis: RedisServer, prefix: str
) -> AsyncIterator[tuple[RedisState, RedisState]]:
    first, second = RedisState(redis.url, prefix), RedisState(redis.url, prefix)
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_change_published_on_one_process_reaches_subscribers_of_both_once(
    two_states: tuple[RedisState, RedisState],
) -> None:
    first, second = two_states
    here, there = Recorder(), Recorder()
    first.bus.subscribe("list_changed", here)
    second.bus.subscribe("list_changed", there)
    first.bus.subscribe("list_changed", here)  # once, however often
    notification = Notification("notifications/tools/list_changed")
    first.bus.publish("list_changed", notification)
    await wait_until(lambda: len(here.heard) == 1 and len(there.heard) == 1)
    await first.bus.flush()
    await asyncio.sleep(0.05)  # nothing more arrives: the publisher heard it once too
    assert here.heard == [notification] and there.heard == [notification]
    assert first.bus.subscriber_count("list_changed") == 1


async def test_bus_keeps_order_and_topics_apart(two_states: tuple[RedisState, RedisState]) -> None:
    first, second = two_states
    one, other = Recorder(), Recorder()
    second.bus.subscribe("resource:file:///a", one)
    second.bus.subscribe("resource:file:///b", other)
    for index in range(50):
        first.bus.publish("resource:file:///a", Notification("n", {"i": index}))
    first.bus.publish("resource:file:///b", Notification("n", {"i": -1}))
    await wait_until(lambda: len(one.heard) == 50 and len(other.heard) == 1)
    assert [n.params for n in one.heard] == [{"i": index} for index in range(50)]
    second.bus.unsubscribe("resource:file:///a", one)
    assert second.bus.subscriber_count("resource:file:///a") == 0


def test_bus_message_format_takes_any_topic() -> None:
    notification = Notification("notifications/resources/updated", {"uri": "a\nb"})
    assert decode(encode("resource:a\nb", notification)) == ("resource:a\nb", notification)
    for junk in (
        b"",
        b"x",
        b"3\nab",
        b"2\nab{",
        b"2\nab[1]",
        b'0\n{"jsonrpc":"2.0","id":1,"result":{}}',
    ):
        assert decode(junk) is None


def test_malformed_url_and_prefix_are_refused() -> None:
    with pytest.raises(ValueError, match="redis://"):
        check_url("http://localhost:6379")
    for bad in ("", "a b", "x" * 65, "é"):
        with pytest.raises(ValueError, match="prefix"):
            check_prefix(bad)
    assert check_prefix("team-a:mcp") == "team-a:mcp"


@pytest.fixture
async def connection(redis: RedisServer, prefix: str) -> AsyncIterator[RedisConnection]:
    connection = RedisConnection(redis.url, prefix)
    try:
        yield connection
    finally:
        await connection.aclose()


async def test_log_ids_work_from_another_process_and_replay_one_stream(
    connection: RedisConnection,
) -> None:
    writer = RedisEventLog(connection, "session-1", ttl_seconds=60)
    reader = RedisEventLog(connection, "session-1", ttl_seconds=60)
    first = await writer.append(0, b"")
    await writer.append(1, b"other stream")
    second = await writer.append(0, b"one")
    third = await writer.append(0, b"two")
    position = await reader.position_of(first.event_id)
    assert position == Position(0, first.sequence)
    events = await reader.read_after(position)
    assert events == [second, third]
    assert await reader.read_after(Position(0, third.sequence)) == []


async def test_log_refuses_ids_of_another_session_forged_or_malformed(
    connection: RedisConnection,
) -> None:
    log = RedisEventLog(connection, "session-1", ttl_seconds=60)
    other = RedisEventLog(connection, "session-2", ttl_seconds=60)
    event = await log.append(3, b"x")
    assert await other.position_of(event.event_id) is None
    forged = f"{log.tag}-4-{event.sequence}"
    for bad in (
        forged,
        "",
        "a-b-c",
        f"{log.tag}-3",
        f"{log.tag}-3-99",
        f"{log.tag}-3-0",
        f"{log.tag}-²-1",
        f"{log.tag}-3-" + "9" * 60,
    ):
        assert await log.position_of(bad) is None, bad


@pytest.mark.parametrize(("max_events", "max_bytes"), [(3, 10_000), (100, 10)])
async def test_log_evicts_like_the_memory_log_and_reports_the_gap(
    connection: RedisConnection, max_events: int, max_bytes: int
) -> None:
    shared = RedisEventLog(
        connection, "s", max_events=max_events, max_bytes=max_bytes, ttl_seconds=60
    )
    memory = MemoryEventLog(max_events, max_bytes, tag=shared.tag)
    for index in range(8):
        data = f"ev{index}".encode()
        stream_id = index % 2
        assert (await shared.append(stream_id, data)).event_id == (
            await memory.append(stream_id, data)
        ).event_id
    for sequence in range(9):
        for stream_id in (0, 1):
            position = Position(stream_id, sequence)
            assert await shared.read_after(position) == await memory.read_after(position)
            event_id = f"{shared.tag}-{stream_id}-{sequence}"
            assert await shared.position_of(event_id) == await memory.position_of(event_id)
    assert await shared.read_after(Position(0, 0)) is None  # the gap rule


async def test_log_keys_expire(connection: RedisConnection, prefix: str) -> None:
    log = RedisEventLog(connection, "s", ttl_seconds=30)
    await log.append(0, b"x")
    client = connection.client
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    assert len(keys) == 2
    for key in keys:
        assert 0 < await client.ttl(key) <= 30
