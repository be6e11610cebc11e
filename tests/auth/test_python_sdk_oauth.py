"""The official MCP Python SDK (pinned ``mcp==2.3.0``) authorizes itself against ssemcp.

Its ``ClientCredentialsOAuthProvider`` meets our 401, follows ``resource_metadata`` to the RFC
9728 document, discovers oidc-provider from ``authorization_servers``, gets a token for our
resource (RFC 8707) and calls a tool, over Streamable HTTP and legacy SSE. Asking first for
``mcp:read`` only, its call of a tool that needs ``mcp:admin`` meets our 403
``insufficient_scope``, and it steps up to a token with both, then succeeds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import httpx2
import mcp_types as types
import pytest
from authorization_server import CLIENT_SECRET, RS256_CLIENT, AuthorizationServer
from live_server import LiveServer, live_app
from mcp import ClientSession
from mcp.client.auth import TokenStorage
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from test_oauth import build_server, settings

from ssemcp.http import create_app

pytestmark = pytest.mark.interop

REQUEST_TIMEOUT_SECONDS: Final = 30.0


class MemoryTokenStorage(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@asynccontextmanager
async def sdk_session(
    live: LiveServer, authorization_server: AuthorizationServer, transport: str
) -> AsyncIterator[ClientSession]:
    provider = ClientCredentialsOAuthProvider(
        server_url=live.mcp_url,
        storage=MemoryTokenStorage(),
        client_id=RS256_CLIENT,
        client_secret=CLIENT_SECRET,
        scope="mcp:read",
        issuer=authorization_server.issuer,
    )
    # The SDK leaves a client it is handed open: ours is closed here.
    http_client = httpx2.AsyncClient(auth=provider, timeout=httpx2.Timeout(REQUEST_TIMEOUT_SECONDS))
    if transport == "streamable-http":
        streams = streamable_http_client(live.mcp_url, http_client=http_client)
    else:
        streams = sse_client(
            live.url + "/sse", auth=provider, sse_read_timeout=REQUEST_TIMEOUT_SECONDS
        )
    async with (
        http_client,
        streams as (read_stream, write_stream),
        ClientSession(
            read_stream, write_stream, read_timeout_seconds=REQUEST_TIMEOUT_SECONDS
        ) as session,
    ):
        await session.initialize()
        yield session


@pytest.fixture
async def live(authorization_server: AuthorizationServer) -> AsyncIterator[LiveServer]:
    # Every request needs mcp:read: our 401 then names that scope, and the SDK asks for it
    # alone (spec 2025-11-25 basic/authorization, "Scope Selection Strategy"); mcp:admin
    # comes with a step-up.
    app = create_app(
        build_server(), auth=settings(authorization_server, required_scopes=("mcp:read",))
    )
    async with live_app(app) as server:
        yield server


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent), block
    return block.text


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
async def test_the_sdk_discovers_the_issuer_from_our_401_and_calls_a_tool(
    live: LiveServer, authorization_server: AuthorizationServer, transport: str
) -> None:
    async with sdk_session(live, authorization_server, transport) as session:
        tools = await session.list_tools()
        result = await session.call_tool("whoami", {})
    assert [tool.name for tool in tools.tools] == ["whoami"]
    assert f'"subject": "{RS256_CLIENT}"' in text_of(result)
    assert '"scopes": ["mcp:read"]' in text_of(result)


async def test_the_sdk_steps_up_its_scopes_after_our_403(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    before = (await authorization_server.counts())["token"]
    async with sdk_session(live, authorization_server, "streamable-http") as session:
        result = await session.call_tool("administer", {})
    assert text_of(result) == "administered"
    # One token for mcp:read, then one for mcp:read and mcp:admin after the 403.
    assert (await authorization_server.counts())["token"] - before == 2
