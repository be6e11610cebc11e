"""``Client`` against the reference server ``@modelcontextprotocol/server-everything`` (npm,
pinned in tests/client/node), over stdio, Streamable HTTP and the 2024-11-05 SSE transport.
It speaks no 2026-07-28, so ``auto`` falls back: on stdio after ``server/discover`` gets
-32601; over HTTP after the probe's 4xx; to ``GET /sse`` after ``POST /sse`` gets 404."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from live_server import HOST, wait_until

from ssemcp._types import JSONObject
from ssemcp.client import Client, Progress

pytestmark = pytest.mark.interop

NODE_DIRECTORY = Path(__file__).with_name("node")
EVERYTHING = NODE_DIRECTORY / "node_modules/@modelcontextprotocol/server-everything/dist/index.js"
LOOPBACK = NODE_DIRECTORY / "loopback.cjs"
# The server registers its elicitation, sampling and roots tools after initialize, when it
# knows the client's capabilities (announced by notifications/tools/list_changed).
CONDITIONAL_TOOLS = ("trigger-elicitation-request", "trigger-sampling-request", "get-roots-list")


def node_command(mode: str) -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not EVERYTHING.is_file():
        pytest.fail(f"{EVERYTHING} is missing: run ./scripts/test, which installs it")
    return [node, "--require", str(LOOPBACK), str(EVERYTHING), mode]


async def accept(params: JSONObject) -> JSONObject:
    return {"action": "accept", "content": {"name": "Ada", "check": True, "integer": 3}}


async def sample(params: JSONObject) -> JSONObject:
    return {
        "role": "assistant",
        "content": {"type": "text", "text": "sampled answer"},
        "model": "test-model",
        "stopReason": "endTurn",
    }


async def roots() -> list[JSONObject]:
    return [{"uri": "file:///work/project", "name": "project"}]


CALLBACKS: dict[str, Any] = {"on_elicitation": accept, "on_sampling": sample, "on_roots": roots}


def text_of(result: JSONObject) -> str:
    content = result.get("content")
    assert isinstance(content, list)
    return "\n".join(str(block.get("text", "")) for block in content if isinstance(block, dict))


async def exercise(client: Client) -> None:
    """What every transport must carry: lists, calls, progress, the server's questions,
    reads and prompts."""
    assert client.server_info["name"].startswith("mcp-servers/everything")  # type: ignore[union-attr]

    async def has_conditional_tools() -> bool:
        names = {tool["name"] for tool in await client.list_tools()}
        return all(name in names for name in CONDITIONAL_TOOLS)

    await wait_until(has_conditional_tools, message="the capability-gated tools never came")
    assert "5" in text_of(await client.call_tool("get-sum", {"a": 2, "b": 3}))
    assert text_of(await client.call_tool("echo", {"message": "hi"})) == "Echo: hi"

    progress: list[Progress] = []
    result = await client.call_tool(
        "trigger-long-running-operation", {"duration": 0.2, "steps": 2}, on_progress=progress.append
    )
    assert "completed" in text_of(result).lower()
    assert [update.progress for update in progress] == [1.0, 2.0]

    assert "Ada" in text_of(await client.call_tool("trigger-elicitation-request"))
    assert "sampled answer" in text_of(
        await client.call_tool("trigger-sampling-request", {"prompt": "hello"})
    )
    assert "file:///work/project" in text_of(await client.call_tool("get-roots-list"))

    read = await client.read_resource("demo://resource/dynamic/text/1")
    assert read["contents"][0]["uri"] == "demo://resource/dynamic/text/1"  # type: ignore[index,call-overload]
    assert len(await client.list_resource_templates()) >= 1
    prompt = await client.get_prompt("simple-prompt")
    assert prompt["messages"]


async def test_everything_server_over_stdio() -> None:
    async with Client(
        node_command("stdio"), stderr="log", timeout_seconds=30, **CALLBACKS
    ) as client:
        assert (client.transport_name, client.protocol_version) == ("stdio", "2025-11-25")
        await exercise(client)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def everything_over_http(mode: str) -> AsyncIterator[str]:
    """The server in ``mode`` on a free 127.0.0.1 port; yields its base URL."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *node_command(mode),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PORT": str(port)},
    )
    try:

        async def listening() -> bool:
            assert process.returncode is None, "the everything server exited"
            try:
                _, writer = await asyncio.open_connection(HOST, port)
            except OSError:
                return False
            writer.close()
            await writer.wait_closed()
            return True

        await wait_until(listening, timeout_seconds=30, message="the server did not listen")
        yield f"http://{HOST}:{port}"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(10):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_everything_server_over_streamable_http() -> None:
    async with (
        everything_over_http("streamableHttp") as url,
        Client(url + "/mcp", timeout_seconds=30, **CALLBACKS) as client,
    ):
        assert (client.transport_name, client.protocol_version) == ("streamable", "2025-11-25")
        await exercise(client)


async def test_everything_server_over_legacy_sse_found_by_auto() -> None:
    async with (
        everything_over_http("sse") as url,
        Client(url + "/sse", timeout_seconds=30, **CALLBACKS) as client,
    ):
        assert client.transport_name == "sse"
        await exercise(client)
