"""Routing between replicas: notifications to the replica holding a stream, a client's answer
or cancellation to the replica running the request, and streams that a stopping replica
ends, resumed on another."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Final

import redis.asyncio as redis_client
from live_server import wait_until
from redis_server import RedisServer
from replicas import HEADERS, EventReader, Replicas, replicas

MODERN: Final = "2026-07-28"


def copy_on(cluster: Replicas, replica: int, session_id: str) -> Any:
    return cluster.app(replica).transport._sessions.get(session_id)


async def test_a_listen_stream_on_one_replica_hears_a_change_made_on_another(
    redis: RedisServer, prefix: str
) -> None:
    listen = {
        "jsonrpc": "2.0",
        "id": "listen-1",
        "method": "subscriptions/listen",
        "params": {
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": {},
            },
            "notifications": {"resourceSubscriptions": ["file:///watched.txt"]},
        },
    }
    headers = {**HEADERS, "mcp-protocol-version": MODERN, "mcp-method": "subscriptions/listen"}
    async with (
        replicas(2, redis.url, prefix) as cluster,
        cluster.client.stream("POST", cluster.url(1), json=listen, headers=headers) as stream,
    ):
        assert stream.status_code == 200
        reader = EventReader(stream)
        ((_, acknowledgement),) = await reader.next(1)
        assert acknowledgement["method"] == "notifications/subscriptions/acknowledged"
        session_id = await cluster.initialize(0)
        touched = await cluster.call(0, session_id, 1, "touch", uri="file:///watched.txt")
        assert touched.status_code == 200
        ((_, updated),) = await reader.next(1)
        assert updated["method"] == "notifications/resources/updated"
        assert updated["params"]["uri"] == "file:///watched.txt"
        await cluster.call(0, session_id, 2, "touch", uri="file:///watched.txt")
        ((_, again),) = await reader.next(1)  # once each: the next is the second change
        assert again["method"] == "notifications/resources/updated"


async def test_a_cancellation_posted_to_another_replica_stops_the_handler(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        call = asyncio.create_task(cluster.call(0, session_id, 5, "wait_forever"))
        await wait_until(
            lambda: (
                (copy := copy_on(cluster, 0, session_id)) is not None
                and copy.connection.running_count == 1
            )
        )
        cancel = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": 5, "reason": "changed my mind"},
        }
        assert (await cluster.post(1, cancel, session_id)).status_code == 202
        await wait_until(lambda: copy_on(cluster, 0, session_id).connection.running_count == 0)
        response = await asyncio.wait_for(call, 5)
        assert response.status_code == 202  # spec: no response for a cancelled request


async def test_json_mode_sampling_goes_by_the_get_stream_of_another_replica(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(3, redis.url, prefix, json_response=True) as cluster:
        session_id = await cluster.initialize(0, capabilities={"sampling": {}})
        get_headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with cluster.client.stream("GET", cluster.url(1), headers=get_headers) as stream:
            reader = EventReader(stream)
            await reader.next(1)  # priming
            call = asyncio.create_task(cluster.call(2, session_id, 3, "ask"))
            ((_, request),) = await reader.next(1)
            assert request["method"] == "sampling/createMessage"
            answer = {
                "jsonrpc": "2.0",
                "id": request["id"],
                "result": {
                    "role": "assistant",
                    "content": {"type": "text", "text": "yo"},
                    "model": "m",
                },
            }
            assert (await cluster.post(0, answer, session_id)).status_code == 202
            response = await asyncio.wait_for(call, 5)
            assert response.status_code == 200
            assert response.json()["result"]["content"][0]["text"] == "model said yo"


async def test_a_stopping_replica_ends_its_streams_and_the_client_resumes_on_another(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(1)
        subscribe = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "resources/subscribe",
            "params": {"uri": "file:///watched.txt"},
        }
        assert (await cluster.post(1, subscribe, session_id)).status_code == 200
        get_headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with cluster.client.stream("GET", cluster.url(0), headers=get_headers) as stream:
            reader = EventReader(stream)
            (priming,) = await reader.next(1)
            await wait_until(
                lambda: bool(copy_on(cluster, 0, session_id).connection.session.subscriptions)
            )
            await cluster.call(1, session_id, 2, "touch", uri="file:///watched.txt")
            (first,) = await reader.next(1)
            await cluster.lives[0].stop()
            assert await reader.until_end() == []  # the stream ends with the replica
        resume = {**get_headers, "last-event-id": first[0]}
        async with cluster.client.stream("GET", cluster.url(1), headers=resume) as resumed:
            assert resumed.status_code == 200
            reader = EventReader(resumed)
            await wait_until(
                lambda: bool(copy_on(cluster, 1, session_id).connection.session.subscriptions)
            )
            await asyncio.sleep(0)
            await cluster.call(1, session_id, 3, "touch", uri="file:///watched.txt")
            (after,) = await reader.next(1)
            assert after[1]["method"] == "notifications/resources/updated"
            assert after[0] != first[0] and after[0] != priming[0]
        assert json.dumps(after[1])


async def test_a_get_stream_opened_on_another_replica_takes_over_and_hears_each_change_once(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        subscribe = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "resources/subscribe",
            "params": {"uri": "file:///watched.txt"},
        }
        assert (await cluster.post(0, subscribe, session_id)).status_code == 200
        get_headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with cluster.client.stream("GET", cluster.url(0), headers=get_headers) as first:
            old_reader = EventReader(first)
            (priming,) = await old_reader.next(1)
            resume = {**get_headers, "last-event-id": priming[0]}
            async with cluster.client.stream("GET", cluster.url(1), headers=resume) as second:
                assert second.status_code == 200
                assert await old_reader.until_end() == []  # the old stream gave way
                reader = EventReader(second)
                await wait_until(
                    lambda: bool(copy_on(cluster, 1, session_id).connection.session.subscriptions)
                )
                for request_id in (2, 3):
                    await cluster.call(
                        request_id % 2, session_id, request_id, "touch", uri="file:///watched.txt"
                    )
                first_change, second_change = await reader.next(2)
                assert first_change[1]["method"] == second_change[1]["method"]
                assert first_change[0] != second_change[0]
                assert not copy_on(cluster, 0, session_id).holds_standalone
        # Logged once each: two replicas holding the stream would have logged each twice.
        client = redis_client.Redis.from_url(redis.url)
        try:
            entries = await client.xrange(f"{prefix}:log:{session_id}")
        finally:
            await client.aclose()
        updates = [fields for _, fields in entries if b"resources/updated" in fields[b"d"]]
        assert len(updates) == 2
