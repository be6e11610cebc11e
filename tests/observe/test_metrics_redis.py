"""``GET /metrics`` with ``state=redis://...``: the sizes of the sessions' event logs kept in
a real ``redis-server`` (tests/support/redis_server.py), read at scrape time; and a scrape
that still answers, with what is in memory, while Redis is down."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from live_server import live_server
from observe_support import MCPClient, build_server
from redis_server import RedisServer, redis_server
from test_metrics import METRICS_ONLY, scrape, value

from ssemcp import Context
from ssemcp.observe.metrics import shared_logs


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


async def test_event_logs_in_redis_are_reported(redis: RedisServer) -> None:
    server = build_server()

    @server.tool()
    async def chatty(ctx: Context) -> str:
        await ctx.info("working")
        return "done"

    prefix = "m" + secrets.token_hex(4)
    async with (
        live_server(server, observe=METRICS_ONLY, state=redis.url, state_prefix=prefix) as live,
        live.client() as http,
    ):
        client = MCPClient(http)
        await client.initialize()
        response = await client.call("chatty")
        assert response.headers["content-type"].startswith("text/event-stream")
        assert len(shared_logs(live.app)) == 1  # the session's log is in Redis, not memory
        found = await scrape(live)
        assert value(found, "ssemcp_event_logs") == 1
        assert value(found, "ssemcp_event_log_events") >= 2  # the log message and the result
        assert value(found, "ssemcp_event_log_bytes") >= len(b"working")

        # Redis gone: the scrape answers all the same, without the logs it cannot read.
        redis.stop()
        found = await scrape(live)
        assert value(found, "ssemcp_event_logs") == 0
        assert value(found, "ssemcp_event_log_events") == 0
        redis.start()
