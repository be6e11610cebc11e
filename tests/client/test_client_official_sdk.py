"""``Client`` against a server built with the official Python SDK (``mcp==2.3.0``'s
``MCPServer``) over stdio, Streamable HTTP and SSE: 2026-07-28 where it offers it, a 2025
session when asked for one, the 2024-11-05 transport found by ``auto``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from live_server import HOST

from ssemcp.client import Client, LogMessage, Progress

pytestmark = pytest.mark.interop

SERVER = Path(__file__).with_name("mcp_sdk_server.py")
# The SDK warns on stderr that logging is deprecated in 2026-07-28; the tests use it anyway.
PYTHON = [sys.executable, "-W", "ignore"]


async def exercise(client: Client) -> None:
    assert client.server_info["name"] == "official-sdk-fixture"
    assert [tool["name"] for tool in await client.list_tools()] == ["add", "steps"]
    result = await client.call_tool("add", {"a": 20, "b": 22})
    assert result["structuredContent"] == {"result": 42}
    progress: list[Progress] = []
    done = await client.call_tool("steps", {"count": 2}, on_progress=progress.append)
    assert done["content"][0]["text"] == "2 steps"  # type: ignore[index,call-overload]
    assert [(update.progress, update.message) for update in progress] == [
        (1.0, "step 1"), (2.0, "step 2"),
    ]  # fmt: skip
    read = await client.read_resource("sdk://greeting")
    assert read["contents"][0]["text"] == "hello from the official SDK"  # type: ignore[index,call-overload]
    prompt = await client.get_prompt("review", {"language": "go"})
    assert "Review this go" in str(prompt["messages"])


@pytest.mark.parametrize(
    ("version", "expected"), [(None, "2026-07-28"), ("2025-11-25", "2025-11-25")]
)
async def test_official_sdk_server_over_stdio(version: str | None, expected: str) -> None:
    logs: list[LogMessage] = []
    command = [*PYTHON, str(SERVER), "stdio"]
    async with Client(
        command, protocol_version=version, on_log=logs.append, timeout_seconds=30
    ) as client:
        assert client.protocol_version == expected
        await exercise(client)
    assert [log.data for log in logs] == ["did step 1", "did step 2"]


@contextlib.asynccontextmanager
async def sdk_server(transport: str) -> AsyncIterator[str]:
    # Bound and listening before the child starts: connections wait in its backlog until the
    # child accepts them, and no other process can take the port.
    with socket.create_server((HOST, 0)) as listener:
        port = listener.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            *PYTHON,
            str(SERVER),
            transport,
            str(listener.fileno()),
            pass_fds=(listener.fileno(),),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    try:
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


@pytest.mark.parametrize(
    ("options", "expected"),
    [({}, "2026-07-28"), ({"transport": "streamable"}, "2025-11-25")],
)
async def test_official_sdk_server_over_streamable_http(
    options: dict[str, Any], expected: str
) -> None:
    async with (
        sdk_server("streamable-http") as url,
        Client(url + "/mcp", timeout_seconds=30, **options) as client,
    ):
        assert (client.transport_name, client.protocol_version) == ("streamable", expected)
        await exercise(client)


async def test_official_sdk_server_over_sse_found_by_auto() -> None:
    async with sdk_server("sse") as url, Client(url + "/sse", timeout_seconds=30) as client:
        assert client.transport_name == "sse"
        await exercise(client)
