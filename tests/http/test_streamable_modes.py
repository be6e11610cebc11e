"""Streamable HTTP modes over a real uvicorn: stateless, JSON-only replies, idle session reaping.

Each test starts its own app on a free 127.0.0.1 port and stops it in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from live_server import live_app, wait_until

from ssemcp import Context, Server
from ssemcp.errors import LocalProtocolError
from ssemcp.http import create_app
from ssemcp.http.app import MCPApp
from ssemcp.protocol.revisions import LATEST
from ssemcp.protocol.session import ServerSession, SessionState
from ssemcp.sse import SSEParser
from ssemcp.transports.streamable import StreamableHTTPTransport

STEP_DEADLINE_SECONDS = 5.0
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


class Gate:
    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.waiting = asyncio.Event()


def build_server(gate: Gate) -> Server:
    server = Server("modes-test", "0.0.1")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool()
    async def chatty(ctx: Context) -> str:
        """Log, then answer."""
        await ctx.info("x")
        return "done"

    @server.tool()
    async def ask(ctx: Context) -> str:
        """Ask the client's model; answer with what it said."""
        result = await ctx.sample("hi", timeout_seconds=STEP_DEADLINE_SECONDS)
        return f"model said {result.text}"

    @server.tool()
    async def gated() -> str:
        """Wait for the test to release it."""
        gate.waiting.set()
        await gate.release.wait()
        return "released"

    return server


class Running:
    def __init__(self, url: str, app: MCPApp, client: httpx.AsyncClient, gate: Gate) -> None:
        self.url = url
        self.app = app
        self.client = client
        self.gate = gate

    @property
    def mcp(self) -> str:
        return self.url + "/mcp"

    async def post(self, body: Any, **headers: str) -> httpx.Response:
        return await self.client.post(
            self.mcp, content=json.dumps(body).encode(), headers={**HEADERS, **headers}
        )

    async def initialize(self, capabilities: dict[str, Any] | None = None) -> str:
        response = await self.post(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": capabilities or {},
                    "clientInfo": {},
                },
            }
        )
        assert response.status_code == 200, response.text
        session_id = response.headers["mcp-session-id"]
        await self.post(
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            **{"mcp-session-id": session_id},
        )
        return session_id

    async def call(self, request_id: int, name: str, **headers: str) -> httpx.Response:
        return await self.post(
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "tools/call",
                "params": {"name": name, "arguments": {"text": "hi"} if name == "echo" else {}},
            },
            **headers,
        )


@contextlib.asynccontextmanager
async def serve(app: MCPApp, gate: Gate) -> AsyncIterator[Running]:
    async with live_app(app) as live:
        try:
            async with live.client() as client:
                yield Running(live.url, app, client, gate)
        finally:
            # Before uvicorn stops: a gated handler still waiting would hold its shutdown.
            gate.release.set()


# ---------------------------------------------------------------------- assume_initialized


def test_assume_initialized_makes_a_new_session_ready_at_that_revision() -> None:
    session = ServerSession(server_info={"name": "s", "version": "1"}, capabilities={})
    session.assume_initialized(LATEST)
    assert session.state is SessionState.READY
    assert session.revision is LATEST
    assert session.client_capabilities == {}
    with pytest.raises(LocalProtocolError):
        session.assume_initialized(LATEST)


# ---------------------------------------------------------------------- stateless


@pytest.fixture
async def stateless() -> AsyncIterator[Running]:
    gate = Gate()
    async with serve(create_app(build_server(gate), stateless=True), gate) as running:
        yield running


async def test_stateless_call_without_initialize_is_answered_without_a_session(
    stateless: Running,
) -> None:
    response = await stateless.call(1, "echo", **{"mcp-protocol-version": "2025-11-25"})
    assert response.status_code == 200
    assert "mcp-session-id" not in response.headers
    assert response.headers["content-type"] == "application/json"
    assert response.json()["result"]["content"] == [{"type": "text", "text": "hi"}]
    assert stateless.app.transport.session_count == 0


async def test_stateless_initialize_issues_no_session_id(stateless: Running) -> None:
    response = await stateless.post(
        {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {}},
        }
    )
    assert response.status_code == 200
    assert "mcp-session-id" not in response.headers
    assert response.json()["result"]["protocolVersion"] == "2025-11-25"


async def test_stateless_tools_list_and_notification(stateless: Running) -> None:
    listed = await stateless.post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert {tool["name"] for tool in listed.json()["result"]["tools"]} >= {"echo", "chatty"}
    notified = await stateless.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert notified.status_code == 202


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_stateless_get_and_delete_get_405(stateless: Running, method: str) -> None:
    response = await stateless.client.request(
        method, stateless.mcp, headers={"accept": "text/event-stream", "mcp-session-id": "x"}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_stateless_stream_reply_has_no_event_ids(stateless: Running) -> None:
    response = await stateless.call(3, "chatty")
    assert response.headers["content-type"] == "text/event-stream"
    found = SSEParser().feed(response.content)
    assert [event.id for event in found] == ["", ""]
    assert json.loads(found[-1].data)["result"]["content"][0]["text"] == "done"


async def test_stateless_sampling_fails_at_once_with_an_error_result(stateless: Running) -> None:
    async with asyncio.timeout(STEP_DEADLINE_SECONDS / 2):
        response = await stateless.call(4, "ask")
    result = response.json()["result"]
    assert result["isError"] is True


@pytest.mark.interop
async def test_official_python_sdk_client_against_stateless(stateless: Running) -> None:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with (
        streamable_http_client(stateless.mcp) as (read_stream, write_stream),
        ClientSession(read_stream, write_stream, read_timeout_seconds=30.0) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        assert "echo" in {tool.name for tool in tools.tools}
        result = await session.call_tool("echo", {"text": "stateless"})
        assert not result.is_error
        assert result.content[0].text == "stateless"


# ---------------------------------------------------------------------- json_response


@pytest.fixture
async def json_only() -> AsyncIterator[Running]:
    gate = Gate()
    async with serve(create_app(build_server(gate), json_response=True), gate) as running:
        yield running


async def test_json_response_mode_answers_json_and_drops_messages_without_get(
    json_only: Running,
) -> None:
    session_id = await json_only.initialize()
    response = await json_only.call(1, "chatty", **{"mcp-session-id": session_id})
    assert response.headers["content-type"] == "application/json"
    assert response.json()["result"]["content"][0]["text"] == "done"


async def test_json_response_mode_sends_handler_messages_to_the_get_stream(
    json_only: Running,
) -> None:
    session_id = await json_only.initialize()
    headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
    async with json_only.client.stream("GET", json_only.mcp, headers=headers) as stream:
        response = await json_only.call(1, "chatty", **{"mcp-session-id": session_id})
        assert response.headers["content-type"] == "application/json"
        parser = SSEParser()
        async with asyncio.timeout(STEP_DEADLINE_SECONDS):
            async for chunk in stream.aiter_bytes():
                found = [event for event in parser.feed(chunk) if event.data]
                if found:
                    break
    assert json.loads(found[0].data)["params"]["data"] == "x"


async def test_json_response_mode_sampling_without_get_stream_is_an_error_result(
    json_only: Running,
) -> None:
    session_id = await json_only.initialize({"sampling": {}})
    async with asyncio.timeout(STEP_DEADLINE_SECONDS / 2):
        response = await json_only.call(1, "ask", **{"mcp-session-id": session_id})
    assert response.json()["result"]["isError"] is True


async def test_json_response_mode_sampling_rides_the_get_stream(json_only: Running) -> None:
    session_id = await json_only.initialize({"sampling": {}})
    headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
    async with json_only.client.stream("GET", json_only.mcp, headers=headers) as stream:
        call = asyncio.create_task(json_only.call(1, "ask", **{"mcp-session-id": session_id}))
        parser = SSEParser()
        async with asyncio.timeout(STEP_DEADLINE_SECONDS):
            async for chunk in stream.aiter_bytes():
                requests = [event for event in parser.feed(chunk) if event.data]
                if requests:
                    break
        request = json.loads(requests[0].data)
        assert request["method"] == "sampling/createMessage"
        answered = await json_only.post(
            {
                "jsonrpc": "2.0",
                "id": request["id"],
                "result": {
                    "role": "assistant",
                    "content": {"type": "text", "text": "hello"},
                    "model": "m",
                },
            },
            **{"mcp-session-id": session_id},
        )
        assert answered.status_code == 202
        response = await call
    assert response.json()["result"]["content"][0]["text"] == "model said hello"


# ---------------------------------------------------------------------- idle reaping


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clocked() -> AsyncIterator[tuple[Running, FakeClock]]:
    gate = Gate()
    server = build_server(gate)
    clock = FakeClock()
    app = create_app(server)
    # A sweep that never fires by itself: the test calls close_idle_sessions with its clock.
    app.transport = StreamableHTTPTransport(server, session_idle_timeout_seconds=60.0, clock=clock)
    async with serve(app, gate) as running:
        yield running, clock


async def test_idle_session_is_closed_and_then_unknown(
    clocked: tuple[Running, FakeClock],
) -> None:
    running, clock = clocked
    session_id = await running.initialize()
    transport = running.app.transport
    clock.now += 59.0
    assert transport.close_idle_sessions(clock.now) == 0
    clock.now += 1.0
    assert transport.close_idle_sessions(clock.now) == 1
    response = await running.call(1, "echo", **{"mcp-session-id": session_id})
    assert response.status_code == 404


async def test_activity_postpones_idle_close(clocked: tuple[Running, FakeClock]) -> None:
    running, clock = clocked
    session_id = await running.initialize()
    clock.now += 50.0
    await running.call(1, "echo", **{"mcp-session-id": session_id})
    clock.now += 50.0
    assert running.app.transport.close_idle_sessions(clock.now) == 0


async def test_session_is_not_closed_while_a_request_is_in_flight(
    clocked: tuple[Running, FakeClock],
) -> None:
    running, clock = clocked
    session_id = await running.initialize()
    call = asyncio.create_task(running.call(1, "gated", **{"mcp-session-id": session_id}))
    async with asyncio.timeout(STEP_DEADLINE_SECONDS):
        await running.gate.waiting.wait()
    clock.now += 10_000.0
    assert running.app.transport.close_idle_sessions(clock.now) == 0
    running.gate.release.set()
    response = await call
    assert response.json()["result"]["content"][0]["text"] == "released"
    clock.now += 60.0
    assert running.app.transport.close_idle_sessions(clock.now) == 1


async def test_session_is_not_closed_while_its_get_stream_is_open(
    clocked: tuple[Running, FakeClock],
) -> None:
    running, clock = clocked
    session_id = await running.initialize()
    transport = running.app.transport
    headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
    async with running.client.stream("GET", running.mcp, headers=headers) as stream:
        assert stream.status_code == 200
        clock.now += 10_000.0
        assert transport.close_idle_sessions(clock.now) == 0
    # Once the server has seen the stream close, the clock starts again from then.
    await wait_until(
        lambda: transport.close_idle_sessions(clock.now + 60.0) == 1,
        timeout_seconds=STEP_DEADLINE_SECONDS,
    )


async def test_idle_sweep_runs_by_itself_with_a_short_timeout() -> None:
    gate = Gate()
    app = create_app(build_server(gate), session_idle_timeout_seconds=0.1)
    async with serve(app, gate) as running:
        session_id = await running.initialize()
        await wait_until(
            lambda: running.app.transport.session_count == 0,
            timeout_seconds=STEP_DEADLINE_SECONDS,
        )
        response = await running.call(1, "echo", **{"mcp-session-id": session_id})
        assert response.status_code == 404


async def test_no_idle_timeout_keeps_sessions() -> None:
    gate = Gate()
    server = build_server(gate)
    app = create_app(server, session_idle_timeout_seconds=None)
    async with serve(app, gate) as running:
        await running.initialize()
        assert running.app.transport.close_idle_sessions(time.monotonic() + 1e9) == 0
        assert running.app.transport.session_count == 1
