"""``subscriptions/listen`` through ``ssemcp bridge``: a 2026-07-28 client's subscription is
fed by its principal's child (``tests/bridge/bridged_fixture.py``, which speaks only 2025).

Owns the acknowledgement (what the child offers), a resource update the child sends reaching
the stream tagged with the subscription id, a bad filter refused, and ``server/discover``
promising the notifications the bridge now carries.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Final

import httpx
import pytest
from bridge_support import bridged
from bridged_fixture import WATCHED
from live_server import wait_until

pytestmark = pytest.mark.interop

MODERN: Final = "2026-07-28"
META: Final = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
}
SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"


def headers_for(method: str, name: str | None = None) -> dict[str, str]:
    headers = {
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
    }
    if name is not None:
        headers["mcp-name"] = name
    return headers


def listen_body(notifications: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": "sub-1",
        "method": "subscriptions/listen",
        "params": {"notifications": notifications, "_meta": META},
    }


async def messages_of(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    async for line in lines:
        if line.startswith("data:"):
            yield json.loads(line[5:])


async def touch(client: httpx.AsyncClient) -> str:
    body = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/call",
        "params": {"name": "touch", "arguments": {}, "_meta": META},
    }
    response = await client.post("/mcp", json=body, headers=headers_for("tools/call", "touch"))
    return str(response.json()["result"]["content"][0]["text"])


async def test_a_resource_update_of_the_child_reaches_the_listen_stream() -> None:
    notifications = {"resourceSubscriptions": [WATCHED], "promptsListChanged": True}
    async with (
        bridged() as running,
        httpx.AsyncClient(base_url=running.url, timeout=30) as client,
        client.stream(
            "POST",
            "/mcp",
            json=listen_body(notifications),
            headers=headers_for("subscriptions/listen"),
        ) as stream,
    ):
        assert stream.status_code == 200
        received = messages_of(stream.aiter_lines())
        ack = await anext(received)
        # The child is subscribed as a client of its own; touch says how many are.
        await wait_until(lambda: _touched(client), message="the child never heard the subscription")
        update = await anext(received)
    assert ack["method"] == "notifications/subscriptions/acknowledged"
    assert ack["params"]["_meta"] == {SUBSCRIPTION_ID: "sub-1"}
    assert ack["params"]["notifications"] == {
        "promptsListChanged": True,
        "resourceSubscriptions": [WATCHED],
    }
    assert update["method"] == "notifications/resources/updated"
    assert update["params"]["uri"] == WATCHED
    assert update["params"]["_meta"] == {SUBSCRIPTION_ID: "sub-1"}


async def _touched(client: httpx.AsyncClient) -> bool:
    return await touch(client) == "1"


async def test_a_bad_filter_is_invalid_params() -> None:
    async with bridged() as running, httpx.AsyncClient(base_url=running.url) as client:
        response = await client.post(
            "/mcp",
            json=listen_body({"resourceSubscriptions": "all"}),
            headers=headers_for("subscriptions/listen"),
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602


async def test_discover_promises_what_listen_carries() -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "server/discover",
        "params": {"_meta": META},
    }
    async with bridged() as running, httpx.AsyncClient(base_url=running.url) as client:
        response = await client.post("/mcp", json=body, headers=headers_for("server/discover"))
    capabilities = response.json()["result"]["capabilities"]
    assert capabilities["resources"] == {"subscribe": True, "listChanged": True}
