"""A bus notification for a session that no live replica serves (every one that did is gone)
is not lost: the bus keeps its recent messages in Redis, and the replica that makes a copy of
the session again (here: a GET resuming its stream) first logs what the session missed, each
once and through the session's own filter, in bus order, before anything live. What came
before the session was served, or before it subscribed, is not the session's, as in one
process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as redis_client
from live_server import wait_until
from redis_server import RedisServer
from replicas import EventReader, Replicas, replicas

WATCHED = "file:///watched.txt"
UPDATED = "notifications/resources/updated"


def get_headers(session_id: str, **extra: str) -> dict[str, str]:
    return {"accept": "text/event-stream", "mcp-session-id": session_id, **extra}


async def subscribe(cluster: Replicas, index: int, session_id: str) -> None:
    subscribed = await cluster.post(
        index,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "resources/subscribe",
            "params": {"uri": WATCHED},
        },
        session_id,
    )
    assert subscribed.status_code == 200, subscribed.text


async def touch(cluster: Replicas, index: int, session_id: str, request_id: int) -> None:
    touched = await cluster.call(index, session_id, request_id, "touch", uri=WATCHED)
    assert touched.status_code == 200, touched.text


async def opened_and_left(cluster: Replicas, index: int, session_id: str) -> str:
    """Open the session's GET stream on replica ``index`` and leave it: its priming id."""
    async with cluster.client.stream(
        "GET", cluster.url(index), headers=get_headers(session_id)
    ) as stream:
        ((priming_id, _),) = await EventReader(stream).next(1)
    return str(priming_id)


async def bus_log_length(url: str, prefix: str) -> int:
    client = redis_client.Redis.from_url(url)
    try:
        return int(await client.xlen(f"{prefix}:buslog"))
    finally:
        await client.aclose()


async def logged_updates(url: str, prefix: str, session_id: str) -> int:
    client = redis_client.Redis.from_url(url)
    try:
        entries = await client.xrange(f"{prefix}:log:{session_id}")
    finally:
        await client.aclose()
    return sum(
        1
        for _, fields in entries
        if fields[b"d"] and json.loads(fields[b"d"]).get("method") == UPDATED
    )


def forget_everywhere(cluster: Replicas, session_id: str) -> None:
    """Every replica serving the session stops, as far as the session is concerned (as if
    its replicas died): the copies go, the record and log stay."""
    for index in range(len(cluster.lives)):
        replicas_of: Any = cluster.app(index).transport._replicas
        copy = cluster.app(index).transport._sessions.get(session_id)
        if copy is not None:
            replicas_of.drop_copy(copy)


async def flushed(cluster: Replicas) -> None:
    for index in range(len(cluster.lives)):
        await cluster.app(index).transport._shared.flush()
        await cluster.app(index).state.bus.flush()


async def test_what_a_session_missed_while_no_replica_served_it_is_replayed_once_in_order(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        # Served by replica 0 only (replica 1 made only the record).
        session_id = await cluster.initialize(1)
        await subscribe(cluster, 0, session_id)
        priming_id = await opened_and_left(cluster, 0, session_id)
        other = await cluster.initialize(1)
        # One change while it is served: logged as usual.
        await touch(cluster, 1, other, 10)

        async def logged_once() -> bool:
            return await logged_updates(redis.url, prefix, session_id) == 1

        await wait_until(logged_once, message="the change was not logged")
        forget_everywhere(cluster, session_id)
        # Two changes that no replica serving the session hears.
        before = await bus_log_length(redis.url, prefix)
        await touch(cluster, 1, other, 11)
        await touch(cluster, 1, other, 12)
        await flushed(cluster)
        assert await bus_log_length(redis.url, prefix) == before + 2
        assert await logged_updates(redis.url, prefix, session_id) == 1
        # The client resumes on replica 1: it makes a copy, and logs what was missed first.
        async with cluster.client.stream(
            "GET", cluster.url(1), headers=get_headers(session_id, **{"last-event-id": priming_id})
        ) as resumed:
            assert resumed.status_code == 200
            reader = EventReader(resumed)
            replayed = await reader.next(3)
            assert [message["method"] for _, message in replayed] == [UPDATED] * 3
            # Then live ones, none twice.
            await touch(cluster, 1, other, 13)
            (live,) = await reader.next(1)
            assert live[1]["method"] == UPDATED
        ids = [event_id for event_id, _ in [*replayed, live]]
        assert len(set(ids)) == 4
        assert await logged_updates(redis.url, prefix, session_id) == 4


async def test_changes_from_before_a_session_subscribed_are_not_replayed(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        # A witness served by replica 0 only: when its stream has a change, replica 0 has
        # delivered that change to every session it serves.
        witness = await cluster.initialize(1)
        await subscribe(cluster, 0, witness)
        async with cluster.client.stream(
            "GET", cluster.url(0), headers=get_headers(witness)
        ) as witnessed:
            seen = EventReader(witnessed)
            await seen.next(1)
            await touch(cluster, 0, witness, 10)  # before the session exists
            await seen.next(1)
            session_id = await cluster.initialize(1)
            priming_id = await opened_and_left(cluster, 0, session_id)
            await touch(cluster, 0, witness, 11)  # before it subscribed
            await seen.next(1)
            await subscribe(cluster, 0, session_id)
            forget_everywhere(cluster, session_id)
            async with cluster.client.stream(
                "GET",
                cluster.url(1),
                headers=get_headers(session_id, **{"last-event-id": priming_id}),
            ) as resumed:
                reader = EventReader(resumed)
                # Nothing replayed: the first event is the change made now.
                await touch(cluster, 1, witness, 12)
                ((_, first),) = await reader.next(1)
                assert first["method"] == UPDATED
        await flushed(cluster)
        assert await logged_updates(redis.url, prefix, session_id) == 1


async def test_a_session_that_never_opened_its_get_stream_holds_what_it_missed(
    redis: RedisServer, prefix: str
) -> None:
    """Before its first GET, as in one process: what it missed waits (the first few) for
    that GET, and is sent when it opens."""
    async with replicas(2, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(1)
        await subscribe(cluster, 0, session_id)
        other = await cluster.initialize(1)
        forget_everywhere(cluster, session_id)
        await touch(cluster, 1, other, 10)
        await flushed(cluster)
        async with cluster.client.stream(
            "GET", cluster.url(1), headers=get_headers(session_id)
        ) as opened:
            reader = EventReader(opened)
            (_, (_, held)) = await reader.next(2)
            assert held["method"] == UPDATED


async def test_what_a_replica_missed_while_its_pub_sub_connection_was_down_is_replayed(
    redis: RedisServer, prefix: str
) -> None:
    """Redis stays up, but a replica's pub/sub connection drops: the bus messages published
    before it is back reach none of its sessions live, so once it has subscribed again it
    replays them for each, once and in order, before what comes live."""
    async with replicas(2, redis.url, prefix) as cluster:
        # Served by replica 0 only (replica 1 made only the record, and publishes).
        session_id = await cluster.initialize(1)
        await subscribe(cluster, 0, session_id)
        priming_id = await opened_and_left(cluster, 0, session_id)
        other = await cluster.initialize(1)
        await touch(cluster, 1, other, 10)

        def logged(count: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                return await logged_updates(redis.url, prefix, session_id) == count

            return check

        await wait_until(logged(1), message="the change was not logged")
        # Replica 0's pub/sub connection drops, and stays down until the test lets it back
        # (the client's own retry, or the reader, reconnects it: both wait).
        connection: Any = cluster.app(0).state.subscriptions._pubsub.connection
        back = asyncio.Event()
        connect = connection.connect

        async def connect_once_back() -> None:
            await back.wait()
            await connect()

        connection.connect = connect_once_back
        killer = redis_client.Redis.from_url(redis.url)
        try:
            assert await killer.client_kill_filter(_type="pubsub") >= 1
        finally:
            await killer.aclose()

        async def dropped() -> bool:
            return not connection.is_connected

        await wait_until(dropped, message="replica 0 did not see its connection drop")
        await touch(cluster, 1, other, 11)
        await touch(cluster, 1, other, 12)
        await flushed(cluster)
        assert await logged_updates(redis.url, prefix, session_id) == 1  # heard by no one
        back.set()
        await wait_until(logged(3), message="what was missed was not replayed")
        await touch(cluster, 1, other, 13)
        await wait_until(logged(4), message="the live change after it was not logged")
        await flushed(cluster)
        assert await logged_updates(redis.url, prefix, session_id) == 4
        # The client resuming gets all four changes, in order, none twice.
        async with cluster.client.stream(
            "GET", cluster.url(0), headers=get_headers(session_id, **{"last-event-id": priming_id})
        ) as resumed:
            assert resumed.status_code == 200
            events = await EventReader(resumed).next(4)
        assert [message["method"] for _, message in events] == [UPDATED] * 4
        assert len({event_id for event_id, _ in events}) == 4
