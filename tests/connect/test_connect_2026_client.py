"""A local client that speaks 2026-07-28 through ``ssemcp connect``: the official Python SDK's
``Client`` (pinned ``mcp==2.3.0``, its default ``auto`` mode) over stdio opens with
``server/discover``, and connect relays its requests as they are. A client on stdio has no
HTTP headers to send, so connect adds the ``Mcp-Param-*`` headers of a tool's ``x-mcp-header``
arguments (server/tools: a client "MUST" mirror them; the server refuses a call without them,
-32020), learnt from the tools/list results it relays, or from a list of its own for a tool
called before any list named it (or named it yet).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from connect_remote import build_server
from live_server import LiveServer, live_app
from mcp import Client, StdioServerParameters
from test_connect_faults import start_connect

from ssemcp.client._protocol import modern_params
from ssemcp.http import create_app

pytestmark = pytest.mark.interop

MODERN = "2026-07-28"
CLIENT_INFO = {"name": "raw-2026-client", "version": "1"}


@dataclass
class MethodRecorder:
    """An ASGI app that notes the ``Mcp-Method`` header of each POST to ``app``."""

    app: Any
    methods: list[str] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.methods.append(dict(scope["headers"]).get(b"mcp-method", b"").decode())
        await self.app(scope, receive, send)


@asynccontextmanager
async def remote() -> AsyncIterator[tuple[LiveServer, MethodRecorder]]:
    recorder = MethodRecorder(create_app(build_server()))
    async with live_app(recorder) as live:
        yield live, recorder


def call(request_id: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A 2026-07-28 tools/call, its _meta as a client on stdio sends it (no headers)."""
    params = modern_params({"name": name, "arguments": arguments}, {}, CLIENT_INFO)
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def text_of(answer: dict[str, Any]) -> str:
    assert "result" in answer, answer
    [block] = answer["result"]["content"]
    return str(block["text"])


def only_text(result: types.CallToolResult) -> str:
    [block] = result.content
    assert isinstance(block, types.TextContent), block
    return block.text


async def test_the_official_client_calls_a_tool_with_marked_arguments() -> None:
    async with remote() as (live, _):
        parameters = StdioServerParameters(
            command=sys.executable, args=["-m", "ssemcp", "connect", live.mcp_url]
        )
        async with Client(parameters) as client:
            assert client.protocol_version == MODERN
            plain = await client.call_tool("forecast", {"region": "Paris", "days": 3})
            # Not visible ASCII: the header carries the base64 sentinel.
            accented = await client.call_tool("forecast", {"region": "Zürich"})
    assert not plain.is_error and only_text(plain) == "3 days in Paris"
    assert not accented.is_error and only_text(accented) == "1 days in Zürich"


async def test_a_call_before_any_list_gets_its_headers_from_a_list_of_connects_own(
    tmp_path: Path,
) -> None:
    async with remote() as (live, recorder):
        connect = await start_connect(tmp_path / "stderr.log", live.mcp_url)
        await connect.send(call(1, "forecast", {"region": "Paris", "days": 3}))
        assert text_of(await connect.receive_answer(1)) == "3 days in Paris"
        await connect.send(call(2, "forecast", {"region": " Oslo", "days": 0}))
        assert text_of(await connect.receive_answer(2)) == "0 days in  Oslo"
        connect.process.kill()
        await connect.process.wait()
    # One list of connect's own, for the first call; the second used what it learnt.
    assert recorder.methods == ["tools/list", "tools/call", "tools/call"]


async def test_a_tool_the_last_list_did_not_name_is_listed_for_again(tmp_path: Path) -> None:
    async with remote() as (live, recorder):
        connect = await start_connect(tmp_path / "stderr.log", live.mcp_url)
        await connect.send(call(1, "forecast", {"region": "Rome"}))
        assert text_of(await connect.receive_answer(1)) == "1 days in Rome"
        await connect.send(call(2, "add_shout", {}))
        assert text_of(await connect.receive_answer(2)) == "added"
        await connect.send(call(3, "shout", {"word": "naïve"}))
        assert text_of(await connect.receive_answer(3)) == "NAÏVE"
        connect.process.kill()
        await connect.process.wait()
    assert recorder.methods == [
        "tools/list",
        "tools/call",
        "tools/call",
        "tools/list",  # shout was not in the first
        "tools/call",
    ]
