"""The load of a session's record before each request, on a real ``redis-server``: loads asked
for in one turn of the event loop share one GETEX, a load already sent is never shared by a
later request (so a ``DELETE`` completed on another replica is always seen), a failure reaches
every waiter, and the event log's keys are renewed once per interval, live a margin longer
than the record, and expire after it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_client
from live_server import wait_until
from redis_server import RedisServer
from replicas import replicas

from ssemcp.state.redis.sessions import RedisSessions
from ssemcp.state.redis.state import RedisState
from ssemcp.state.shared import SessionRecord, StateUnavailable

RECORD = SessionRecord("2025-11-25", {}, {"name": "test", "version": "1"}, None, None, None, ())


@contextlib.asynccontextmanager
async def started(url: str, prefix: str, **options: int) -> AsyncIterator[RedisState]:
    state = RedisState(url, prefix, **options)
    await state.start()
    try:
        yield state
    finally:
        await state.aclose()


@contextlib.asynccontextmanager
async def plain_client(url: str) -> AsyncIterator[redis_client.Redis]:
    client = redis_client.Redis.from_url(url)
    try:
        yield client
    finally:
        await client.aclose()


async def calls_of(client: redis_client.Redis, command: str) -> int:
    """How often ``command`` ran since the last CONFIG RESETSTAT."""
    stats = await client.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


async def test_loads_asked_for_in_one_turn_share_one_getex_per_session(
    redis: RedisServer, prefix: str
) -> None:
    async with started(redis.url, prefix) as state, plain_client(redis.url) as client:
        sessions = state.sessions
        await sessions.create("one", RECORD)
        await sessions.create("two", RECORD)
        await client.config_resetstat()
        loads = await asyncio.gather(
            *(sessions.load(session_id) for session_id in ["one"] * 5 + ["two"] * 2 + ["none"])
        )
        assert loads == [RECORD] * 7 + [None]
        assert await calls_of(client, "getex") == 3


async def test_a_load_asked_for_after_one_was_sent_gets_its_own_and_sees_a_delete(
    redis: RedisServer, prefix: str
) -> None:
    async with (
        started(redis.url, prefix) as here,
        started(redis.url, prefix) as elsewhere,
        plain_client(redis.url) as client,
    ):
        for attempt in range(30):
            session_id = f"s{attempt}"
            await here.sessions.create(session_id, RECORD)
            await client.config_resetstat()
            first = asyncio.get_running_loop().create_task(here.sessions.load(session_id))
            await asyncio.sleep(0)  # the first asks
            assert session_id in here.sessions._loads_to_send
            for _ in range(100):  # turns, until its batch is taken and sent
                if session_id not in here.sessions._loads_to_send:
                    break
                await asyncio.sleep(0)
            assert session_id not in here.sessions._loads_to_send
            await elsewhere.sessions.delete(session_id)
            assert await here.sessions.load(session_id) is None
            assert await first in (RECORD, None)
            assert await calls_of(client, "getex") == 2


async def test_a_change_saved_on_another_replica_after_a_load_was_sent_is_seen_by_the_next(
    redis: RedisServer, prefix: str
) -> None:
    changed = SessionRecord(
        "2025-11-25", {}, {"name": "test", "version": "1"}, None, None, "debug", ("file:///a",)
    )
    async with started(redis.url, prefix) as here, started(redis.url, prefix) as elsewhere:
        for attempt in range(30):
            session_id = f"c{attempt}"
            await here.sessions.create(session_id, RECORD)
            first = asyncio.get_running_loop().create_task(here.sessions.load(session_id))
            await asyncio.sleep(0)  # the first asks; its load is sent in the next turn
            await asyncio.sleep(0)
            await elsewhere.sessions.save(session_id, changed)
            assert await here.sessions.load(session_id) == changed
            assert await first in (RECORD, changed)


async def test_a_failed_load_fails_every_request_waiting_for_it(prefix: str) -> None:
    # Nothing listens on port 1: the connection is refused.
    async with started("redis://127.0.0.1:1/0", prefix) as state:
        outcomes = await asyncio.gather(
            *(state.sessions.load(session_id) for session_id in ("a", "a", "b")),
            return_exceptions=True,
        )
        assert [type(outcome) for outcome in outcomes] == [StateUnavailable] * 3


async def test_a_cancelled_request_leaves_the_others_their_shared_load(
    redis: RedisServer, prefix: str
) -> None:
    async with started(redis.url, prefix) as state:
        await state.sessions.create("s", RECORD)
        loop = asyncio.get_running_loop()
        waiting = [loop.create_task(state.sessions.load("s")) for _ in range(3)]
        await asyncio.sleep(0)  # all three asked; the load is not sent yet
        waiting[1].cancel()
        assert await waiting[0] == RECORD and await waiting[2] == RECORD
        with pytest.raises(asyncio.CancelledError):
            await waiting[1]


async def test_the_log_keys_are_renewed_once_an_interval_not_on_every_load(
    redis: RedisServer, prefix: str
) -> None:
    async with started(redis.url, prefix) as state, plain_client(redis.url) as client:
        sessions = state.sessions
        await sessions.create("s", RECORD)
        await sessions.event_log("s").append(0, b"x")
        await client.config_resetstat()
        for _ in range(5):
            assert await sessions.load("s") == RECORD
        assert await calls_of(client, "expire") == 2  # the stream and its hash, once
        sessions.log_renewal_seconds = 0.0  # every renewal is now due again
        assert await sessions.load("s") == RECORD
        assert await calls_of(client, "expire") == 4
        assert await calls_of(client, "getex") == 6


@pytest.mark.parametrize("ttl_seconds", [1, 2, 90, 3600, 24 * 60 * 60])
def test_the_log_outlives_the_record_by_more_than_the_renewal_interval(ttl_seconds: int) -> None:
    sessions = RedisState("redis://127.0.0.1:1/0", session_ttl_seconds=ttl_seconds).sessions
    assert isinstance(sessions, RedisSessions)
    assert 0 < sessions.log_renewal_seconds <= 60
    assert sessions.log_ttl_seconds > ttl_seconds + sessions.log_renewal_seconds
    assert sessions.log_ttl_seconds <= ttl_seconds + 60 + 5


async def test_the_log_keys_never_expire_before_the_record_and_do_after_it(
    redis: RedisServer, prefix: str
) -> None:
    async with started(redis.url, prefix, session_ttl_seconds=1) as state:
        sessions = state.sessions
        # Shorter than their defaults (1 + 1 + 5 s), so the test ends soon; same relation.
        sessions.log_renewal_seconds = 0.5
        sessions.log_ttl_seconds = 2
        record_key = f"{prefix}:session:s"
        log_keys = [f"{prefix}:log:s", f"{prefix}:logmeta:s"]
        async with plain_client(redis.url) as client:
            await sessions.create("s", RECORD)
            await sessions.event_log("s").append(0, b"x")
            loop = asyncio.get_running_loop()
            until = loop.time() + 2.5
            while loop.time() < until:  # in use: a load every 0.1 s, no appends
                assert await sessions.load("s") == RECORD
                # Absolute expiry times (ms), so the check does not depend on when it runs.
                record_at = await client.pexpiretime(record_key)
                for key in log_keys:
                    assert await client.pexpiretime(key) > record_at
                await asyncio.sleep(0.1)
            await wait_until(
                lambda: _gone(client, record_key), timeout_seconds=3, message="record kept"
            )
            await wait_until(
                lambda: _gone(client, *log_keys), timeout_seconds=4, message="log kept"
            )  # its record gone, the log goes too


async def _gone(client: redis_client.Redis, *keys: str) -> bool:
    return await client.exists(*keys) == 0


async def test_touch_renews_the_record_and_the_log_with_its_longer_life(
    redis: RedisServer, prefix: str
) -> None:
    async with started(redis.url, prefix, session_ttl_seconds=90) as state:
        sessions = state.sessions
        await sessions.create("s", RECORD)
        await sessions.event_log("s").append(0, b"x")
        async with plain_client(redis.url) as client:
            for key in (f"{prefix}:session:s", f"{prefix}:log:s", f"{prefix}:logmeta:s"):
                await client.expire(key, 5)
            await sessions.touch(["s"])
            assert 85 < await client.ttl(f"{prefix}:session:s") <= 90
            for key in (f"{prefix}:log:s", f"{prefix}:logmeta:s"):
                assert await client.ttl(key) == pytest.approx(sessions.log_ttl_seconds, abs=2)


async def test_a_delete_on_one_replica_is_seen_by_the_next_request_on_another_under_load(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        for attempt in range(30):
            session_id = await cluster.initialize(0)
            # Requests in flight on replica 0, so that its loads are shared by several.
            busy = [
                asyncio.ensure_future(cluster.call(0, session_id, index, "echo", text="x"))
                for index in range(8)
            ]
            await asyncio.sleep(0.001 * (attempt % 5))
            assert (await cluster.delete(1, session_id)).status_code == 204
            after = await cluster.call(0, session_id, 100, "echo", text="x")
            assert after.status_code == 404, (attempt, after.text)
            for response in await asyncio.gather(*busy):
                assert response.status_code in (200, 404)


async def test_every_writer_of_the_log_gives_it_the_log_s_longer_life(
    redis: RedisServer, prefix: str
) -> None:
    """Whatever writes the log's keys (an append, a record saved, a reply stream opened or
    finished, a notification posted) sets their expiry to ``log_ttl_seconds``: one that set
    the record's would let the log go before the record."""
    async with started(redis.url, prefix, session_ttl_seconds=90) as state:
        sessions = state.sessions
        assert sessions.log_ttl_seconds > 90
        await sessions.create("s", RECORD)
        await sessions.event_log("s").append(0, b"opened")  # the GET stream opened
        writers = {
            "append": lambda: sessions.event_log("s").append(1, b"x"),
            "save": lambda: sessions.save("s", RECORD),
            "open reply stream": lambda: sessions.open_reply_stream("s", 2, [7], primed=True),
            "finish reply stream": lambda: _finished(sessions, "s", 2),
            "post to stream": lambda: _posted(sessions, "s", b"n"),
        }
        async with plain_client(redis.url) as client:
            for writer, write in writers.items():
                for key in (f"{prefix}:log:s", f"{prefix}:logmeta:s"):
                    await client.expire(key, 5)
                await write()
                ttl = await client.ttl(f"{prefix}:logmeta:s")
                assert ttl > 90, (writer, ttl)


async def _finished(sessions: RedisSessions, session_id: str, stream_id: int) -> None:
    sessions.stream_finished(session_id, stream_id)
    await sessions.flush()


async def _posted(sessions: RedisSessions, session_id: str, data: bytes) -> None:
    sessions.post_to_stream(session_id, data)
    await sessions.flush()
