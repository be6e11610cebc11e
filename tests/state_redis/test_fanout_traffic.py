"""What a fan-out costs Redis: a change told to every subscribed session of every replica is
one PUBLISH (with its entry in the bus log), whatever the number of sessions, and nothing per
session (no command, no channel message): each replica hears the change once and tells its own
sessions."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio
from redis_server import RedisServer
from replicas import EventReader, Replicas, replicas

PROTOCOL = "2024-11-05"
WATCHED = "file:///watched.txt"
REPLICAS = 2


class LegacySession:
    """A 2024-11-05 session whose stream one replica holds, posted to on that replica only
    (a POST on another replica would be forwarded through Redis: not what is counted)."""

    def __init__(self, cluster: Replicas, replica: int, reader: EventReader, path: str) -> None:
        self.cluster = cluster
        self.replica = replica
        self.reader = reader
        self.path = path
        self.ids = 0

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.ids += 1
        body = {"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params}
        await self.notify(body)
        (event,) = await self.reader.next(1)
        message: dict[str, Any] = json.loads(event.data)
        assert message["id"] == self.ids, message
        return message

    async def notify(self, body: dict[str, Any]) -> None:
        response = await self.cluster.client.post(
            self.cluster.lives[self.replica].url + self.path,
            content=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 202, response.text


@contextlib.asynccontextmanager
async def subscribed_sessions(
    cluster: Replicas, per_replica: int
) -> AsyncIterator[list[LegacySession]]:
    """``per_replica`` sessions on each replica, initialized and subscribed to WATCHED."""
    async with contextlib.AsyncExitStack() as stack:
        sessions: list[LegacySession] = []
        for replica in range(len(cluster.lives)):
            for _ in range(per_replica):
                stream = await stack.enter_async_context(
                    cluster.client.stream("GET", cluster.lives[replica].url + "/sse")
                )
                assert stream.status_code == 200
                reader = EventReader(stream, raw=True)
                (endpoint,) = await reader.next(1)
                session = LegacySession(cluster, replica, reader, endpoint.data)
                await session.request(
                    "initialize",
                    {
                        "protocolVersion": PROTOCOL,
                        "capabilities": {},
                        "clientInfo": {"name": "fanout-traffic", "version": "1"},
                    },
                )
                await session.notify({"jsonrpc": "2.0", "method": "notifications/initialized"})
                await session.request("resources/subscribe", {"uri": WATCHED})
                sessions.append(session)
        yield sessions


async def command_calls(client: redis.asyncio.Redis) -> dict[str, int]:
    """Commands the Redis server has run so far, by name (INFO itself left out)."""
    stats = await client.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(entry["calls"]) for name, entry in stats.items()}
    calls.pop("info", None)
    return calls


async def broadcast_traffic(redis_url: str, prefix: str, per_replica: int) -> dict[str, int]:
    """The Redis commands run while one change reaches ``per_replica`` sessions on each of
    the replicas (each session hears it exactly once)."""
    async with (
        replicas(REPLICAS, redis_url, prefix) as cluster,
        subscribed_sessions(cluster, per_replica) as sessions,
        redis.asyncio.Redis.from_url(redis_url) as client,
    ):
        trigger = sessions[0]
        before = await command_calls(client)
        reply = await trigger.request(
            "tools/call", {"name": "touch", "arguments": {"uri": WATCHED}}
        )
        # The replica that ran the tool told its own subscribers (the trigger's among them).
        assert json.loads(reply["result"]["content"][0]["text"]) == {"result": per_replica}
        for session in sessions:
            (event,) = await session.reader.next(1)
            message = json.loads(event.data)
            assert message["method"] == "notifications/resources/updated"
            assert message["params"] == {"uri": WATCHED}
        after = await command_calls(client)
    return {
        name: after[name] - before.get(name, 0)
        for name in after
        if after[name] != before.get(name, 0)
    }


async def test_a_broadcast_is_one_publish_whatever_the_number_of_sessions(
    redis: RedisServer, prefix: str
) -> None:
    few = await broadcast_traffic(redis.url, prefix + "a", per_replica=1)
    many = await broadcast_traffic(redis.url, prefix + "b", per_replica=6)
    # One script: the message goes to the bus log (XADD, and its expiry) and is published.
    # (Loaded once per Redis server, by the first publish: its EVALSHA then runs twice.)
    if few.pop("script|load", None):
        few["evalsha"] -= 1
    assert few == {"evalsha": 1, "xadd": 1, "expire": 1, "publish": 1}
    assert many == few
