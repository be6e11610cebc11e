"""A POST's SSE reply resumed with ``Last-Event-ID`` on another replica while its request
still runs: as in one process, the GET replays what was logged, then follows the stream
(what the replica running the handler logs) until the response, and ends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from live_server import wait_until
from redis_server import RedisServer
from replicas import HEADERS, EventReader, replicas


def ask_body(request_id: int) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "ask", "arguments": {}},
    }


def sampling_answer(request_id: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "result": {"role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m"},
    }


async def test_a_reply_stream_resumed_on_another_replica_follows_it_to_the_response(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(3, redis.url, prefix, keepalive_seconds=0.2) as cluster:
        session_id = await cluster.initialize(0, capabilities={"sampling": {}})
        async with cluster.client.stream(
            "POST",
            cluster.url(0),
            content=json.dumps(ask_body(7)).encode(),
            headers={**HEADERS, "mcp-session-id": session_id},
        ) as call:
            assert call.headers["content-type"].startswith("text/event-stream")
            (priming, sampling) = await EventReader(call).next(2)
        # The client left the POST's stream; the tool still waits for the model's answer.
        assert sampling[1]["method"] == "sampling/createMessage"
        resume = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with cluster.client.stream(
            "GET", cluster.url(1), headers={**resume, "last-event-id": priming[0]}
        ) as resumed:
            assert resumed.status_code == 200
            reader = EventReader(resumed)
            (replayed,) = await reader.next(1)
            assert replayed == sampling
            # Keepalives while the tool waits; then the answer (on a third replica) ...
            posted = await cluster.post(2, sampling_answer(sampling[1]["id"]), session_id)
            assert posted.status_code == 202
            (response,) = await reader.next(1)
            assert response[1]["id"] == 7
            assert response[1]["result"]["content"][0]["text"] == "model said hello"
            # ... and the stream ends, as the POST's own would have.
            assert await reader.until_end() == []
        # Resumed again once finished: the rest is replayed and the stream ends at once.
        async with cluster.client.stream(
            "GET", cluster.url(2), headers={**resume, "last-event-id": sampling[0]}
        ) as again:
            rest = EventReader(again)
            (final,) = await rest.next(1)
            assert final == response
            assert await rest.until_end() == []


async def test_resuming_a_reply_stream_leaves_the_get_stream_to_its_holder(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0, capabilities={"sampling": {}})
        get = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with cluster.client.stream("GET", cluster.url(0), headers=get) as held:
            held_reader = EventReader(held)
            await held_reader.next(1)
            async with cluster.client.stream(
                "POST",
                cluster.url(0),
                content=json.dumps(ask_body(8)).encode(),
                headers={**HEADERS, "mcp-session-id": session_id},
            ) as call:
                (priming, sampling) = await EventReader(call).next(2)
            async with cluster.client.stream(
                "GET", cluster.url(1), headers={**get, "last-event-id": priming[0]}
            ) as resumed:
                reader = EventReader(resumed)
                assert (await reader.next(1))[0] == sampling
                posted = await cluster.post(1, sampling_answer(sampling[1]["id"]), session_id)
                assert posted.status_code == 202
                (response,) = await reader.next(1)
                assert response[1]["id"] == 8
            # The GET stream is still replica 0's: a plain GET elsewhere is refused.
            second = await cluster.client.get(cluster.url(1), headers=get)
            assert second.status_code == 409


@pytest.mark.parametrize("deleted_on", [0, 1])
async def test_a_client_leaving_a_followed_reply_stream_frees_the_replica(
    redis: RedisServer, prefix: str, deleted_on: int
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0, capabilities={"sampling": {}})
        async with cluster.client.stream(
            "POST",
            cluster.url(0),
            content=json.dumps(ask_body(9)).encode(),
            headers={**HEADERS, "mcp-session-id": session_id},
        ) as call:
            (priming, _) = await EventReader(call).next(2)
        resume = {
            "accept": "text/event-stream",
            "mcp-session-id": session_id,
            "last-event-id": priming[0],
        }
        async with cluster.client.stream("GET", cluster.url(1), headers=resume) as resumed:
            reader = EventReader(resumed)
            await reader.next(1)
            copy = cluster.app(1).transport._sessions[session_id]
            assert copy.busy == 1
        await wait_until(lambda: copy.busy == 0, message="the follower did not notice")
        # The session goes on; deleted (on the follower's replica or the other), the follow
        # ends within the second it waits at most, long before a keepalive is due.
        async with cluster.client.stream("GET", cluster.url(1), headers=resume) as again:
            reader = EventReader(again)
            await reader.next(1)
            deleted = await cluster.delete(deleted_on, session_id)
            assert deleted.status_code == 204
            assert await reader.until_end() == []
