"""The official Python SDK's ``Client`` (pinned ``mcp==2.3.0``) in its default ``auto`` mode
negotiates MCP 2026-07-28 with ssemcp in one round trip, over HTTP and over stdio; in
``legacy`` mode it still gets a 2025-11-25 session.

``auto`` sends ``server/discover`` first and falls back to ``initialize`` on any error, so a
server that answered the probe with an error would still work, one wasted round trip later:
the HTTP tests record every exchange to show there is none.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import mcp_types as types
import pytest
from live_server import live_app
from mcp import Client, StdioServerParameters

from ssemcp import Context, Server
from ssemcp.asgi import ASGIMessage, ASGIReceive, ASGISend, Scope
from ssemcp.http import create_app

pytestmark = pytest.mark.interop

MODERN: Final = "2026-07-28"


def build_server() -> Server:
    server = Server("sdk-2026-probe", "1.0.0")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool()
    async def whoami(ctx: Context) -> str:
        """The revision and client the request was served under."""
        return f"{ctx.protocol_version} {ctx.client_info.get('name')}"

    @server.tool()
    async def greet(ctx: Context) -> str:
        """Ask the user's name, then greet them."""
        answer = await ctx.elicit(
            "Your name?",
            {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
        )
        sampled = await ctx.sample("Say something nice", max_tokens=20)
        name = answer.content["name"] if answer.content else "nobody"
        return f"hello {name}, {sampled.text}"

    @server.resource("note://greeting", mime_type="text/plain")
    def greeting() -> str:
        """A greeting."""
        return "hello"

    return server


class Recorder:
    """An ASGI app in front of ssemcp's, noting each HTTP exchange: method, its
    ``Mcp-Method`` header and the status answered."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.exchanges: list[tuple[str, str | None, int]] = []

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        mcp_method = headers.get(b"mcp-method")

        async def noting_send(message: ASGIMessage) -> None:
            if message["type"] == "http.response.start":
                self.exchanges.append(
                    (
                        scope["method"],
                        mcp_method.decode() if mcp_method is not None else None,
                        message["status"],
                    )
                )
            await send(message)

        await self.app(scope, receive, noting_send)


@asynccontextmanager
async def served() -> AsyncIterator[tuple[str, Recorder]]:
    recorder = Recorder(create_app(build_server()))
    async with live_app(recorder) as live:
        yield live.mcp_url, recorder


async def test_auto_mode_negotiates_2026_07_28_over_http_in_one_round_trip() -> None:
    async with served() as (url, recorder), Client(url) as client:
        assert client.protocol_version == MODERN
        assert client.server_info is not None
        assert client.server_info.name == "sdk-2026-probe"
        probe = list(recorder.exchanges)
        tools = await client.list_tools()
        called = await client.call_tool("echo", {"text": "hi"})
        whoami = await client.call_tool("whoami", {})
        read = await client.read_resource("note://greeting")
    # The probe was answered, not refused: no initialize followed it, no 4xx anywhere.
    assert probe == [("POST", "server/discover", 200)]
    assert all(status < 400 for _, _, status in recorder.exchanges), recorder.exchanges
    assert "initialize" not in {method for _, method, _ in recorder.exchanges}
    assert {tool.name for tool in tools.tools} == {"echo", "whoami", "greet"}
    assert called.content == [types.TextContent(type="text", text="hi")]
    assert isinstance(whoami.content[0], types.TextContent)
    assert whoami.content[0].text.startswith(MODERN + " ")
    assert isinstance(read.contents[0], types.TextResourceContents)
    assert read.contents[0].text == "hello"


async def test_the_sdk_answers_multi_round_trip_questions_through_its_callbacks() -> None:
    asked: list[str] = []

    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"name": "Ada"})

    async def sample(
        context: Any, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        asked.append("sampling")
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(text="nice day"), model="fake"
        )

    async with (
        served() as (url, recorder),
        Client(url, elicitation_callback=elicit, sampling_callback=sample) as client,
    ):
        assert client.protocol_version == MODERN
        result = await client.call_tool("greet", {})
    assert result.content == [types.TextContent(type="text", text="hello Ada, nice day")]
    # Three rounds: the name, then the sampling, then the answer; each a plain POST.
    calls = [exchange for exchange in recorder.exchanges if exchange[1] == "tools/call"]
    assert calls == [("POST", "tools/call", 200)] * 3
    assert asked == ["Your name?", "sampling"]


async def test_legacy_mode_still_gets_a_2025_11_25_session() -> None:
    async with served() as (url, recorder), Client(url, mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        called = await client.call_tool("echo", {"text": "old"})
    assert called.content == [types.TextContent(type="text", text="old")]
    assert recorder.exchanges[0][:2] == ("POST", None)  # initialize carries no Mcp-Method


async def test_auto_mode_negotiates_2026_07_28_over_stdio(tmp_path: Any) -> None:
    module = tmp_path / "probe_server.py"
    module.write_text(
        "from ssemcp import Server\n"
        "server = Server('stdio-2026-probe', '1.0.0')\n"
        "@server.tool()\n"
        "async def echo(text: str) -> str:\n"
        "    '''Return the text.'''\n"
        "    return text\n"
    )
    parameters = StdioServerParameters(
        command=sys.executable, args=["-m", "ssemcp", "stdio", f"{module}:server"]
    )
    async with Client(parameters) as client:
        assert client.protocol_version == MODERN
        called = await client.call_tool("echo", {"text": "piped"})
    assert called.content == [types.TextContent(type="text", text="piped")]
