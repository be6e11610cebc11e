"""MCP 2026-07-28 through the ``ssemcp bridge`` command, with real peers on both sides: the
official Python ``Client`` (``mcp==2.3.0``, auto mode) in front of
``@modelcontextprotocol/server-everything`` (npm, pinned in ``tests/bridge/node``), and the
v2 TypeScript client (``@modelcontextprotocol/client``, pinned in ``tests/interop/node``, auto
mode) in front of an ssemcp stdio server that elicits (``bridged_fixture.py``).

Owns showing that a 2025-only stdio server becomes usable by 2026-07-28 clients through the
bridge as users run it: discovery, listing, calls, and questions by multi round-trip requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from pathlib import Path
from typing import Any, Final

import mcp_types as types
import pytest
from bridge_support import bridge_process
from mcp import Client

pytestmark = pytest.mark.interop

MODERN: Final = "2026-07-28"
NODE: Final = shutil.which("node")
EVERYTHING: Final = (
    Path(__file__).parent
    / "node/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
)
CLIENT2_DIRECTORY: Final = Path(__file__).parents[1] / "interop/node"
CLIENT2: Final = CLIENT2_DIRECTORY / "client2.mjs"
SCENARIO_TIMEOUT_SECONDS: Final = 90.0


def needs_node(*paths: Path) -> str:
    if NODE is None or not all(path.exists() for path in paths):
        pytest.skip("node or a pinned npm peer is missing (./scripts/test installs them)")
    return NODE


def texts(result: types.CallToolResult) -> list[str]:
    return [block.text for block in result.content if isinstance(block, types.TextContent)]


async def test_python_client_auto_mode_through_the_bridge_to_server_everything(
    tmp_path: Path,
) -> None:
    node = needs_node(EVERYTHING)
    asked: list[str] = []

    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append("elicitation")
        return types.ElicitResult(action="decline")

    async def sample(context: Any, params: types.CreateMessageRequestParams) -> Any:
        asked.append("sampling")
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(text="forty-two"), model="fake"
        )

    async with (
        bridge_process(command=(node, str(EVERYTHING), "stdio"), log_dir=tmp_path) as running,
        Client(
            running.url + "/mcp", elicitation_callback=elicit, sampling_callback=sample
        ) as client,
    ):
        assert client.protocol_version == MODERN
        assert client.server_info is not None
        server_name = client.server_info.name
        listing = await client.list_tools()
        echoed = await client.call_tool("echo", {"message": "hi"})
        summed = await client.call_tool("get-sum", {"a": 2, "b": 3})
        elicited = await client.call_tool("trigger-elicitation-request", {})
        sampled = await client.call_tool("trigger-sampling-request", {"prompt": "answer?"})
    assert server_name.startswith("mcp-servers/everything")
    assert {"echo", "get-sum", "trigger-elicitation-request"} <= {t.name for t in listing.tools}
    assert texts(echoed) == ["Echo: hi"]
    assert texts(summed) == ["The sum of 2 and 3 is 5."]
    assert any("declined" in text for text in texts(elicited))
    assert any("forty-two" in text for text in texts(sampled))
    assert asked == ["elicitation", "sampling"]


async def run_client2(command: dict[str, Any]) -> dict[str, Any]:
    """Run ``node client2.mjs COMMAND`` (tests/interop/node); the record it printed."""
    node = needs_node(CLIENT2_DIRECTORY / "node_modules/@modelcontextprotocol/client")
    process = await asyncio.create_subprocess_exec(
        node,
        str(CLIENT2),
        json.dumps(command),
        cwd=CLIENT2_DIRECTORY,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(SCENARIO_TIMEOUT_SECONDS):
            stdout_bytes, stderr_bytes = await process.communicate()
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    stdout = stdout_bytes.decode(errors="replace")
    lines = stdout.splitlines()
    assert process.returncode == 0 and len(lines) == 1, (
        f"node exited {process.returncode}\nstdout:\n{stdout}\nstderr:\n"
        f"{stderr_bytes.decode(errors='replace')}"
    )
    record: dict[str, Any] = json.loads(lines[0])
    assert record["ok"] is True, record
    return record


async def test_typescript_client_auto_mode_through_the_bridge_with_an_elicitation(
    tmp_path: Path,
) -> None:
    async with bridge_process(log_dir=tmp_path) as running:
        record = await run_client2(
            {
                "transport": "http",
                "url": running.url + "/mcp",
                "versionNegotiation": {"mode": "auto"},
                "elicitation": {"action": "accept", "content": {"name": "Ada"}},
                "steps": [
                    {"name": "tools", "method": "listTools"},
                    {
                        "name": "echo",
                        "method": "callTool",
                        "params": {"name": "echo", "arguments": {"text": "hi"}},
                    },
                    {
                        "name": "elicit",
                        "method": "callTool",
                        "params": {"name": "elicit", "arguments": {"message": "Your name?"}},
                    },
                ],
            }
        )
    assert record["era"] == "modern"
    assert record["protocolVersion"] == MODERN
    assert record["serverInfo"]["name"] == "bridge-fixture"
    assert record["sessionId"] is None
    results = record["results"]
    assert "elicit" in {tool["name"] for tool in results["tools"]["tools"]}
    assert results["echo"]["content"] == [{"type": "text", "text": "hi"}]
    assert results["elicit"]["content"] == [{"type": "text", "text": "accept: {'name': 'Ada'}"}]
    [question] = record["elicitationRequests"]
    assert question["message"] == "Your name?"
    calls = [r for r in record["httpRequests"] if r["mcpMethod"] == "tools/call"]
    # echo in one POST; elicit in two: input_required, then the retry with the answer.
    assert [r["inputResponses"] is not None for r in calls] == [False, False, True]
    assert {r["status"] for r in record["httpRequests"]} == {200}
