"""Streamable HTTP over a real uvicorn on 127.0.0.1: sessions, JSON and SSE replies, statuses.

Each test starts its own app and server on a free port (no module-level server), drives it with
httpx, and stops it in ``finally``. The last test drives it with the official Python SDK's
streamable HTTP client (pinned ``mcp==2.3.0``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from live_server import live_server

from ssemcp import Context, Server
from ssemcp.protocol.revisions import SUPPORTED_VERSIONS

ACCEPT_BOTH = "application/json, text/event-stream"
HEADERS = {"accept": ACCEPT_BOTH, "content-type": "application/json"}
MAX_BODY_BYTES = 64 * 1024
MAX_SESSIONS = 3


def build_test_server(slow_started: asyncio.Event) -> Server:
    server = Server("http-test", "0.0.1")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool()
    async def slow() -> str:
        """Take longer than any test waits."""
        slow_started.set()
        await asyncio.sleep(60)
        return "late"

    @server.tool()
    async def chatty(ctx: Context) -> str:
        """Log, report progress, then answer."""
        await ctx.info("x")
        await ctx.report_progress(1, 2)
        return "done"

    return server


@dataclass
class Running:
    url: str
    server: Server
    client: httpx.AsyncClient
    slow_started: asyncio.Event

    @property
    def mcp(self) -> str:
        return self.url + "/mcp"

    async def post(self, body: Any, **headers: str) -> httpx.Response:
        merged = {**HEADERS, **headers}
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.client.post(self.mcp, content=content, headers=merged)

    async def post_initialize(self, version: str = "2025-11-25") -> httpx.Response:
        return await self.post(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": version,
                    "capabilities": {},
                    "clientInfo": {"name": "test", "version": "1"},
                },
            }
        )

    async def initialize(self, version: str = "2025-11-25") -> str:
        response = await self.post_initialize(version)
        assert response.status_code == 200, response.text
        session_id = response.headers["mcp-session-id"]
        initialized = await self.post(
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            **{"mcp-session-id": session_id},
        )
        assert initialized.status_code == 202
        return session_id

    async def call(
        self, session_id: str, request_id: int | str, name: str, arguments: Any = None, **extra: Any
    ) -> httpx.Response:
        params: dict[str, Any] = {"name": name, "arguments": arguments or {}, **extra}
        return await self.post(
            {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params},
            **{"mcp-session-id": session_id},
        )


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    slow_started = asyncio.Event()
    server = build_test_server(slow_started)
    async with (
        live_server(server, max_body_bytes=MAX_BODY_BYTES, max_sessions=MAX_SESSIONS) as live,
        live.client() as client,
    ):
        yield Running(live.url, server, client, slow_started)


def events(response: httpx.Response) -> list[Any]:
    """The JSON data of each SSE event in a complete response body (priming events skipped)."""
    found = []
    for block in response.text.split("\n\n"):
        data = [line[len("data: ") :] for line in block.splitlines() if line.startswith("data: ")]
        if data and data != [""]:
            found.append(json.loads("\n".join(data)))
    return found


# ---------------------------------------------------------------------- happy paths


async def test_health_check_answers_ok(running: Running) -> None:
    response = await running.client.get(running.url + "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_initialize_returns_a_session_id_header(running: Running) -> None:
    response = await running.post(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {}},
        }
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    session_id = response.headers["mcp-session-id"]
    assert len(session_id) >= 32
    assert all(0x21 <= ord(char) <= 0x7E for char in session_id)
    assert response.json()["result"]["protocolVersion"] == "2025-11-25"


async def test_tools_call_without_messages_is_answered_as_json(running: Running) -> None:
    session_id = await running.initialize()
    response = await running.call(session_id, 2, "echo", {"text": "hi"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["id"] == 2
    assert body["result"]["content"] == [{"type": "text", "text": "hi"}]


async def test_tool_that_logs_and_reports_progress_is_answered_as_sse(running: Running) -> None:
    session_id = await running.initialize()
    response = await running.call(session_id, 3, "chatty", _meta={"progressToken": "p1"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    messages = events(response)
    assert [message.get("method") for message in messages] == [
        "notifications/message",
        "notifications/progress",
        None,
    ]
    assert messages[0]["params"]["data"] == "x"
    assert messages[1]["params"]["progressToken"] == "p1"
    assert messages[2]["id"] == 3
    assert messages[2]["result"]["content"] == [{"type": "text", "text": "done"}]


async def test_notification_post_gets_202_with_no_body(running: Running) -> None:
    session_id = await running.initialize()
    response = await running.post(
        {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"},
        **{"mcp-session-id": session_id},
    )
    assert response.status_code == 202
    assert response.content == b""


async def test_two_sessions_are_independent(running: Running) -> None:
    first = await running.initialize()
    second = await running.initialize("2025-03-26")
    assert first != second
    answer_first = await running.call(first, 5, "echo", {"text": "one"})
    answer_second = await running.call(second, 5, "echo", {"text": "two"})
    assert answer_first.json()["result"]["content"][0]["text"] == "one"
    assert answer_second.json()["result"]["content"][0]["text"] == "two"
    deleted = await running.client.delete(running.mcp, headers={"mcp-session-id": first})
    assert deleted.status_code == 204
    still_there = await running.call(second, 6, "echo", {"text": "alive"})
    assert still_there.status_code == 200


async def test_ids_7_and_string_7_are_answered_separately(running: Running) -> None:
    session_id = await running.initialize()
    number, string = await asyncio.gather(
        running.call(session_id, 7, "echo", {"text": "int"}),
        running.call(session_id, "7", "echo", {"text": "str"}),
    )
    assert number.json()["id"] == 7
    assert number.json()["result"]["content"][0]["text"] == "int"
    assert string.json()["id"] == "7"
    assert string.json()["result"]["content"][0]["text"] == "str"


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
async def test_every_supported_revision_is_negotiated_over_streamable_http(
    running: Running, version: str
) -> None:
    # 2024-11-05 included: a client that asks for it gets it here too (README's table).
    response = await running.post_initialize(version)
    assert response.json()["result"]["protocolVersion"] == version


async def test_any_supported_protocol_version_header_is_accepted(running: Running) -> None:
    session_id = await running.initialize()
    for version in SUPPORTED_VERSIONS:
        response = await running.post(
            {"jsonrpc": "2.0", "id": 8, "method": "ping"},
            **{"mcp-session-id": session_id, "mcp-protocol-version": version},
        )
        assert response.status_code == 200, version


async def test_get_stream_carries_server_initiated_messages(running: Running) -> None:
    session_id = await running.initialize()
    headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
    async with running.client.stream("GET", running.mcp, headers=headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"] == "text/event-stream"

        @running.server.tool()
        async def added() -> str:
            return "new"

        lines = stream.aiter_lines()
        async with asyncio.timeout(5):
            async for line in lines:
                if line.startswith("data: ") and line != "data: ":  # not the priming event
                    message = json.loads(line[len("data: ") :])
                    break
    assert message == {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}


async def test_delete_ends_the_session_and_its_get_stream(running: Running) -> None:
    session_id = await running.initialize()
    headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
    async with running.client.stream("GET", running.mcp, headers=headers) as stream:
        assert stream.status_code == 200
        deleted = await running.client.delete(running.mcp, headers={"mcp-session-id": session_id})
        assert deleted.status_code == 204
        async with asyncio.timeout(5):
            rest = await stream.aread()
        assert b"jsonrpc" not in rest  # nothing but the priming event
    after = await running.call(session_id, 9, "echo", {"text": "gone"})
    assert after.status_code == 404
    assert after.json()["id"] is None


async def test_delete_during_a_running_call_answers_that_call_404(running: Running) -> None:
    session_id = await running.initialize()
    call = asyncio.create_task(running.call(session_id, 10, "slow"))
    async with asyncio.timeout(5):
        await running.slow_started.wait()
        deleted = await running.client.delete(running.mcp, headers={"mcp-session-id": session_id})
        assert deleted.status_code == 204
        response = await call
    assert response.status_code == 404


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_get_and_delete_without_session_id_get_400(running: Running, method: str) -> None:
    response = await running.client.request(
        method, running.mcp, headers={"accept": "text/event-stream"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_get_and_delete_with_unknown_session_id_get_404(
    running: Running, method: str
) -> None:
    response = await running.client.request(
        method, running.mcp, headers={"accept": "text/event-stream", "mcp-session-id": "nope"}
    )
    assert response.status_code == 404


# ---------------------------------------------------------------------- statuses


async def test_unknown_host_gets_421(running: Running) -> None:
    response = await running.post(b"{}", host="evil.example")
    assert response.status_code == 421
    body = response.json()
    assert body["id"] is None
    assert "error" in body


async def test_localhost_with_any_port_is_an_allowed_host(running: Running) -> None:
    response = await running.client.get(running.url + "/healthz", headers={"host": "localhost:1"})
    assert response.status_code == 200


async def test_foreign_origin_gets_403(running: Running) -> None:
    response = await running.post(b"{}", origin="http://evil.example")
    assert response.status_code == 403
    assert response.json()["id"] is None


async def test_loopback_origin_is_allowed(running: Running) -> None:
    response = await running.client.get(
        running.url + "/healthz", headers={"origin": "http://localhost:5173"}
    )
    assert response.status_code == 200


async def test_body_over_content_length_limit_gets_413(running: Running) -> None:
    response = await running.post(b" " * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413


async def test_chunked_body_over_limit_gets_413(running: Running) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    response = await running.client.post(running.mcp, content=chunks(), headers=HEADERS)
    assert response.status_code == 413


async def test_accept_without_event_stream_gets_406(running: Running) -> None:
    response = await running.post(b"{}", accept="application/json")
    assert response.status_code == 406


async def test_non_json_content_type_gets_415(running: Running) -> None:
    response = await running.post(b"{}", **{"content-type": "text/plain"})
    assert response.status_code == 415


async def test_unparsable_body_gets_400_parse_error(running: Running) -> None:
    response = await running.post(b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700


async def test_request_without_session_id_gets_400(running: Running) -> None:
    response = await running.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code == 400


async def test_unknown_session_id_gets_404(running: Running) -> None:
    response = await running.post(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, **{"mcp-session-id": "nope"}
    )
    assert response.status_code == 404


async def test_unsupported_protocol_version_header_gets_400(running: Running) -> None:
    session_id = await running.initialize()
    response = await running.post(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        **{"mcp-session-id": session_id, "mcp-protocol-version": "1999-01-01"},
    )
    assert response.status_code == 400


async def test_put_gets_405_with_allow(running: Running) -> None:
    response = await running.client.put(running.mcp, content=b"{}", headers=HEADERS)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST, DELETE"


async def test_unknown_path_gets_404(running: Running) -> None:
    response = await running.client.get(running.url + "/elsewhere")
    assert response.status_code == 404


async def test_second_get_stream_for_a_session_gets_409(running: Running) -> None:
    session_id = await running.initialize()
    headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
    async with running.client.stream("GET", running.mcp, headers=headers) as stream:
        assert stream.status_code == 200
        second = await running.client.get(running.mcp, headers=headers)
        assert second.status_code == 409
    # The first stream has closed: a new one may open (once the server saw the disconnect).
    async with asyncio.timeout(5):
        while True:
            async with running.client.stream("GET", running.mcp, headers=headers) as again:
                if again.status_code == 200:
                    break
            await asyncio.sleep(0.01)


async def test_initialize_past_max_sessions_gets_503(running: Running) -> None:
    for _ in range(MAX_SESSIONS):
        await running.initialize()
    response = await running.post(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {}},
        }
    )
    assert response.status_code == 503
    assert "mcp-session-id" not in response.headers


async def test_failed_initialize_creates_no_session(running: Running) -> None:
    response = await running.post(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": 1}}
    )
    assert response.status_code == 200
    assert "error" in response.json()
    assert "mcp-session-id" not in response.headers


@pytest.mark.parametrize(
    ("message", "answer_id"),
    [
        ({"jsonrpc": "1.0", "id": 5, "method": "ping"}, 5),
        ({"a": 1}, None),
        ({"jsonrpc": "2.0", "id": 6}, 6),
    ],
)
async def test_json_that_is_not_a_jsonrpc_message_gets_400_in_a_session(
    running: Running, message: dict[str, object], answer_id: int | None
) -> None:
    # spec 2025-11-25 basic/transports: input the server cannot accept gets "an HTTP error
    # status code (e.g., 400 Bad Request)"; the session goes on.
    session_id = await running.initialize()
    response = await running.post(message, **{"mcp-session-id": session_id})
    assert response.status_code == 400
    assert response.json()["id"] == answer_id
    assert response.json()["error"]["code"] == -32600
    ping = await running.post(
        {"jsonrpc": "2.0", "id": 7, "method": "ping"}, **{"mcp-session-id": session_id}
    )
    assert ping.json() == {"jsonrpc": "2.0", "id": 7, "result": {}}


# ---------------------------------------------------------------------- interop


@pytest.mark.interop
async def test_official_python_sdk_client_lists_and_calls_tools(running: Running) -> None:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with (
        streamable_http_client(running.mcp) as (read_stream, write_stream),
        ClientSession(read_stream, write_stream, read_timeout_seconds=30.0) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        assert {tool.name for tool in tools.tools} == {"echo", "slow", "chatty"}
        result = await session.call_tool("echo", {"text": "hello"})
        assert not result.is_error
        assert result.content[0].text == "hello"
