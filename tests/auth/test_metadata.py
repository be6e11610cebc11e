"""RFC 9728 protected resource metadata: the documents' exact contents, directly and behind a
trusted proxy's prefix, and the 401 that names them."""

from __future__ import annotations

import httpx
import pytest
from authorization_server import AuthorizationServer
from live_server import live_app
from test_oauth import build_server, initialize, settings

from ssemcp.auth import AuthSettings
from ssemcp.http import create_app


async def test_both_metadata_paths_serve_the_document(
    authorization_server: AuthorizationServer,
) -> None:
    app = create_app(
        build_server(),
        auth=settings(authorization_server, required_scopes=("mcp:read",)),
    )
    async with live_app(app) as live, httpx.AsyncClient() as client:
        documents = [
            await client.get(f"{live.url}/.well-known/oauth-protected-resource/mcp"),
            await client.get(f"{live.url}/.well-known/oauth-protected-resource"),
        ]
        post = await client.post(f"{live.url}/.well-known/oauth-protected-resource")
    for response in documents:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        # Exact contents, in this order: required scopes first, then the entries' own.
        assert response.text == (
            f'{{"resource":"{live.mcp_url}",'
            f'"authorization_servers":["{authorization_server.issuer}"],'
            '"scopes_supported":["mcp:read","mcp:admin"],'
            '"bearer_methods_supported":["header"],'
            '"resource_name":"protected"}'
        )
    assert post.status_code == 405


async def test_metadata_behind_a_proxy_prefix_names_the_public_url() -> None:
    app = create_app(
        build_server(),
        auth=AuthSettings(tokens=("static-token-0123456789abcdef",)),
        trusted_proxies=["127.0.0.1"],
        allowed_hosts=["mcp.example.com"],
    )
    forwarded = {
        "x-forwarded-proto": "https",
        "x-forwarded-host": "mcp.example.com",
        "x-forwarded-prefix": "/tenant-a",
    }
    async with live_app(app) as live, httpx.AsyncClient() as client:
        document = await client.get(
            f"{live.url}/.well-known/oauth-protected-resource/mcp", headers=forwarded
        )
        # The RFC 9728 section 3.1 form, with the prefix in the path, when a proxy routes it.
        rfc_form = await client.get(
            f"{live.url}/.well-known/oauth-protected-resource/tenant-a/mcp", headers=forwarded
        )
        refused = await initialize(client, live.mcp_url, None, **forwarded)
    assert document.json() == {
        "resource": "https://mcp.example.com/tenant-a/mcp",
        "scopes_supported": ["mcp:admin"],
        "bearer_methods_supported": ["header"],
        "resource_name": "protected",
    }
    assert rfc_form.json() == document.json()
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == (
        'Bearer resource_metadata="https://mcp.example.com/tenant-a'
        '/.well-known/oauth-protected-resource/mcp"'
    )


async def test_a_configured_audience_is_the_resource(
    authorization_server: AuthorizationServer,
) -> None:
    app = create_app(
        build_server(),
        auth=settings(authorization_server, audience="https://mcp.example.com/mcp"),
    )
    async with live_app(app) as live, httpx.AsyncClient() as client:
        document = await client.get(f"{live.url}/.well-known/oauth-protected-resource/mcp")
        configured = await authorization_server.token("client-rs256", "https://mcp.example.com/mcp")
        derived = await authorization_server.token("client-rs256", live.mcp_url)
        accepted = await initialize(client, live.mcp_url, configured)
        refused = await initialize(client, live.mcp_url, derived)
    assert document.json()["resource"] == "https://mcp.example.com/mcp"
    assert accepted.status_code == 200
    assert refused.status_code == 401


async def test_without_auth_there_is_no_metadata() -> None:
    async with live_app(create_app(build_server())) as live, httpx.AsyncClient() as client:
        response = await client.get(f"{live.url}/.well-known/oauth-protected-resource")
    assert response.status_code == 404


def test_oauth_with_every_host_allowed_needs_a_configured_audience(
    authorization_server: AuthorizationServer,
) -> None:
    # Else a token for https://other.example/mcp would pass with Host: other.example.
    with pytest.raises(ValueError, match="the audience must be configured"):
        create_app(build_server(), auth=settings(authorization_server), allowed_hosts=["*"])
    create_app(
        build_server(),
        auth=settings(authorization_server, audience="https://mcp.example.com/mcp"),
        allowed_hosts=["*"],
    )
    create_app(
        build_server(), auth=AuthSettings(tokens=("static-0123456789",)), allowed_hosts=["*"]
    )
