"""``ssemcp bridge`` is protected as ``serve`` is: a real bridge process trusting a real
authorization server (oidc-provider) refuses a request without a token with the RFC 9728
challenge, serves one with a JWT the issuer made for it, and its child never sees the token."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Final

import httpx
import pytest
from authorization_server import INTROSPECTOR_SECRET, RS256_CLIENT, AuthorizationServer

sys.path.insert(0, str(Path(__file__).parents[1] / "bridge"))

from bridge_support import bridge_process

MCP_HEADERS: Final = {"accept": "application/json, text/event-stream"}
INITIALIZE: Final = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "bridge-oauth-test", "version": "1"},
    },
}


@pytest.mark.interop
async def test_a_bridge_takes_the_issuers_tokens_and_keeps_them_from_its_child(
    authorization_server: AuthorizationServer, tmp_path: Path
) -> None:
    environ = {**os.environ, "SSEMCP_AUTH_CLIENT_SECRET": INTROSPECTOR_SECRET}
    async with (
        bridge_process(
            "--auth-issuer", authorization_server.issuer, log_dir=tmp_path, environ=environ
        ) as bridge,
        httpx.AsyncClient(base_url=bridge.url, headers=MCP_HEADERS, timeout=30) as client,
    ):
        resource = bridge.url + "/mcp"
        refused = await client.post("/mcp", json=INITIALIZE)
        metadata = await client.get("/.well-known/oauth-protected-resource/mcp")
        token = await authorization_server.token(RS256_CLIENT, resource)
        authorized = {"authorization": f"Bearer {token}"}
        opened = await client.post("/mcp", json=INITIALIZE, headers=authorized)
        assert opened.status_code == 200, opened.text
        session = {**authorized, "mcp-session-id": opened.headers["mcp-session-id"]}
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "environment", "arguments": {}},
        }
        seen = await client.post("/mcp", json=call, headers=session)
        log = bridge.log()
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith(
        f'Bearer resource_metadata="{bridge.url}/.well-known/oauth-protected-resource/mcp"'
    )
    assert metadata.json()["resource"] == resource
    assert metadata.json()["authorization_servers"] == [authorization_server.issuer]
    environment = json.loads(seen.json()["result"]["content"][0]["text"])
    assert environment["SSEMCP_AUTH_CLIENT_SECRET"] is None
    assert token not in log
