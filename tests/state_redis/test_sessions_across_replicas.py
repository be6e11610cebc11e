"""2025 Streamable HTTP sessions on every replica: three apps on one Redis, each request of a
session sent to another replica than the one before (as a round-robin balancer does)."""

from __future__ import annotations

import asyncio
from typing import Any

from live_server import wait_until
from redis_server import RedisServer
from replicas import HEADERS, EventReader, replicas


async def test_a_session_opened_on_one_replica_is_served_by_every_other(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(3, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        for index, replica in enumerate((1, 2, 0, 1)):
            response = await cluster.call(
                replica, session_id, index + 1, "echo", text=f"r{replica}"
            )
            assert response.status_code == 200, response.text
            assert response.json()["result"]["content"][0]["text"] == f"r{replica}"


async def test_delete_on_any_replica_ends_the_session_on_all(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(3, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        assert (await cluster.call(1, session_id, 1, "echo", text="x")).status_code == 200
        deleted = await cluster.delete(2, session_id)
        assert deleted.status_code == 204
        for replica in (0, 1, 2):
            response = await cluster.call(replica, session_id, 2, "echo", text="x")
            assert response.status_code == 404, response.text
        assert (await cluster.delete(0, session_id)).status_code == 404


async def test_unknown_session_is_404_on_every_replica(redis: RedisServer, prefix: str) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        for replica in (0, 1):
            response = await cluster.call(replica, "no-such-session", 1, "echo", text="x")
            assert response.status_code == 404
            assert response.json()["error"]["code"] == -32600


async def test_a_session_stays_bound_to_its_principal_on_other_replicas(
    redis: RedisServer, prefix: str
) -> None:
    alice, mallory = "a" * 32, "m" * 32
    async with replicas(2, redis.url, prefix, tokens=[alice, mallory]) as cluster:
        session_id = await cluster.initialize(0, authorization=f"Bearer {alice}")
        stolen = await cluster.post(
            1,
            {"jsonrpc": "2.0", "id": 1, "method": "ping"},
            session_id,
            authorization=f"Bearer {mallory}",
        )
        assert stolen.status_code == 404
        owned = await cluster.post(
            1,
            {"jsonrpc": "2.0", "id": 2, "method": "ping"},
            session_id,
            authorization=f"Bearer {alice}",
        )
        assert owned.status_code == 200, owned.text
        stolen_again = await cluster.delete(1, session_id, authorization=f"Bearer {mallory}")
        assert stolen_again.status_code == 404


async def test_log_level_set_on_one_replica_holds_on_another(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        # Replica 0 serves the session now (a copy, following its channel) ...
        pinged = await cluster.post(0, {"jsonrpc": "2.0", "id": 9, "method": "ping"}, session_id)
        assert pinged.status_code == 200
        # ... and hears of the level another replica set, with no request of its own.
        response = await cluster.post(
            1,
            {"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": {"level": "error"}},
            session_id,
        )
        assert response.status_code == 200
        transport = cluster.app(0).transport
        await wait_until(
            lambda: transport._sessions[session_id].connection.session.log_level == "error"
        )


async def test_a_change_reaches_the_get_stream_held_by_another_replica_once(
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
                "params": {"uri": "file:///watched.txt"},
            },
            session_id,
        )
        assert subscribed.status_code == 200, subscribed.text
        async with cluster.client.stream(
            "GET",
            cluster.url(1),
            headers={"accept": "text/event-stream", "mcp-session-id": session_id},
        ) as stream:
            assert stream.status_code == 200
            reader = EventReader(stream)
            priming = await reader.next(1)
            # The holder learns of the subscription (made on replica 2) from the record.
            holder = cluster.app(1).transport._sessions[session_id]
            await wait_until(
                lambda: "file:///watched.txt" in holder.connection.session.subscriptions
            )
            touched = await cluster.call(0, session_id, 2, "touch", uri="file:///watched.txt")
            assert touched.status_code == 200
            events = await reader.next(1)
            assert events[0][1]["method"] == "notifications/resources/updated"
            assert events[0][1]["params"] == {"uri": "file:///watched.txt"}
            # Once: a second change is the next event, not a copy of the first.
            await cluster.call(2, session_id, 3, "touch", uri="file:///watched.txt")
            again = await reader.next(1)
            assert again[0][0] != events[0][0]
            assert priming[0][1] is None


async def test_a_sampling_answer_posted_to_another_replica_reaches_the_waiting_tool(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(3, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0, capabilities={"sampling": {}})
        body = {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {"name": "ask", "arguments": {}},
        }
        async with cluster.client.stream(
            "POST", cluster.url(0), json=body, headers={**HEADERS, "mcp-session-id": session_id}
        ) as call:
            assert call.headers["content-type"].startswith("text/event-stream")
            reader = EventReader(call)
            events = await reader.next(2)
            request = events[1][1]
            assert request["method"] == "sampling/createMessage"
            answer: dict[str, Any] = {
                "jsonrpc": "2.0",
                "id": request["id"],
                "result": {
                    "role": "assistant",
                    "content": {"type": "text", "text": "hello"},
                    "model": "m",
                },
            }
            posted = await cluster.post(2, answer, session_id)
            assert posted.status_code == 202
            result = await reader.next(1)
            assert result[0][1]["id"] == 7
            assert result[0][1]["result"]["content"][0]["text"] == "model said hello"


async def test_last_event_id_resumes_on_another_replica(redis: RedisServer, prefix: str) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        await cluster.post(
            1,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "resources/subscribe",
                "params": {"uri": "file:///watched.txt"},
            },
            session_id,
        )
        get_headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with cluster.client.stream("GET", cluster.url(0), headers=get_headers) as stream:
            reader = EventReader(stream)
            (priming,) = await reader.next(1)
            holder = cluster.app(0).transport._sessions[session_id]
            await wait_until(lambda: bool(holder.connection.session.subscriptions))
            await cluster.call(1, session_id, 2, "touch", uri="file:///watched.txt")
            (first,) = await reader.next(1)
        # The stream is gone; what is sent now is logged for a resuming reader only if a
        # replica holds it, so resume first, then expect the next change.
        resume_headers = {**get_headers, "last-event-id": priming[0]}
        async with cluster.client.stream("GET", cluster.url(1), headers=resume_headers) as resumed:
            assert resumed.status_code == 200
            (replayed,) = await EventReader(resumed).next(1)
            assert replayed == first
        bad = await cluster.client.get(
            cluster.url(1), headers={**get_headers, "last-event-id": "nope-0-1"}
        )
        assert bad.status_code == 400
        await asyncio.sleep(0)
