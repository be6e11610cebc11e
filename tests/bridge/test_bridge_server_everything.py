"""The official reference server, ``@modelcontextprotocol/server-everything`` (npm, pinned in
``tests/bridge/node``), bridged by ``ssemcp bridge`` and driven by the official Python SDK over
Streamable HTTP and legacy SSE.

Owns showing the bridge in front of a server it did not write (TypeScript SDK 1.x over stdio):
tools, progress, sampling, elicitation, resource subscriptions, and the environment the
child sees. Skipped when Node or the pinned package is missing (``./scripts/test`` installs it).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Final

import mcp_types as types
import pytest
from bridge_support import TRANSPORTS, bridged, call_text, sdk_session
from callbacks import CALLBACK_DEADLINE_SECONDS, Received
from live_server import wait_until
from mcp import MCPDeprecationWarning
from mcp.client.session import ClientRequestContext

pytestmark = pytest.mark.interop

NODE: Final = shutil.which("node")
EVERYTHING: Final = (
    Path(__file__).parent
    / "node/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
)
if NODE is None or not EVERYTHING.exists():
    pytest.skip(
        "node or the pinned server-everything is missing (./scripts/test installs it)",
        allow_module_level=True,
    )
COMMAND: Final = (str(NODE), str(EVERYTHING), "stdio")
# What server-everything serves for any static resource URI it lists.
RESOURCE: Final = "demo://resource/static/document/architecture.md"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_server_everything_tools_through_the_bridge(transport: str) -> None:
    async with bridged(COMMAND) as running, sdk_session(running.url, transport) as session:
        result = session.initialize_result
        listing = await session.list_tools()
        echoed = await call_text(session, "echo", {"message": "hi"})
        summed = await call_text(session, "get-sum", {"a": 2, "b": 3})
    assert result is not None
    assert result.server_info.name.startswith("mcp-servers/everything")
    names = {tool.name for tool in listing.tools}
    assert {"echo", "get-sum", "trigger-long-running-operation"} <= names
    assert echoed == "Echo: hi"
    assert summed == "The sum of 2 and 3 is 5."


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_server_everything_progress_reaches_the_client(transport: str) -> None:
    received: Received[float] = Received()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.add(progress)

    async with bridged(COMMAND) as running, sdk_session(running.url, transport) as session:
        result = await session.call_tool(
            "trigger-long-running-operation",
            {"duration": 0.3, "steps": 3},
            progress_callback=on_progress,
        )
        seen = await received.wait_for(3)
    assert not result.is_error
    assert seen == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_server_everything_sampling_and_elicitation_pass_through(transport: str) -> None:
    async def sample(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(text="forty-two"), model="fake"
        )

    async def elicit(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        return types.ElicitResult(action="decline")

    async with (
        bridged(COMMAND) as running,
        sdk_session(
            running.url, transport, sampling_callback=sample, elicitation_callback=elicit
        ) as session,
    ):
        sampled = await session.call_tool("trigger-sampling-request", {"prompt": "answer?"})
        elicited = await session.call_tool("trigger-elicitation-request", {})
    assert not sampled.is_error
    [sampled_block] = sampled.content
    assert isinstance(sampled_block, types.TextContent)
    assert "forty-two" in sampled_block.text
    texts = [block.text for block in elicited.content if isinstance(block, types.TextContent)]
    assert any("declined" in text for text in texts)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_server_everything_resource_updates_reach_the_subscriber(transport: str) -> None:
    received: Received[object] = Received()

    async def on_message(message: object) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            received.add(message)

    async with (
        bridged(COMMAND) as running,
        sdk_session(running.url, transport, message_handler=on_message) as session,
    ):
        with pytest.warns(MCPDeprecationWarning):
            await session.subscribe_resource(RESOURCE)

        # Turning simulated updates on sends one at once; off and on again until one lands
        # (over Streamable HTTP it rides the GET stream, which the SDK opens on its own time).
        async def updated() -> bool:
            started = await call_text(session, "toggle-subscriber-updates")
            if received.items:
                return True
            if started.startswith("Started"):
                await call_text(session, "toggle-subscriber-updates")
            return False

        await wait_until(updated, timeout_seconds=CALLBACK_DEADLINE_SECONDS)
    update = received.items[0]
    assert isinstance(update, types.ResourceUpdatedNotification)
    assert str(update.params.uri) == RESOURCE


async def test_server_everything_never_sees_the_bridges_token() -> None:
    environ = {**os.environ, "SSEMCP_TOKEN": "secret-token", "BRIDGE_TEST_MARKER": "here"}
    async with (
        bridged(COMMAND, environ=environ) as running,
        sdk_session(running.url, "streamable-http") as session,
    ):
        seen = json.loads(await call_text(session, "get-env"))
    assert "SSEMCP_TOKEN" not in seen
    assert seen["BRIDGE_TEST_MARKER"] == "here"
