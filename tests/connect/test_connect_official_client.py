"""The official MCP Python SDK (pinned ``mcp==2.3.0``) uses a remote ssemcp server through
``python -m ssemcp connect URL``, which its ``stdio_client`` spawns as a local server.

Owns what must pass through the relay both ways, on Streamable HTTP (2025-11-25) and on the
2024-11-05 SSE transport: the handshake, lists and calls, progress and log notifications,
the server's elicitation, sampling and roots requests answered by the SDK's callbacks, and a
subscription's ``resources/updated``. The server runs in the test's loop on loopback; connect
is a real subprocess. Faults are ``test_connect_faults.py``'s.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import mcp_types as types
import pytest
from callbacks import Received
from connect_remote import COUNTER_URI, Recorder, build_server
from live_server import LiveServer, live_app
from mcp import ClientSession, MCPDeprecationWarning, MCPError, StdioServerParameters, stdio_client
from mcp.client.session import ClientRequestContext

from ssemcp.http import create_app

pytestmark = pytest.mark.interop

REQUEST_TIMEOUT_SECONDS = 30.0
# (--transport, the remote's path, the revision the session speaks: ssemcp serves every
# revision on /sse too)
WIRES = [
    pytest.param("auto", "/mcp", "2025-11-25", id="streamable-auto"),
    pytest.param("streamable", "/mcp", "2025-11-25", id="streamable"),
    pytest.param("sse", "/sse", "2025-11-25", id="legacy-sse"),
]


@pytest.fixture
def connect_stderr(tmp_path: Path) -> Iterator[TextIO]:
    with (tmp_path / "connect-stderr.log").open("w+") as stream:
        yield stream


@pytest.fixture
async def remote() -> AsyncIterator[tuple[LiveServer, Recorder]]:
    recorder = Recorder(create_app(build_server()))
    async with live_app(recorder) as live:
        yield live, recorder


@asynccontextmanager
async def through_connect(
    url: str, *connect_args: str, errlog: TextIO, **session_options: Any
) -> AsyncIterator[ClientSession]:
    """An initialized SDK session with ``python -m ssemcp connect URL *connect_args``."""
    parameters = StdioServerParameters(
        command=sys.executable, args=["-m", "ssemcp", "connect", url, *connect_args]
    )
    async with (
        stdio_client(parameters, errlog=errlog) as (read_stream, write_stream),
        ClientSession(
            read_stream,
            write_stream,
            read_timeout_seconds=REQUEST_TIMEOUT_SECONDS,
            **session_options,
        ) as session,
    ):
        await session.initialize()
        yield session


def only_text(result: types.CallToolResult) -> str:
    assert len(result.content) == 1, result.content
    block = result.content[0]
    assert isinstance(block, types.TextContent), block
    return block.text


@pytest.mark.parametrize(("transport", "path", "version"), WIRES)
async def test_handshake_lists_and_calls_pass_through(
    remote: tuple[LiveServer, Recorder],
    connect_stderr: TextIO,
    transport: str,
    path: str,
    version: str,
) -> None:
    live, _ = remote
    async with through_connect(
        live.url + path, "--transport", transport, errlog=connect_stderr
    ) as session:
        result = session.initialize_result
        assert result is not None
        assert result.server_info.name == "connect-remote"
        assert result.instructions == "the remote"
        assert session.protocol_version == version
        tools = await session.list_tools()
        assert {tool.name for tool in tools.tools} >= {"add", "steps", "greet", "ask_model"}
        assert only_text(await session.call_tool("add", {"a": 2, "b": 40})) == "42"
        # The remote's JSON-RPC error reaches the local client as the remote sent it.
        with pytest.raises(MCPError, match="Unknown tool: no_such_tool"):
            await session.call_tool("no_such_tool", {})
        assert await session.send_ping() == types.EmptyResult()


@pytest.mark.parametrize(("transport", "path", "version"), WIRES)
async def test_progress_and_log_notifications_reach_the_local_client(
    remote: tuple[LiveServer, Recorder],
    connect_stderr: TextIO,
    transport: str,
    path: str,
    version: str,
) -> None:
    live, _ = remote
    progress: Received[tuple[float, float | None, str | None]] = Received()
    logs: Received[types.LoggingMessageNotificationParams] = Received()

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.add((done, total, message))

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.add(params)

    async with through_connect(
        live.url + path, "--transport", transport, errlog=connect_stderr, logging_callback=on_log
    ) as session:
        result = await session.call_tool("steps", {"count": 3}, progress_callback=on_progress)
        assert only_text(result) == "3 steps"
        await progress.wait_for(3)
        await logs.wait_for(3)
    assert progress.items == [(float(step), 3.0, f"step {step}") for step in (1, 2, 3)]
    assert [params.data for params in logs.items] == [f"did step {step}" for step in (1, 2, 3)]


@pytest.mark.parametrize(("transport", "path", "version"), WIRES)
async def test_elicitation_sampling_and_roots_are_answered_by_the_local_client(
    remote: tuple[LiveServer, Recorder],
    connect_stderr: TextIO,
    transport: str,
    path: str,
    version: str,
) -> None:
    live, _ = remote

    async def elicit(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestFormParams)
        assert params.message == "Your name?"
        return types.ElicitResult(action="accept", content={"name": "Ada"})

    async def sample(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(text="Paris"),
            model="fake-model",
            stop_reason="endTurn",
        )

    async def roots(context: ClientRequestContext) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri="file:///tmp/project", name="p")])

    async with through_connect(
        live.url + path,
        "--transport",
        transport,
        errlog=connect_stderr,
        elicitation_callback=elicit,
        sampling_callback=sample,
        list_roots_callback=roots,
    ) as session:
        assert only_text(await session.call_tool("greet", {})) == "hello Ada"
        assert only_text(await session.call_tool("ask_model", {})) == "Paris, 1 roots"


@pytest.mark.parametrize(("transport", "path", "version"), WIRES)
async def test_a_subscription_gets_resources_updated(
    remote: tuple[LiveServer, Recorder],
    connect_stderr: TextIO,
    transport: str,
    path: str,
    version: str,
) -> None:
    live, _ = remote
    received: Received[Any] = Received()

    async def on_message(message: Any) -> None:
        received.add(message)

    async with through_connect(
        live.url + path,
        "--transport",
        transport,
        errlog=connect_stderr,
        message_handler=on_message,
    ) as session:
        # SDK 2.x deprecates resources/subscribe (gone in 2026-07-28); 2025-11-25 has it.
        with pytest.warns(MCPDeprecationWarning):
            await session.subscribe_resource(COUNTER_URI)
        assert only_text(await session.call_tool("bump", {})) == "1"

        def is_update(message: Any) -> bool:
            return isinstance(message, types.ResourceUpdatedNotification)

        updates = await received.wait_for(1, matching=is_update)
        read = await session.read_resource(COUNTER_URI)
    update = next(message for message in updates if is_update(message))
    assert update.params.uri == COUNTER_URI
    assert isinstance(read.contents[0], types.TextResourceContents)
    assert read.contents[0].text == "1"
