"""One GET stream per session across replicas, as within one process: a plain second GET on
another replica gets 409, one with ``Last-Event-ID`` takes the stream over, a stream that
ended lets another open, and a holder that died without ending its stream lets go when its
lease lapses (the lease is renewed while the stream lives)."""

from __future__ import annotations

import asyncio

import redis.asyncio as redis_client
from live_server import wait_until
from redis_server import RedisServer
from replicas import EventReader, Replicas, replicas


def get_headers(session_id: str, **extra: str) -> dict[str, str]:
    return {"accept": "text/event-stream", "mcp-session-id": session_id, **extra}


async def lease_of(url: str, prefix: str, session_id: str) -> bytes | None:
    client = redis_client.Redis.from_url(url)
    try:
        holder: bytes | None = await client.get(f"{prefix}:holder:{session_id}")
        return holder
    finally:
        await client.aclose()


async def lease_released(url: str, prefix: str, session_id: str) -> bool:
    return await lease_of(url, prefix, session_id) is None


def set_lease_seconds(cluster: Replicas, seconds: int) -> None:
    for index in range(len(cluster.lives)):
        cluster.app(index).transport._shared.stream_lease_seconds = seconds


async def test_a_plain_second_get_on_another_replica_is_409_as_in_one_process(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        async with cluster.client.stream(
            "GET", cluster.url(0), headers=get_headers(session_id)
        ) as held:
            assert held.status_code == 200
            held_reader = EventReader(held)
            await held_reader.next(1)
            for index in (1, 0):
                headers = get_headers(session_id)
                second = await cluster.client.get(cluster.url(index), headers=headers)
                assert second.status_code == 409, second.text
                assert second.json()["error"]["message"].startswith("Conflict")
            # A refused GET leaves the holder's lease alone.
            assert await lease_of(redis.url, prefix, session_id) is not None


async def test_a_get_with_last_event_id_takes_the_stream_over_from_another_replica(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        async with cluster.client.stream(
            "GET", cluster.url(0), headers=get_headers(session_id)
        ) as held:
            first = EventReader(held)
            ((priming_id, _),) = await first.next(1)
            async with cluster.client.stream(
                "GET",
                cluster.url(1),
                headers=get_headers(session_id, **{"last-event-id": priming_id}),
            ) as taken:
                assert taken.status_code == 200
                # The old holder's stream ends; the new one is the only one.
                assert await first.until_end() == []
                plain = await cluster.client.get(cluster.url(0), headers=get_headers(session_id))
                assert plain.status_code == 409


async def test_an_unresumable_last_event_id_takes_nothing_over(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        async with cluster.client.stream(
            "GET", cluster.url(0), headers=get_headers(session_id)
        ) as held:
            held_reader = EventReader(held)
            await held_reader.next(1)
            holder = await lease_of(redis.url, prefix, session_id)
            bad = await cluster.client.get(
                cluster.url(1), headers=get_headers(session_id, **{"last-event-id": "nope-0-1"})
            )
            assert bad.status_code == 400
            assert await lease_of(redis.url, prefix, session_id) == holder
            plain = await cluster.client.get(cluster.url(1), headers=get_headers(session_id))
            assert plain.status_code == 409


async def test_a_stream_that_ended_lets_a_plain_get_open_on_another_replica(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        async with cluster.client.stream(
            "GET", cluster.url(0), headers=get_headers(session_id)
        ) as held:
            held_reader = EventReader(held)
            await held_reader.next(1)
        # The client left: replica 0 sees it and lets the stream go.
        await wait_until(
            lambda: lease_released(redis.url, prefix, session_id),
            message="the lease of a stream that ended was not released",
        )
        async with cluster.client.stream(
            "GET", cluster.url(1), headers=get_headers(session_id)
        ) as reopened:
            assert reopened.status_code == 200


async def test_the_lease_is_renewed_while_the_stream_lives(redis: RedisServer, prefix: str) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        set_lease_seconds(cluster, 1)
        session_id = await cluster.initialize(0)
        async with cluster.client.stream(
            "GET", cluster.url(0), headers=get_headers(session_id)
        ) as held:
            held_reader = EventReader(held)
            await held_reader.next(1)
            # Three lease lifetimes later, the holder still holds it.
            await asyncio.sleep(3)
            plain = await cluster.client.get(cluster.url(1), headers=get_headers(session_id))
            assert plain.status_code == 409


async def test_a_dead_holders_lease_lapses(redis: RedisServer, prefix: str) -> None:
    """A replica killed with the stream open never releases its lease: a plain GET is
    refused until it lapses (a GET with Last-Event-ID is not: the test above)."""
    async with replicas(1, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        client = redis_client.Redis.from_url(redis.url)
        try:
            await client.set(f"{prefix}:holder:{session_id}", b"a-dead-replica", ex=1)
        finally:
            await client.aclose()
        refused = await cluster.client.get(cluster.url(0), headers=get_headers(session_id))
        assert refused.status_code == 409
        await wait_until(lambda: lease_released(redis.url, prefix, session_id))
        async with cluster.client.stream(
            "GET", cluster.url(0), headers=get_headers(session_id)
        ) as opened:
            assert opened.status_code == 200


async def test_a_get_the_transport_refuses_claims_nothing(redis: RedisServer, prefix: str) -> None:
    async with replicas(1, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        wrong_accept = await cluster.client.get(
            cluster.url(0), headers={"accept": "application/json", "mcp-session-id": session_id}
        )
        assert wrong_accept.status_code == 406
        assert await lease_of(redis.url, prefix, session_id) is None
        unknown = await cluster.client.get(cluster.url(0), headers=get_headers("no-such-session"))
        assert unknown.status_code == 404
