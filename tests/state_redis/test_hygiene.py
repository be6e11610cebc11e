"""Bounds and hygiene of the state in Redis: every key expires, the prefix holds, and opening
and closing many sessions leaves nothing behind (keys, channels, local copies)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import redis.asyncio as redis_client
from live_server import wait_until
from redis_server import RedisServer
from replicas import HEADERS, EventReader, replicas

SESSIONS = 10_000
CONCURRENCY = 16
# One session in this many is also served by a second replica before it is deleted.
FOLLOWED_EVERY = 20
PING = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {}},
}


async def keys_under(url: str, prefix: str) -> dict[str, int]:
    """Each key under ``prefix`` with its time to live (-1: none), but for the replicas'
    liveness keys (one per replica, not per session: ``ssemcp.state.redis.liveness``)."""
    client = redis_client.Redis.from_url(url)
    try:
        return {
            key.decode(): await client.ttl(key)
            async for key in client.scan_iter(match=f"{prefix}:*", count=1000)
            if not key.startswith(f"{prefix}:alive:".encode())
        }
    finally:
        await client.aclose()


async def session_channels(url: str, prefix: str) -> list[bytes]:
    client = redis_client.Redis.from_url(url)
    try:
        channels: list[bytes] = await client.pubsub_channels(f"{prefix}:s:*")
        return channels
    finally:
        await client.aclose()


async def test_every_key_has_a_time_to_live_and_the_prefix(redis: RedisServer, prefix: str) -> None:
    async with replicas(2, redis.url, prefix, session_idle_timeout_seconds=90) as cluster:
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
        headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with cluster.client.stream("GET", cluster.url(0), headers=headers) as stream:
            await EventReader(stream).next(1)
        keys = await keys_under(redis.url, prefix)
        assert set(keys) == {
            f"{prefix}:session:{session_id}",
            f"{prefix}:log:{session_id}",
            f"{prefix}:logmeta:{session_id}",
        }
        # The record lives the session's time to live; its log's keys a margin longer
        # (state/redis/sessions.py), so they never go before it.
        assert 0 < keys[f"{prefix}:session:{session_id}"] <= 90, keys
        log_ttl_seconds = cluster.app(0).transport._shared.log_ttl_seconds
        assert log_ttl_seconds < 90 + 20
        assert all(0 < ttl <= log_ttl_seconds for ttl in keys.values()), keys


class KeepAliveClient:
    """HTTP/1.1 over one kept-alive loopback connection, by hand: ten thousand sessions are
    forty thousand requests, and httpx's per-request cost would be most of the test's time."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._host = f"127.0.0.1:{port}".encode()

    @classmethod
    async def open(cls, port: int) -> KeepAliveClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, port)

    async def request(
        self, method: bytes, headers: dict[bytes, bytes], body: bytes = b""
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        lines = [method + b" /mcp HTTP/1.1", b"host: " + self._host]
        lines += [name + b": " + value for name, value in headers.items()]
        lines.append(b"content-length: " + str(len(body)).encode())
        self._writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        response_headers = {}
        for line in header_lines:
            name, _, value = line.partition(b":")
            response_headers[name.strip().lower()] = value.strip()
        length = int(response_headers.get(b"content-length", b"0"))
        return int(status_line.split()[1]), response_headers, await self._reader.readexactly(length)

    def close(self) -> None:
        self._writer.close()


async def test_ten_thousand_sessions_opened_and_closed_leave_nothing_in_redis(
    redis: RedisServer, prefix: str
) -> None:
    async with replicas(2, redis.url, prefix) as cluster:
        counter = iter(range(SESSIONS))
        initialize = json.dumps(INITIALIZE).encode()
        post_headers = {name.encode(): value.encode() for name, value in HEADERS.items()}

        async def churn() -> None:
            clients = [await KeepAliveClient.open(live.port) for live in cluster.lives]
            try:
                for index in counter:
                    status, headers, body = await clients[index % 2].request(
                        b"POST", post_headers, initialize
                    )
                    assert status == 200, body
                    session = {b"mcp-session-id": headers[b"mcp-session-id"]}
                    if index % FOLLOWED_EVERY == 0:
                        # Served on the other replica: a copy there, following its channel.
                        status, _, body = await clients[(index + 1) % 2].request(
                            b"POST", {**post_headers, **session}, PING
                        )
                        assert status == 200, body
                    status, _, body = await clients[(index + 1) % 2].request(b"DELETE", session)
                    assert status == 204, body
            finally:
                for client in clients:
                    client.close()

        await asyncio.gather(*(churn() for _ in range(CONCURRENCY)))
        assert await keys_under(redis.url, prefix) == {}
        for replica in (0, 1):
            assert cluster.app(replica).transport.session_count == 0
        await wait_until(lambda: _no_session_channel(cluster))
        assert await session_channels(redis.url, prefix) == []


def _no_session_channel(cluster: Any) -> bool:
    return all(app.state.subscriptions.channel_count == 1 for app in map(cluster.app, (0, 1)))
