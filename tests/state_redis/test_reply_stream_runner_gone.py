"""A POST's SSE reply resumed on another replica while the replica running its request has
died: the follower sees that replica's liveness lapse, an error response stands in for each
answer it never gave (logged once, whichever follower sees it first), and the stream ends,
rather than keepalives forever. A replica that is slow but alive, or draining, is followed
to its real answer. (A replica killed with SIGKILL behind nginx:
tests/scaleout/test_scaleout_runner_gone.py.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Final

import redis.asyncio as redis_client
from live_server import wait_until
from redis_server import RedisServer
from replicas import HEADERS, EventReader, Replicas, replicas

from ssemcp.jsonrpc import Response, serialize
from ssemcp.state.redis.liveness import RUNNER_GONE
from ssemcp.state.redis.state import RedisState

# A replica's liveness lapses this long after its last renewal (renewed every third of it):
# short, so that a death is seen within the tests' step deadline.
LEASE_SECONDS: Final = 1


def set_lease_seconds(cluster: Replicas) -> None:
    """Before any request: the renewer takes its interval when the first one starts it."""
    for index in range(len(cluster.lives)):
        cluster.app(index).transport._shared.stream_lease_seconds = LEASE_SECONDS


def stop_renewing(cluster: Replicas, index: int) -> None:
    """Replica ``index`` dies as far as the others can tell: its liveness is not renewed
    (its handler, in this process, runs on and never answers)."""
    renewer = cluster.app(index).transport._replicas._renewer
    assert renewer is not None
    renewer.cancel()


def call_body(request_id: int, name: str) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": {}, "_meta": {"progressToken": request_id}},
    }


def sampling_answer(request_id: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "result": {"role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m"},
    }


async def started_stream(cluster: Replicas, index: int, session_id: str, body: Any) -> list[Any]:
    """POST ``body`` to replica ``index``; its first two events (priming, then the handler's
    first message); the client then leaves the stream."""
    async with cluster.client.stream(
        "POST",
        cluster.url(index),
        content=json.dumps(body).encode(),
        headers={**HEADERS, "mcp-session-id": session_id},
    ) as call:
        assert call.headers["content-type"].startswith("text/event-stream")
        return await EventReader(call).next(2)


def resume_headers(session_id: str, last_event_id: str) -> dict[str, str]:
    return {
        "accept": "text/event-stream",
        "mcp-session-id": session_id,
        "last-event-id": last_event_id,
    }


async def logged_responses(url: str, prefix: str, session_id: str) -> list[dict[str, Any]]:
    """The JSON-RPC responses in the session's log, in order."""
    client = redis_client.Redis.from_url(url)
    try:
        entries = await client.xrange(f"{prefix}:log:{session_id}")
    finally:
        await client.aclose()
    messages = [json.loads(fields[b"d"]) for _, fields in entries if fields[b"d"]]
    return [message for message in messages if "id" in message and "method" not in message]


def assert_runner_gone(message: dict[str, Any], request_id: int) -> None:
    assert message["id"] == request_id
    assert message["error"]["code"] == -32603
    assert message["error"]["message"] == str(RUNNER_GONE)


async def test_a_reply_stream_whose_replica_died_ends_with_an_error_for_its_request(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        set_lease_seconds(cluster)
        session_id = await cluster.initialize(0)
        priming, progress = await started_stream(
            cluster, 0, session_id, call_body(7, "progress_then_wait")
        )
        assert progress[1]["method"] == "notifications/progress"
        stop_renewing(cluster, 0)
        async with cluster.client.stream(
            "GET", cluster.url(1), headers=resume_headers(session_id, priming[0])
        ) as resumed:
            assert resumed.status_code == 200
            reader = EventReader(resumed)
            (replayed,) = await reader.next(1)
            assert replayed == progress
            # Within the liveness bound (and the step deadline): the error, then the end.
            (answer,) = await reader.next(1)
            assert_runner_gone(answer[1], 7)
            assert await reader.until_end() == []
        # Logged like any event: resumed again, the same answer is replayed. (Not on replica
        # 0, whose handler runs on in this process, where nothing else stops it.)
        async with cluster.client.stream(
            "GET", cluster.url(1), headers=resume_headers(session_id, progress[0])
        ) as again:
            rest = EventReader(again)
            assert await rest.next(1) == [answer]
            assert await rest.until_end() == []
        assert await logged_responses(redis.url, prefix, session_id) == [answer[1]]


async def test_two_followers_of_a_dead_replicas_stream_log_one_error(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(3, redis.url, prefix) as cluster:
        set_lease_seconds(cluster)
        session_id = await cluster.initialize(0)
        priming, progress = await started_stream(
            cluster, 0, session_id, call_body(8, "progress_then_wait")
        )
        stop_renewing(cluster, 0)
        headers = resume_headers(session_id, priming[0])
        async with (
            cluster.client.stream("GET", cluster.url(1), headers=headers) as first,
            cluster.client.stream("GET", cluster.url(2), headers=headers) as second,
        ):
            readers = [EventReader(first), EventReader(second)]
            for reader in readers:
                assert await reader.next(1) == [progress]
            answers = await asyncio.gather(*(reader.next(1) for reader in readers))
            for (answer,) in answers:
                assert_runner_gone(answer[1], 8)
            # The same event, logged once: both followers read it from the log.
            assert answers[0] == answers[1]
            for reader in readers:
                assert await reader.until_end() == []
        assert len(await logged_responses(redis.url, prefix, session_id)) == 1


async def test_a_slow_replica_that_is_alive_is_followed_to_its_real_answer(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(3, redis.url, prefix) as cluster:
        set_lease_seconds(cluster)
        session_id = await cluster.initialize(0, capabilities={"sampling": {}})
        priming, sampling = await started_stream(cluster, 0, session_id, call_body(9, "ask"))
        assert sampling[1]["method"] == "sampling/createMessage"
        async with cluster.client.stream(
            "GET", cluster.url(1), headers=resume_headers(session_id, priming[0])
        ) as resumed:
            reader = EventReader(resumed)
            assert await reader.next(1) == [sampling]
            # Several liveness lapses' worth of waiting: replica 0 renews, and is not
            # declared dead.
            await asyncio.sleep(3 * LEASE_SECONDS)
            posted = await cluster.post(2, sampling_answer(sampling[1]["id"]), session_id)
            assert posted.status_code == 202
            (response,) = await reader.next(1)
            assert response[1]["id"] == 9
            assert response[1]["result"]["content"][0]["text"] == "model said hello"
            assert await reader.until_end() == []
        assert await logged_responses(redis.url, prefix, session_id) == [response[1]]


async def test_a_draining_replica_is_followed_to_its_real_answer(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        set_lease_seconds(cluster)
        session_id = await cluster.initialize(0, capabilities={"sampling": {}})
        priming, sampling = await started_stream(cluster, 0, session_id, call_body(10, "ask"))
        async with cluster.client.stream(
            "GET", cluster.url(1), headers=resume_headers(session_id, priming[0])
        ) as resumed:
            reader = EventReader(resumed)
            assert await reader.next(1) == [sampling]
            # Replica 0 drains (SIGTERM): it still renews while its call runs.
            draining = asyncio.ensure_future(cluster.app(0).drain(4.0))
            try:
                await asyncio.sleep(2 * LEASE_SECONDS)
                posted = await cluster.post(1, sampling_answer(sampling[1]["id"]), session_id)
                assert posted.status_code == 202
                (response,) = await reader.next(1)
                assert response[1]["result"]["content"][0]["text"] == "model said hello"
                assert await reader.until_end() == []
            finally:
                await draining


# --- the store's side, without a transport ---


async def test_only_the_unanswered_requests_of_a_dead_runners_stream_get_an_error(
    redis: RedisServer, prefix: str
) -> None:
    runner = RedisState(redis.url, prefix)
    follower = RedisState(redis.url, prefix)
    try:
        sessions = runner.sessions
        priming = await sessions.open_reply_stream("s1", 5, [1, "b"], primed=True)
        assert priming is not None and priming.stream_id == 5
        answered = serialize(Response(1, {}))
        await sessions.event_log("s1").append(5, answered)
        # Alive: nothing to do.
        assert not await follower.sessions.end_if_runner_gone("s1", 5)
        await sessions.retire()
        assert await follower.sessions.end_if_runner_gone("s1", 5)
        responses = await logged_responses(redis.url, prefix, "s1")
        assert responses[0] == json.loads(answered)
        assert len(responses) == 2
        assert responses[1]["id"] == "b"
        assert await follower.sessions.is_stream_finished("s1", 5)
        # Done once: again, and from any replica, nothing more.
        assert not await follower.sessions.end_if_runner_gone("s1", 5)
        assert not await sessions.end_if_runner_gone("s1", 5)
        assert len(await logged_responses(redis.url, prefix, "s1")) == 2
    finally:
        await runner.aclose()
        await follower.aclose()


async def test_racing_followers_end_a_dead_runners_stream_once(
    redis: RedisServer, prefix: str
) -> None:
    runner = RedisState(redis.url, prefix)
    followers = [RedisState(redis.url, prefix) for _ in range(4)]
    try:
        await runner.sessions.open_reply_stream("s2", 3, [42], primed=False)
        await runner.sessions.retire()
        outcomes = await asyncio.gather(
            *(follower.sessions.end_if_runner_gone("s2", 3) for follower in followers)
        )
        assert sorted(outcomes) == [False, False, False, True]
        (response,) = await logged_responses(redis.url, prefix, "s2")
        assert response["id"] == 42 and response["error"]["code"] == -32603
    finally:
        for state in (runner, *followers):
            await state.aclose()


async def test_a_finished_stream_or_one_without_a_runner_record_is_left_alone(
    redis: RedisServer, prefix: str
) -> None:
    runner = RedisState(redis.url, prefix)
    follower = RedisState(redis.url, prefix)
    try:
        await runner.sessions.open_reply_stream("s3", 4, [1], primed=True)
        runner.sessions.stream_finished("s3", 4)
        await runner.sessions.flush()
        await runner.sessions.retire()
        assert not await follower.sessions.end_if_runner_gone("s3", 4)
        # A stream no record names (started by an older replica): followed as before.
        assert not await follower.sessions.end_if_runner_gone("s3", 6)
        assert await logged_responses(redis.url, prefix, "s3") == []
    finally:
        await runner.aclose()
        await follower.aclose()


async def test_a_replica_is_alive_from_its_first_request_until_its_clean_shutdown(
    redis: RedisServer, prefix: str
) -> None:
    client = redis_client.Redis.from_url(redis.url)
    try:
        async with replicas(1, redis.url, prefix) as cluster:
            set_lease_seconds(cluster)
            await cluster.initialize(0)
            alive_key = cluster.app(0).transport._shared._liveness.key

            async def is_alive() -> bool:
                return bool(await client.exists(alive_key))

            # Renewed (every third of the lease) though it holds no stream.
            await wait_until(is_alive, message="the replica never said it was alive")
            await asyncio.sleep(2 * LEASE_SECONDS)
            assert await is_alive()
        assert not await is_alive()
    finally:
        await client.aclose()


async def test_a_replica_taken_for_dead_that_answers_after_all_adds_no_second_answer(
    redis: RedisServer, prefix: str
) -> None:
    """A replica that was only paused (its liveness lapsed, an error answer stood in for its
    answer) and then finishes its request: the stream took its last answer already."""
    async with replicas(3, redis.url, prefix) as cluster:
        set_lease_seconds(cluster)
        session_id = await cluster.initialize(0, capabilities={"sampling": {}})
        priming, sampling = await started_stream(cluster, 0, session_id, call_body(9, "ask"))
        assert sampling[1]["method"] == "sampling/createMessage"
        stop_renewing(cluster, 0)
        async with cluster.client.stream(
            "GET", cluster.url(1), headers=resume_headers(session_id, priming[0])
        ) as resumed:
            reader = EventReader(resumed)
            assert await reader.next(1) == [sampling]
            (answer,) = await reader.next(1)
            assert_runner_gone(answer[1], 9)
            assert await reader.until_end() == []
        # Replica 0 wakes: the client's answer reaches its handler, which answers.
        posted = await cluster.post(2, sampling_answer(sampling[1]["id"]), session_id)
        assert posted.status_code == 202
        connection = cluster.app(0).transport._sessions[session_id].connection

        def answered() -> bool:
            return bool(connection.running_count == 0)

        await wait_until(answered, message="replica 0's handler did not finish")
        await cluster.app(0).transport._shared.flush()
        assert await logged_responses(redis.url, prefix, session_id) == [answer[1]]
