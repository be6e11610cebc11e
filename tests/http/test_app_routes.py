"""The app's own routes over a real uvicorn on 127.0.0.1: the health check, the index page at
``/`` and the 401 a client without a token gets.

Each test starts its own app and server on a free port and stops it in ``finally``
(``live_app``); httpx sends what a load balancer, a browser or a misconfigured client would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from live_server import LiveServer, live_app

from ssemcp import Server
from ssemcp.http import create_app

# What a load balancer in front of `ssemcp serve --host 0.0.0.0 --allow-host mcp.example.com`
# puts in Host when it probes the instance directly.
PUBLIC_NAME = "mcp.example.com"
PROBE_HOST = "10.1.2.3:8000"


def build_server() -> Server:
    server = Server("routes-test", "0.0.1")

    @server.tool
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    return server


@pytest.fixture
async def public() -> AsyncIterator[LiveServer]:
    async with live_app(create_app(build_server(), allowed_hosts=[PUBLIC_NAME])) as live:
        yield live


# ---------------------------------------------------------------------- health check


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_health_check_by_ip_passes_the_host_check(public: LiveServer, method: str) -> None:
    async with public.client() as client:
        response = await client.request(method, "/healthz", headers={"host": PROBE_HOST})
    assert response.status_code == 200
    if method == "GET":
        assert response.json() == {"status": "ok"}


async def test_health_check_without_a_host_header_is_answered(public: LiveServer) -> None:
    reader, writer = await public.open_connection()
    try:
        writer.write(b"GET /healthz HTTP/1.0\r\n\r\n")
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b'{"status":"ok"}')


async def test_everything_but_the_health_check_still_needs_an_allowed_host(
    public: LiveServer,
) -> None:
    async with public.client() as client:
        mcp = await client.post("/mcp", json={}, headers={"host": PROBE_HOST})
        post_health = await client.post("/healthz", headers={"host": PROBE_HOST})
        other = await client.get("/healthz/x", headers={"host": PROBE_HOST})
        allowed = await client.get("/healthz", headers={"host": PUBLIC_NAME})
    assert mcp.status_code == 421
    assert post_health.status_code == 421
    assert other.status_code == 421
    assert allowed.status_code == 200


async def test_health_check_by_ip_from_a_foreign_origin_is_still_refused(
    public: LiveServer,
) -> None:
    async with public.client() as client:
        response = await client.get(
            "/healthz", headers={"host": PROBE_HOST, "origin": "http://evil.example"}
        )
    assert response.status_code == 403


async def test_health_check_below_a_root_path_passes_the_host_check() -> None:
    # uvicorn --root-path: the proxy in front strips /prefix, uvicorn puts it back in the path.
    app = create_app(build_server(), allowed_hosts=[PUBLIC_NAME])
    async with live_app(app, root_path="/prefix") as live, live.client() as client:
        response = await client.get("/healthz", headers={"host": PROBE_HOST})
    assert response.status_code == 200


# ---------------------------------------------------------------------- the index page at /


def endpoint_lines(page: str) -> dict[str, str]:
    """The page's "  PATH  WHAT" lines, by path."""
    return {
        line.split()[0]: line.split(maxsplit=1)[1]
        for line in page.splitlines()
        if line.startswith("  /")
    }


async def test_get_root_names_every_endpoint_as_plain_text() -> None:
    async with live_app(create_app(build_server())) as live, live.client() as client:
        response = await client.get("/")
        head = await client.head("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "Model Context Protocol" in response.text
    assert endpoint_lines(response.text) == {
        "/mcp": "Streamable HTTP",
        "/sse": "HTTP+SSE (2024-11-05)",
        "/healthz": "health",
    }
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(response.content))


async def test_root_page_follows_the_app_path_and_leaves_out_what_is_off() -> None:
    app = create_app(build_server(), path="/rpc", legacy_sse=False)
    async with live_app(app) as live, live.client() as client:
        response = await client.get("/")
    assert endpoint_lines(response.text) == {"/rpc": "Streamable HTTP", "/healthz": "health"}


async def test_root_page_below_a_root_path_names_the_paths_a_client_uses() -> None:
    app = create_app(build_server())
    async with live_app(app, root_path="/prefix") as live, live.client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert set(endpoint_lines(response.text)) == {"/prefix/mcp", "/prefix/sse", "/prefix/healthz"}


async def test_root_page_below_a_trusted_proxys_prefix_names_the_paths_a_client_uses() -> None:
    app = create_app(build_server(), trusted_proxies=["127.0.0.1"])
    async with live_app(app) as live, live.client() as client:
        response = await client.get("/", headers={"x-forwarded-prefix": "/api"})
    assert set(endpoint_lines(response.text)) == {"/api/mcp", "/api/sse", "/api/healthz"}


async def test_root_page_passes_the_host_origin_and_token_checks_first() -> None:
    app = create_app(build_server(), tokens=["root-token-0123456789"])
    async with live_app(app) as live, live.client() as client:
        wrong_host = await client.get("/", headers={"host": "evil.example"})
        wrong_origin = await client.get("/", headers={"origin": "http://evil.example"})
        no_token = await client.get("/")
        with_token = await client.get(
            "/", headers={"authorization": "Bearer root-token-0123456789"}
        )
    assert wrong_host.status_code == 421
    assert wrong_origin.status_code == 403
    assert no_token.status_code == 401  # the route map is not shown without a token
    assert with_token.status_code == 200


async def test_other_methods_on_root_get_405_with_allow() -> None:
    async with live_app(create_app(build_server())) as live, live.client() as client:
        response = await client.post("/", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == -32600


# ---------------------------------------------------------------------- the 401


TOKEN = "routes-token-0123456789"


@pytest.fixture
async def authed() -> AsyncIterator[LiveServer]:
    async with live_app(create_app(build_server(), tokens=[TOKEN])) as live:
        yield live


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic dXNlcjpwYXNz", "Bearer wrong-token", f"Bearer {TOKEN}x"],
)
async def test_401_body_says_how_to_send_the_token_and_never_echoes_one(
    authed: LiveServer, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"authorization": authorization}
    async with authed.client() as client:
        response = await client.post("/mcp", json={}, headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == -32600
    assert error["message"].startswith("Unauthorized")
    assert "Authorization: Bearer <token>" in error["message"]
    assert TOKEN not in response.text
    assert "wrong-token" not in response.text


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwYXNz", "Bearer wrong-token"])
async def test_every_bearer_challenge_carries_an_auth_param(
    authed: LiveServer, authorization: str | None
) -> None:
    # RFC 6750 section 3: the "Bearer" scheme "MUST be followed by one or more auth-param
    # values"; without credentials, no error code (section 3.1).
    headers = {} if authorization is None else {"authorization": authorization}
    async with authed.client() as client:
        response = await client.get("/mcp", headers=headers)
    scheme, _, parameters = response.headers["www-authenticate"].partition(" ")
    assert scheme == "Bearer"
    assert "=" in parameters
    assert ("error=" in parameters) == (authorization == "Bearer wrong-token")
