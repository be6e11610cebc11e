"""2024-11-05 HTTP+SSE across replicas: ``GET /sse`` held by one replica, each
``POST /messages/`` sent to another; every answer arrives on the stream exactly once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from live_server import wait_until
from redis_server import RedisServer
from replicas import EventReader, Replicas, replicas

PROTOCOL = "2024-11-05"


async def post_message(
    cluster: Replicas, replica: int, endpoint: str, body: Any, **headers: str
) -> httpx.Response:
    return await cluster.client.post(
        cluster.lives[replica].url + endpoint,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
    )


async def test_messages_posted_to_other_replicas_are_answered_once_on_the_stream(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(3, redis.url, prefix) as cluster:
        async with cluster.client.stream("GET", cluster.lives[0].url + "/sse") as stream:
            assert stream.status_code == 200
            reader = EventReader(stream, raw=True)
            (endpoint,) = await reader.next(1)
            assert endpoint.event == "endpoint"
            path = endpoint.data
            initialize = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": PROTOCOL,
                    "capabilities": {"sampling": {}},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            }
            assert (await post_message(cluster, 1, path, initialize)).status_code == 202
            (answer,) = await reader.next(1)
            assert json.loads(answer.data)["result"]["protocolVersion"] == PROTOCOL
            initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
            assert (await post_message(cluster, 2, path, initialized)).status_code == 202
            for request_id, replica in enumerate((1, 2, 0, 2), start=2):
                call = {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": f"via {replica}"}},
                }
                assert (await post_message(cluster, replica, path, call)).status_code == 202
                (reply,) = await reader.next(1)
                message = json.loads(reply.data)
                assert message["id"] == request_id
                assert message["result"]["content"][0]["text"] == f"via {replica}"

            # A tool on the stream's replica asks the client; the answer lands elsewhere.
            ask = {
                "jsonrpc": "2.0",
                "id": 10,
                "method": "tools/call",
                "params": {"name": "ask", "arguments": {}},
            }
            assert (await post_message(cluster, 1, path, ask)).status_code == 202
            (question,) = await reader.next(1)
            request = json.loads(question.data)
            assert request["method"] == "sampling/createMessage"
            answer_body = {
                "jsonrpc": "2.0",
                "id": request["id"],
                "result": {
                    "role": "assistant",
                    "content": {"type": "text", "text": "hi"},
                    "model": "m",
                },
            }
            assert (await post_message(cluster, 2, path, answer_body)).status_code == 202
            (result,) = await reader.next(1)
            assert json.loads(result.data)["result"]["content"][0]["text"] == "model said hi"

            # Exactly once: a ping's answer is the next event, no copy of an earlier one.
            assert (
                await post_message(cluster, 1, path, {"jsonrpc": "2.0", "id": 99, "method": "ping"})
            ).status_code == 202
            (pong,) = await reader.next(1)
            assert json.loads(pong.data) == {"jsonrpc": "2.0", "id": 99, "result": {}}

        # The stream is gone: its session with it, on every replica.
        ping = {"jsonrpc": "2.0", "id": 100, "method": "ping"}
        await wait_until(lambda: cluster.app(0).legacy_sse.session_count == 0)

        async def gone_everywhere() -> bool:
            statuses = [
                (await post_message(cluster, replica, path, ping)).status_code
                for replica in (0, 1, 2)
            ]
            return statuses == [404, 404, 404]

        await wait_until(gone_everywhere)


async def test_unknown_session_and_bad_body_are_refused_by_the_replica_that_took_them(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        unknown = await post_message(
            cluster, 1, "/messages/?session_id=nope", {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        )
        assert unknown.status_code == 404
        async with cluster.client.stream("GET", cluster.lives[0].url + "/sse") as stream:
            (endpoint,) = await EventReader(stream, raw=True).next(1)
            bad = await cluster.client.post(
                cluster.lives[1].url + endpoint.data,
                content=b"{not json",
                headers={"content-type": "application/json"},
            )
            assert bad.status_code == 400
            assert bad.json()["error"]["code"] == -32700
        await asyncio.sleep(0)


async def test_a_legacy_session_stays_bound_to_its_principal_on_other_replicas(
    redis: RedisServer, prefix: str
) -> None:
    alice, mallory = "a" * 32, "m" * 32
    async with (
        replicas(2, redis.url, prefix, tokens=[alice, mallory]) as cluster,
        cluster.client.stream(
            "GET", cluster.lives[0].url + "/sse", headers={"authorization": f"Bearer {alice}"}
        ) as stream,
    ):
        # Held: a reader dropped would close the stream (its generator is finalized).
        reader = EventReader(stream, raw=True)
        (endpoint,) = await reader.next(1)
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        stolen = await post_message(
            cluster, 1, endpoint.data, ping, authorization=f"Bearer {mallory}"
        )
        assert stolen.status_code == 404
        owned = await post_message(cluster, 1, endpoint.data, ping, authorization=f"Bearer {alice}")
        assert owned.status_code == 202
        (pong,) = await reader.next(1)
        assert json.loads(pong.data) == {"jsonrpc": "2.0", "id": 1, "result": {}}
