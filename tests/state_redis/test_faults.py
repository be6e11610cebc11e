"""Redis going away and coming back: requests that need it get 503 with a JSON-RPC error and
Retry-After, the replicas stay up, and they serve again once Redis returns (no restart)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from live_server import wait_until
from redis_server import RedisServer, redis_server
from replicas import EventReader, replicas


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    # Its own server: this test stops it, which the module's other tests must not see.
    with redis_server() as server:
        yield server


def assert_unavailable(status: int, body: dict[str, object], retry_after: str | None) -> None:
    assert status == 503
    assert body["jsonrpc"] == "2.0"
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == -32000
    assert "unreachable" in error["message"]
    assert retry_after is not None and int(retry_after) > 0


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM])
async def test_redis_down_gets_503_and_the_replicas_recover_when_it_returns(
    own_redis: RedisServer, prefix: str, kill: signal.Signals
) -> None:
    async with replicas(2, own_redis.url, prefix) as cluster:
        session_id = await cluster.initialize(0)
        assert (await cluster.call(1, session_id, 1, "echo", text="up")).status_code == 200

        own_redis.stop(kill)
        for replica in (0, 1):
            call = await cluster.call(replica, session_id, 2, "echo", text="down")
            assert_unavailable(call.status_code, call.json(), call.headers.get("retry-after"))
        opened = await cluster.post(
            0,
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {}},
            },
        )
        assert_unavailable(opened.status_code, opened.json(), opened.headers.get("retry-after"))
        assert "mcp-session-id" not in opened.headers
        stream = await cluster.client.get(
            cluster.url(1), headers={"accept": "text/event-stream", "mcp-session-id": session_id}
        )
        assert stream.status_code == 503
        deleted = await cluster.delete(0, session_id)
        assert deleted.status_code == 503
        legacy = await cluster.client.get(cluster.lives[0].url + "/sse")
        assert_unavailable(legacy.status_code, legacy.json(), legacy.headers.get("retry-after"))
        assert cluster.app(0).legacy_sse.session_count == 0
        # What needs no Redis still works: health, and a request that stands alone.
        assert (await cluster.client.get(cluster.lives[0].url + "/healthz")).status_code == 200

        own_redis.start()  # empty: nothing was persisted, so the old session is gone
        gone = await cluster.call(1, session_id, 3, "echo", text="x")
        assert gone.status_code == 404
        session_id = await cluster.initialize(1)
        assert (await cluster.call(0, session_id, 1, "echo", text="back")).status_code == 200

        # Pub/sub is back on both: a change made on one reaches a GET stream on the other.
        subscribed = await cluster.post(
            1,
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "resources/subscribe",
                "params": {"uri": "file:///watched.txt"},
            },
            session_id,
        )
        assert subscribed.status_code == 200
        headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with cluster.client.stream("GET", cluster.url(0), headers=headers) as get_stream:
            reader = EventReader(get_stream)
            await reader.next(1)
            holder = cluster.app(0).transport._sessions[session_id]
            await wait_until(lambda: bool(holder.connection.session.subscriptions))
            await cluster.call(1, session_id, 3, "touch", uri="file:///watched.txt")
            (event,) = await reader.next(1)
            assert event[1]["method"] == "notifications/resources/updated"
