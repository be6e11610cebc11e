"""A notification for a session's GET stream is logged once on Redis, as in one process,
whichever replicas serve the session and whether or not one holds the stream: the client
that resumes with ``Last-Event-ID`` gets each once, in order. (A holder killed outright:
tests/scaleout/test_scaleout_faults.py.)"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as redis_client
from live_server import wait_until
from redis_server import RedisServer
from replicas import EventReader, Replicas, replicas

WATCHED = "file:///watched.txt"
UPDATED = "notifications/resources/updated"


async def logged_updates(url: str, prefix: str, session_id: str) -> list[int]:
    """The sequences of the resources/updated events in the session's log."""
    client = redis_client.Redis.from_url(url)
    try:
        entries = await client.xrange(f"{prefix}:log:{session_id}")
    finally:
        await client.aclose()
    return [
        int(entry_id.decode().partition("-")[0])
        for entry_id, fields in entries
        if fields[b"d"] and json.loads(fields[b"d"]).get("method") == UPDATED
    ]


async def served_everywhere(cluster: Replicas, session_id: str) -> None:
    """Every replica has a copy of the session that knows of the subscription."""
    for index in range(len(cluster.lives)):
        echoed = await cluster.call(index, session_id, 100 + index, "echo", text="hi")
        assert echoed.status_code == 200, echoed.text
    for index in range(len(cluster.lives)):
        transport: Any = cluster.app(index).transport
        await wait_until(
            lambda transport=transport: (
                WATCHED in transport._sessions[session_id].connection.session.subscriptions
            )
        )


async def flushed(cluster: Replicas) -> None:
    for index in range(len(cluster.lives)):
        await cluster.app(index).transport._shared.flush()


async def test_changes_while_no_replica_holds_the_stream_are_logged_once_and_replayed(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(3, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        subscribed = await cluster.post(
            1,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "resources/subscribe",
                "params": {"uri": WATCHED},
            },
            session_id,
        )
        assert subscribed.status_code == 200, subscribed.text
        await served_everywhere(cluster, session_id)
        headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with cluster.client.stream("GET", cluster.url(0), headers=headers) as stream:
            ((priming_id, _),) = await EventReader(stream).next(1)
        # The client left; no replica holds the stream. Three replicas hear each change.
        transport: Any = cluster.app(0).transport
        await wait_until(lambda: not transport._sessions[session_id].holds_standalone)
        for request_id, index in enumerate((1, 2, 0), start=10):
            touched = await cluster.call(index, session_id, request_id, "touch", uri=WATCHED)
            assert touched.status_code == 200, touched.text
        await wait_until(lambda: _count_is(redis.url, prefix, session_id, 3))
        await flushed(cluster)
        logged = await logged_updates(redis.url, prefix, session_id)
        assert len(logged) == 3, logged
        resume = {**headers, "last-event-id": priming_id}
        async with cluster.client.stream("GET", cluster.url(2), headers=resume) as resumed:
            assert resumed.status_code == 200
            replayed = await EventReader(resumed).next(3)
        assert [message["method"] for _, message in replayed] == [UPDATED] * 3
        assert [int(event_id.rsplit("-", 1)[1]) for event_id, _ in replayed] == logged


async def test_changes_reach_the_holder_once_and_are_logged_once(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(3, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        subscribed = await cluster.post(
            2,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "resources/subscribe",
                "params": {"uri": WATCHED},
            },
            session_id,
        )
        assert subscribed.status_code == 200, subscribed.text
        await served_everywhere(cluster, session_id)
        headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with cluster.client.stream("GET", cluster.url(1), headers=headers) as stream:
            reader = EventReader(stream)
            await reader.next(1)
            for request_id in range(10, 15):
                touched = await cluster.call(
                    request_id % 3, session_id, request_id, "touch", uri=WATCHED
                )
                assert touched.status_code == 200, touched.text
            events = await reader.next(5)
            assert [message["method"] for _, message in events] == [UPDATED] * 5
            await flushed(cluster)
            logged = await logged_updates(redis.url, prefix, session_id)
            assert [int(event_id.rsplit("-", 1)[1]) for event_id, _ in events] == logged


async def test_before_any_get_stream_the_first_sixteen_wait_for_it_as_in_one_process(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        subscribed = await cluster.post(
            1,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "resources/subscribe",
                "params": {"uri": WATCHED},
            },
            session_id,
        )
        assert subscribed.status_code == 200, subscribed.text
        await served_everywhere(cluster, session_id)
        for request_id in range(10, 30):
            touched = await cluster.call(
                request_id % 2, session_id, request_id, "touch", uri=WATCHED
            )
            assert touched.status_code == 200, touched.text
        await flushed(cluster)
        # Held for the stream, not logged: nobody could resume from before it opened.
        assert await logged_updates(redis.url, prefix, session_id) == []
        headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with cluster.client.stream("GET", cluster.url(1), headers=headers) as stream:
            reader = EventReader(stream)
            (priming, *held) = await reader.next(17)
            assert priming[1] is None
            assert [message["method"] for _, message in held] == [UPDATED] * 16
        assert len(await logged_updates(redis.url, prefix, session_id)) == 16
        # Only the first stream gets them: a later fresh one starts from now.
        async with cluster.client.stream("GET", cluster.url(0), headers=headers) as later:
            reader = EventReader(later)
            await reader.next(1)
            touched = await cluster.call(0, session_id, 40, "touch", uri=WATCHED)
            assert touched.status_code == 200, touched.text
            (only,) = await reader.next(1)
            assert only[1]["method"] == UPDATED
        assert len(await logged_updates(redis.url, prefix, session_id)) == 17


async def _count_is(url: str, prefix: str, session_id: str, count: int) -> bool:
    return len(await logged_updates(url, prefix, session_id)) >= count
