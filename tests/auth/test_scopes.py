"""Scopes on tools, resources and prompts, with tokens from a real authorization server.

A call without an entry's scopes gets HTTP 403 with ``error="insufficient_scope"`` and the
scopes in ``WWW-Authenticate`` (RFC 6750 section 3.1) when the gate can see the call, and a
JSON-RPC error (-32003, ``data.requiredScopes``) when only dispatch can; lists hide what the
caller cannot use unless the server lists all; a session follows its subject's fresh token.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from authorization_server import ES256_CLIENT, AuthorizationServer
from live_server import LiveServer, live_app
from test_oauth import ACCEPT_BOTH, build_server, open_session, result_of, rpc, settings

from ssemcp.asgi import DEFAULT_MAX_BODY_BYTES
from ssemcp.http import create_app

READ_ONLY = "mcp:read"


@pytest.fixture
async def live(authorization_server: AuthorizationServer) -> AsyncIterator[LiveServer]:
    async with live_app(create_app(build_server(), auth=settings(authorization_server))) as server:
        yield server


async def narrow_and_wide(
    authorization_server: AuthorizationServer, live: LiveServer
) -> tuple[str, str]:
    narrow = await authorization_server.token(ES256_CLIENT, live.mcp_url, scope=READ_ONLY)
    wide = await authorization_server.token(ES256_CLIENT, live.mcp_url)
    return narrow, wide


def assert_forbidden(response: httpx.Response, live: LiveServer, what: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{live.url}/.well-known/oauth-protected-resource/mcp", '
        'error="insufficient_scope", scope="mcp:admin"'
    )
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": 2,
        "error": {
            "code": -32003,
            "message": "Forbidden: this request needs the scope(s) mcp:admin",
            "data": {"requiredScopes": ["mcp:admin"]},
        },
    }, what


async def names(
    client: httpx.AsyncClient, live: LiveServer, token: str, method: str, key: str
) -> list[str]:
    session_id = await open_session(client, live.mcp_url, token)
    response = await rpc(client, live.mcp_url, token, session_id, method, {})
    items: list[dict[str, Any]] = result_of(response)["result"][key]
    return sorted(str(item.get("name", item.get("uri"))) for item in items)


async def test_tools_list_hides_tools_whose_scopes_the_caller_lacks(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    narrow, wide = await narrow_and_wide(authorization_server, live)
    async with httpx.AsyncClient() as client:
        assert await names(client, live, narrow, "tools/list", "tools") == ["whoami"]
        assert await names(client, live, wide, "tools/list", "tools") == ["administer", "whoami"]
        assert await names(client, live, narrow, "resources/list", "resources") == []
        assert await names(client, live, narrow, "prompts/list", "prompts") == []
        assert await names(client, live, wide, "prompts/list", "prompts") == ["admin_prompt"]


async def test_list_all_tools_shows_them_anyway(authorization_server: AuthorizationServer) -> None:
    app = create_app(build_server(), auth=settings(authorization_server, list_all_tools=True))
    async with live_app(app) as live, httpx.AsyncClient() as client:
        narrow, _wide = await narrow_and_wide(authorization_server, live)
        listed = await names(client, live, narrow, "tools/list", "tools")
    assert listed == ["administer", "whoami"]


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("tools/call", {"name": "administer"}),
        ("resources/read", {"uri": "secret://plans"}),
        ("prompts/get", {"name": "admin_prompt"}),
    ],
)
async def test_a_call_without_the_scopes_gets_403_insufficient_scope(
    live: LiveServer,
    authorization_server: AuthorizationServer,
    method: str,
    params: dict[str, Any],
) -> None:
    narrow, wide = await narrow_and_wide(authorization_server, live)
    async with httpx.AsyncClient() as client:
        session_id = await open_session(client, live.mcp_url, narrow)
        refused = await rpc(client, live.mcp_url, narrow, session_id, method, params)
        assert_forbidden(refused, live, method)
        session_id = await open_session(client, live.mcp_url, wide)
        allowed = await rpc(client, live.mcp_url, wide, session_id, method, params)
    assert allowed.status_code == 200
    assert "result" in result_of(allowed)


async def post_2026(
    client: httpx.AsyncClient, live: LiveServer, token: str, name: str
) -> httpx.Response:
    """A 2026-07-28 tools/call: no session, its context from _meta and headers."""
    body = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {
            "name": name,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    return await client.post(
        live.mcp_url,
        content=json.dumps(body).encode(),
        headers={
            "accept": ACCEPT_BOTH,
            "content-type": "application/json",
            "authorization": f"Bearer {token}",
            "mcp-protocol-version": "2026-07-28",
            "mcp-method": "tools/call",
            "mcp-name": name,
        },
    )


async def test_a_2026_request_is_served_for_its_tokens_principal_and_scopes(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    narrow, wide = await narrow_and_wide(authorization_server, live)
    async with httpx.AsyncClient() as client:
        refused = await post_2026(client, live, narrow, "administer")
        allowed = await post_2026(client, live, wide, "administer")
        identity = await post_2026(client, live, narrow, "whoami")
    assert_forbidden(refused, live, "2026-07-28 tools/call")
    assert result_of(allowed)["result"]["content"][0]["text"] == "administered"
    who = json.loads(result_of(identity)["result"]["content"][0]["text"])
    assert (who["subject"], who["scopes"]) == (ES256_CLIENT, [READ_ONLY])


async def test_a_chunked_call_is_refused_ahead_with_the_same_403(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    narrow, _wide = await narrow_and_wide(authorization_server, live)
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "administer"}}
    ).encode()

    async def chunked() -> AsyncIterator[bytes]:
        # No Content-Length: the gate reads the chunks ahead, up to the body bound.
        yield body[:20]
        yield body[20:]

    async with httpx.AsyncClient() as client:
        session_id = await open_session(client, live.mcp_url, narrow)
        response = await client.post(
            live.mcp_url,
            content=chunked(),
            headers={
                "accept": ACCEPT_BOTH,
                "content-type": "application/json",
                "authorization": f"Bearer {narrow}",
                "mcp-session-id": session_id,
                "mcp-protocol-version": "2025-11-25",
            },
        )
        allowed = await client.post(
            live.mcp_url,
            content=chunked_call("whoami"),
            headers={
                "accept": ACCEPT_BOTH,
                "content-type": "application/json",
                "authorization": f"Bearer {narrow}",
                "mcp-session-id": session_id,
                "mcp-protocol-version": "2025-11-25",
            },
        )
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_forbidden(response, live, "chunked tools/call")
    assert result_of(allowed)["result"]["content"][0]["type"] == "text"


async def test_a_chunked_body_over_the_bound_is_refused_while_read_ahead(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    narrow, _wide = await narrow_and_wide(authorization_server, live)

    async def oversized() -> AsyncIterator[bytes]:
        yield b'{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"pad": "'
        for _ in range(DEFAULT_MAX_BODY_BYTES // 65_536 + 1):
            yield b"x" * 65_536
        yield b'"}}'

    async with httpx.AsyncClient() as client:
        session_id = await open_session(client, live.mcp_url, narrow)
        response = await client.post(
            live.mcp_url,
            content=oversized(),
            headers={
                "accept": ACCEPT_BOTH,
                "content-type": "application/json",
                "authorization": f"Bearer {narrow}",
                "mcp-session-id": session_id,
                "mcp-protocol-version": "2025-11-25",
            },
        )
    assert response.status_code == 413, response.text


async def test_a_call_in_a_batch_gets_a_jsonrpc_error_naming_the_scopes(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    # 2025-03-26 has batches; the gate reads ahead single calls only, so dispatch refuses.
    narrow, _wide = await narrow_and_wide(authorization_server, live)
    headers = {
        "accept": ACCEPT_BOTH,
        "content-type": "application/json",
        "authorization": f"Bearer {narrow}",
    }
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-03-26",
            "capabilities": {},
            "clientInfo": {"name": "batch", "version": "1"},
        },
    }
    batch = [
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "administer"}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "whoami"}},
    ]
    async with httpx.AsyncClient() as client:
        opened = await client.post(live.mcp_url, json=hello, headers=headers)
        assert opened.status_code == 200, opened.text
        headers["mcp-session-id"] = opened.headers["mcp-session-id"]
        headers["mcp-protocol-version"] = "2025-03-26"
        await client.post(
            live.mcp_url,
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers=headers,
        )
        response = await client.post(live.mcp_url, json=batch, headers=headers)
    assert response.status_code == 200, response.text
    replies = {reply["id"]: reply for reply in batch_replies(response)}
    assert replies[2]["error"] == {
        "code": -32003,
        "message": "Insufficient scope: tool 'administer' needs the scope(s) mcp:admin",
        "data": {"requiredScopes": ["mcp:admin"]},
    }
    assert "result" in replies[3]


def batch_replies(response: httpx.Response) -> list[dict[str, Any]]:
    if response.headers["content-type"].startswith("text/event-stream"):
        replies: list[dict[str, Any]] = []
        for line in response.text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                data = json.loads(line[5:])
                replies.extend(data if isinstance(data, list) else [data])
        return replies
    body = response.json()
    return body if isinstance(body, list) else [body]


async def chunked_call(name: str) -> AsyncIterator[bytes]:
    yield json.dumps(
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": name}}
    ).encode()


async def test_a_session_serves_a_stepped_up_token_of_its_subject(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    narrow, wide = await narrow_and_wide(authorization_server, live)
    async with httpx.AsyncClient() as client:
        session_id = await open_session(client, live.mcp_url, narrow)
        before = await rpc(client, live.mcp_url, narrow, session_id, "tools/list", {})
        after = await rpc(client, live.mcp_url, wide, session_id, "tools/list", {})
        call = await rpc(
            client, live.mcp_url, wide, session_id, "tools/call", {"name": "administer"}
        )
    assert [tool["name"] for tool in result_of(before)["result"]["tools"]] == ["whoami"]
    assert len(result_of(after)["result"]["tools"]) == 2
    assert result_of(call)["result"]["content"][0]["text"] == "administered"


async def test_a_legacy_sse_post_without_the_scopes_gets_403(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    narrow, _wide = await narrow_and_wide(authorization_server, live)
    authorization = {"authorization": f"Bearer {narrow}"}
    async with (
        httpx.AsyncClient(timeout=10.0) as client,
        client.stream("GET", f"{live.url}/sse", headers=authorization) as stream,
    ):
        assert stream.status_code == 200
        endpoint = None
        async for line in stream.aiter_lines():
            if line.startswith("data:"):
                endpoint = line[5:].strip()
                break
        assert endpoint is not None and endpoint.startswith("/messages/")
        response = await client.post(
            live.url + endpoint,
            content=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "tools/call",
                    "params": {"name": "administer"},
                }
            ).encode(),
            headers={"content-type": "application/json", **authorization},
        )
    assert_forbidden(response, live, "legacy tools/call")
