"""``subscriptions/listen`` (MCP 2026-07-28) over a real uvicorn on 127.0.0.1: the
acknowledgement first, only what was asked for, every notification tagged, and the ends of a
subscription (the client leaves, the server stops, the reader falls behind)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any, Final

import httpx
import pytest
from live_server import LiveServer, live_app, wait_until

from ssemcp import Server
from ssemcp.http import create_app
from ssemcp.state.bus import LIST_CHANGED

MODERN: Final = "2026-07-28"
SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"
EVENT_TIMEOUT_SECONDS: Final = 10.0


def build_server() -> Server:
    server = Server("listen-test", "1.0.0")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.resource("note://watched", mime_type="text/plain")
    def watched() -> str:
        return "v1"

    @server.prompt()
    def hello() -> str:
        """Say hello."""
        return "hello"

    return server


def listen_body(notifications: Any, request_id: int | str = 7) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "subscriptions/listen",
        "params": {
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": {},
            },
            "notifications": notifications,
        },
    }


HEADERS: Final = {
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": MODERN,
    "mcp-method": "subscriptions/listen",
}


class Listening:
    """An open listen stream, read event by event."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next_message(self) -> Any:
        async with asyncio.timeout(EVENT_TIMEOUT_SECONDS):
            async for line in self._lines:
                if line.startswith("data: "):
                    return json.loads(line[len("data: ") :])
        return None


@contextlib.asynccontextmanager
async def listening(
    live: LiveServer, client: httpx.AsyncClient, notifications: Any
) -> AsyncIterator[Listening]:
    async with client.stream(
        "POST", live.mcp_url, json=listen_body(notifications), headers=HEADERS
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        yield Listening(response)


@pytest.fixture
async def live() -> AsyncIterator[tuple[LiveServer, Server]]:
    server = build_server()
    async with live_app(create_app(server)) as running:
        yield running, server


async def test_the_acknowledgement_comes_first_and_names_what_is_honoured(
    live: tuple[LiveServer, Server],
) -> None:
    running, _ = live
    wanted = {
        "toolsListChanged": True,
        "promptsListChanged": False,
        "resourceSubscriptions": ["note://watched"],
        "somethingNew": True,
    }
    async with running.client() as client, listening(running, client, wanted) as stream:
        ack = await stream.next_message()
    assert ack == {
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": {
            "_meta": {SUBSCRIPTION_ID: 7},
            "notifications": {
                "toolsListChanged": True,
                "resourceSubscriptions": ["note://watched"],
            },
        },
    }


async def test_only_what_was_asked_for_arrives_tagged_with_the_subscription(
    live: tuple[LiveServer, Server],
) -> None:
    running, server = live
    wanted = {"toolsListChanged": True, "resourceSubscriptions": ["note://watched"]}
    async with running.client() as client, listening(running, client, wanted) as stream:
        await stream.next_message()  # the acknowledgement
        server.remove_prompt("hello")  # prompts were not asked for
        server.notify_resource_updated("note://elsewhere")  # nor this URI
        server.notify_resource_updated("note://watched")
        server.remove_tool("echo")
        updated = await stream.next_message()
        changed = await stream.next_message()
    assert updated == {
        "jsonrpc": "2.0",
        "method": "notifications/resources/updated",
        "params": {"uri": "note://watched", "_meta": {SUBSCRIPTION_ID: 7}},
    }
    assert changed == {
        "jsonrpc": "2.0",
        "method": "notifications/tools/list_changed",
        "params": {"_meta": {SUBSCRIPTION_ID: 7}},
    }


async def test_a_client_that_leaves_ends_its_subscription(
    live: tuple[LiveServer, Server],
) -> None:
    running, server = live
    before = server.bus.subscriber_count(LIST_CHANGED)
    async with running.client() as client:
        async with listening(running, client, {"resourceSubscriptions": ["note://watched"]}) as s:
            await s.next_message()
            assert server.subscriber_count("note://watched") == 1
        await wait_until(
            lambda: server.subscriber_count("note://watched") == 0,
            timeout_seconds=EVENT_TIMEOUT_SECONDS,
            message="the subscription outlived its stream",
        )
    assert server.bus.subscriber_count(LIST_CHANGED) == before


async def test_a_stopping_server_ends_the_stream_with_the_final_result() -> None:
    server = build_server()
    async with (
        live_app(create_app(server)) as running,
        running.client() as client,
        listening(running, client, {"toolsListChanged": True}) as stream,
    ):
        await stream.next_message()
        stopping = asyncio.create_task(running.stop())
        final = await stream.next_message()
        await stopping
    assert final == {
        "jsonrpc": "2.0",
        "id": 7,
        "result": {"resultType": "complete", "_meta": {SUBSCRIPTION_ID: 7}},
    }


@pytest.mark.parametrize(
    "notifications",
    [[], "all", {"resourceSubscriptions": "note://watched"}, {"resourceSubscriptions": [1]}],
)
async def test_a_malformed_filter_is_400_invalid_params(
    live: tuple[LiveServer, Server], notifications: Any
) -> None:
    running, _ = live
    async with running.client() as client:
        response = await client.post("/mcp", json=listen_body(notifications), headers=HEADERS)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602


async def test_an_idle_listen_stream_gets_keepalive_comments() -> None:
    server = build_server()
    async with (
        live_app(create_app(server, keepalive_seconds=0.2)) as running,
        running.client() as client,
        client.stream(
            "POST", running.mcp_url, json=listen_body({"toolsListChanged": True}), headers=HEADERS
        ) as response,
    ):
        lines = response.aiter_lines()
        comments = 0
        async with asyncio.timeout(EVENT_TIMEOUT_SECONDS):
            async for line in lines:
                if line.startswith(":"):
                    comments += 1
                    if comments == 2:
                        break
        # Still a live subscription after its keepalives.
        server.add_tool(lambda: "x", name="added")
        async with asyncio.timeout(EVENT_TIMEOUT_SECONDS):
            async for line in lines:
                if line.startswith("data: "):
                    assert json.loads(line[6:])["method"] == "notifications/tools/list_changed"
                    break


async def test_a_reader_that_never_reads_is_cut_off_not_buffered_without_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = Server("listen-test", "1.0.0")

    @server.resource("big://{name}")
    def big(name: str) -> str:
        return name

    uri = "big://" + "x" * 4000
    app = create_app(server)
    body = json.dumps(listen_body({"resourceSubscriptions": [uri]})).encode()
    async with live_app(app) as running:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", running.port))
        reader, writer = await asyncio.open_connection(sock=sock)
        try:
            head = "".join(f"{name}: {value}\r\n" for name, value in HEADERS.items())
            writer.write(
                b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                + head.encode()
                + b"content-length: %d\r\n\r\n" % len(body)
                + body
            )
            await writer.drain()
            status = await asyncio.wait_for(reader.readuntil(b"\r\n"), EVENT_TIMEOUT_SECONDS)
            assert status.startswith(b"HTTP/1.1 200 ")
            await wait_until(lambda: server.subscriber_count(uri) == 1)
            # From here on the client reads nothing.
            tasks_before = len(asyncio.all_tasks())
            posted = 0
            with caplog.at_level(logging.WARNING, logger="ssemcp.transports.sse_writer"):
                while server.subscriber_count(uri):
                    assert posted < 100_000, "a reader that never reads was never cut off"
                    for _ in range(100):
                        server.notify_resource_updated(uri)
                    posted += 100
                    # No task per notification piles up while the subscription lasts.
                    assert len(asyncio.all_tasks()) <= tasks_before + 2
                    await asyncio.sleep(0.001)
            assert "events behind" in caplog.text
            assert app.transport._listens == set()
        finally:
            writer.close()
