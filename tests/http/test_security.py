"""Secure by default, over a real uvicorn on 127.0.0.1: tokens, CORS, trusted proxies, time bounds.

Each test starts its own app and server on a free port (no module-level server), drives it with
httpx or a raw socket, and stops it in ``finally``. uvicorn runs as ``ssemcp serve`` runs it:
``proxy_headers=False`` and our httptools protocol with a header deadline. Where a test must see
what the app put in the scope, the app's transport is replaced by a probe that echoes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

import httpx
import pytest
from live_server import INITIALIZE, LiveServer, live_app

from ssemcp import Context, Server
from ssemcp.http import MCPApp, create_app
from ssemcp.http.auth import principal_of

TOKEN_A = "token-a-0123456789abcdef"
TOKEN_B = "token-b-fedcba9876543210"
INSPECTOR = "http://localhost:6274"
ACCEPT_BOTH = "application/json, text/event-stream"
# Short bounds so the timeout tests take about a second each.
SHORT_TIMEOUT_SECONDS = 0.5
# How long past a bound a cut may take before the test calls it a failure (slow CI machines).
CUT_MARGIN_SECONDS = 3.0


def build_server() -> Server:
    server = Server("security-test", "0.0.1")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool()
    async def chatty(ctx: Context) -> str:
        """Log, then answer (so the reply is an SSE stream)."""
        await ctx.info("x")
        return "done"

    @server.tool()
    async def whoami(ctx: Context) -> str:
        """The principal the request is served for."""
        return str(ctx.principal)

    return server


def server_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the server side logged (httpx logs the client's own URLs, with their query)."""
    return "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith(("ssemcp", "uvicorn"))
    )


def rpc_error(message: str, code: int = -32600) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}


def install_probe(app: MCPApp) -> None:
    """Replace the MCP endpoint's transport by one that answers with what the scope says."""

    async def probe(
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
        headers: dict[bytes, bytes],
    ) -> None:
        body = json.dumps(
            {
                "client": list(scope["client"]),
                "scheme": scope["scheme"],
                "host": headers[b"host"].decode(),
                "prefix": scope["ssemcp.forwarded_prefix"],
                "principal": (
                    None if scope["ssemcp.principal"] is None else str(scope["ssemcp.principal"])
                ),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    app.transport.handle = probe  # type: ignore[method-assign]


async def post_initialize(client: httpx.AsyncClient, url: str, **headers: str) -> httpx.Response:
    return await client.post(
        url + "/mcp",
        content=json.dumps(INITIALIZE).encode(),
        headers={"accept": ACCEPT_BOTH, "content-type": "application/json", **headers},
    )


async def read_until_closed(reader: asyncio.StreamReader, timeout_seconds: float) -> bytes:
    """Everything the server sends until it closes the connection (fails on the deadline)."""
    return await asyncio.wait_for(reader.read(), timeout_seconds)


# ---------------------------------------------------------------------- bearer tokens


@pytest.fixture
async def authed() -> AsyncIterator[str]:
    async with live_app(create_app(build_server(), tokens=[TOKEN_A, TOKEN_B])) as live:
        yield live.url


async def test_request_without_token_gets_401_with_a_bare_bearer_challenge(authed: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await post_initialize(client, authed)
    metadata_url = f"{authed}/.well-known/oauth-protected-resource/mcp"
    assert response.status_code == 401
    # RFC 6750 section 3.1: no error code without credentials; RFC 9728 section 5.1: the
    # challenge names the metadata.
    assert response.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata_url}"'
    assert response.json() == rpc_error(
        "Unauthorized: this server needs a token; send 'Authorization: Bearer <token>'; "
        f"how to get a token is described at {metadata_url}"
    )
    assert "mcp-session-id" not in response.headers


async def test_request_with_another_scheme_gets_the_bare_challenge(authed: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await post_initialize(client, authed, authorization="Basic dXNlcjpwYXNz")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{authed}/.well-known/oauth-protected-resource/mcp"'
    )


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN_A}x", f"Bearer {TOKEN_A[:-1]}", "Bearer wrong", "Bearer a b", "bearer !!!"],
)
async def test_wrong_token_gets_401_invalid_token(
    authed: str, authorization: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient() as client:
        response = await post_initialize(client, authed, authorization=authorization)
    metadata_url = f"{authed}/.well-known/oauth-protected-resource/mcp"
    why = (
        "the Authorization header is malformed"
        if " " in authorization.partition(" ")[2] or "!" in authorization
        else "the token is not one this server accepts"
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{metadata_url}", error="invalid_token", '
        f'error_description="{why}"'
    )
    assert response.json() == rpc_error(
        f"Unauthorized: {why}; send 'Authorization: Bearer <token>'; "
        f"how to get a token is described at {metadata_url}"
    )
    presented = authorization.partition(" ")[2].strip()
    if presented:
        assert presented not in server_log(caplog)
    assert TOKEN_A not in server_log(caplog)


@pytest.mark.parametrize("token", [TOKEN_A, TOKEN_B])
async def test_each_configured_token_is_accepted(authed: str, token: str) -> None:
    auth = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient() as client:
        response = await post_initialize(client, authed, **auth)
        assert response.status_code == 200, response.text
        session = {"mcp-session-id": response.headers["mcp-session-id"]}
        call = await client.post(
            authed + "/mcp",
            json={
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": "hi"}},
            },
            headers={"accept": ACCEPT_BOTH, **auth, **session},
        )
    assert call.status_code == 200, call.text
    assert call.json()["result"]["content"] == [{"type": "text", "text": "hi"}]


async def test_bearer_scheme_is_case_insensitive(authed: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await post_initialize(client, authed, authorization=f"bEaReR {TOKEN_B}")
    assert response.status_code == 200


async def test_health_check_needs_no_token_but_other_methods_do(authed: str) -> None:
    async with httpx.AsyncClient() as client:
        health = await client.get(authed + "/healthz")
        post = await client.post(authed + "/healthz")
        unknown = await client.get(authed + "/nope")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert post.status_code == 401
    assert unknown.status_code == 401  # no token: not even the route map is revealed


@pytest.mark.parametrize("parameter", ["access_token", "token", "Access_Token", "api_key"])
async def test_token_in_the_query_string_is_refused_even_with_a_good_header(
    authed: str, parameter: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient() as client:
        with_header = await client.post(
            authed + f"/mcp?{parameter}={TOKEN_A}",
            json=INITIALIZE,
            headers={"accept": ACCEPT_BOTH, "authorization": f"Bearer {TOKEN_A}"},
        )
        alone = await client.post(
            authed + f"/mcp?{parameter}={TOKEN_A}",
            json=INITIALIZE,
            headers={"accept": ACCEPT_BOTH},
        )
    for response in (with_header, alone):
        assert response.status_code == 400
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_request"'
        assert response.json()["id"] is None
        assert TOKEN_A not in response.text
    assert TOKEN_A not in server_log(caplog)


async def test_principal_is_a_stable_hash_of_the_token_and_never_the_token() -> None:
    app = create_app(build_server(), tokens=[TOKEN_A, TOKEN_B])
    install_probe(app)
    async with live_app(app) as live, httpx.AsyncClient() as client:
        seen = []
        for token in (TOKEN_A, TOKEN_B, TOKEN_A):
            response = await client.post(live.mcp_url, headers={"authorization": f"Bearer {token}"})
            seen.append(response.json()["principal"])
    assert seen[0] == seen[2] != seen[1]
    assert seen[0] == hashlib.sha256(TOKEN_A.encode()).hexdigest()[:16] == principal_of(TOKEN_A)
    assert all(TOKEN_A not in principal and TOKEN_B not in principal for principal in seen)


async def test_principal_is_none_when_auth_is_off() -> None:
    app = create_app(build_server())
    install_probe(app)
    async with live_app(app) as live, httpx.AsyncClient() as client:
        response = await client.post(live.mcp_url, headers={"authorization": "Bearer anything"})
    assert response.json()["principal"] is None


@pytest.mark.parametrize("stateless", [False, True], ids=["session", "stateless"])
async def test_a_handler_sees_the_principal_of_the_token_that_sent_its_request(
    stateless: bool,
) -> None:
    headers = {"authorization": f"Bearer {TOKEN_A}", "accept": ACCEPT_BOTH}
    app = create_app(build_server(), tokens=[TOKEN_A, TOKEN_B], stateless=stateless)
    async with live_app(app) as live, live.client(headers=headers) as client:
        opened = await client.post("/mcp", json=INITIALIZE)
        if not stateless:
            headers = {"mcp-session-id": opened.headers["mcp-session-id"]}
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "whoami", "arguments": {}},
        }
        answer = await client.post("/mcp", json=call, headers=headers)
    assert answer.json()["result"]["content"][0]["text"] == principal_of(TOKEN_A)


def test_tokens_a_client_cannot_send_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="RFC 6750") as caught:
        create_app(build_server(), tokens=["has space"])
    assert "has space" not in str(caught.value)


# ---------------------------------------------------------------------- CORS


@pytest.fixture
async def cors() -> AsyncIterator[str]:
    app = create_app(build_server(), tokens=[TOKEN_A], cors_origins=[INSPECTOR])
    async with live_app(app) as live:
        yield live.url


async def test_preflight_from_a_cors_origin_is_answered_without_a_token(cors: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.options(
            cors + "/mcp",
            headers={
                "origin": INSPECTOR,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type, mcp-session-id",
            },
        )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == INSPECTOR
    assert response.headers["access-control-allow-methods"] == "GET, POST, DELETE, OPTIONS"
    assert response.headers["access-control-allow-headers"] == (
        "Authorization, Content-Type, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID"
    )
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in response.headers


async def test_actual_responses_to_a_cors_origin_carry_the_cors_headers(cors: str) -> None:
    auth = {"authorization": f"Bearer {TOKEN_A}", "origin": INSPECTOR}
    async with httpx.AsyncClient() as client:
        initialize = await post_initialize(client, cors, **auth)
        session = {"mcp-session-id": initialize.headers["mcp-session-id"]}
        streamed = await client.post(
            cors + "/mcp",
            json={
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "chatty", "arguments": {}},
            },
            headers={"accept": ACCEPT_BOTH, **auth, **session},
        )
        refused = await post_initialize(client, cors, origin=INSPECTOR)
    assert streamed.headers["content-type"] == "text/event-stream"
    for response in (initialize, streamed, refused):
        assert response.headers["access-control-allow-origin"] == INSPECTOR
        assert response.headers["vary"] == "Origin"
        exposed = response.headers["access-control-expose-headers"]
        assert "Mcp-Session-Id" in exposed.split(", ")
        assert "access-control-allow-credentials" not in response.headers
    # A browser can read the 401 and its challenge.
    assert refused.status_code == 401
    assert "WWW-Authenticate" in refused.headers["access-control-expose-headers"]


async def test_disallowed_origin_gets_403_and_no_cors_headers(cors: str) -> None:
    async with httpx.AsyncClient() as client:
        preflight = await client.options(
            cors + "/mcp",
            headers={"origin": "http://evil.example", "access-control-request-method": "POST"},
        )
        actual = await post_initialize(
            client, cors, origin="http://evil.example", authorization=f"Bearer {TOKEN_A}"
        )
    for response in (preflight, actual):
        assert response.status_code == 403
        assert response.json()["id"] is None
        assert not any(name.startswith("access-control-") for name in response.headers)


async def test_loopback_origin_not_listed_for_cors_is_served_without_cors_headers(
    cors: str,
) -> None:
    origin = "http://localhost:5173"
    async with httpx.AsyncClient() as client:
        preflight = await client.options(
            cors + "/mcp", headers={"origin": origin, "access-control-request-method": "POST"}
        )
        actual = await post_initialize(
            client, cors, origin=origin, authorization=f"Bearer {TOKEN_A}"
        )
    assert preflight.status_code == 403
    assert actual.status_code == 200
    for response in (preflight, actual):
        assert "access-control-allow-origin" not in response.headers


def test_wildcard_cors_origin_is_refused() -> None:
    with pytest.raises(ValueError, match="CORS origin"):
        create_app(build_server(), cors_origins=["*"])


# ---------------------------------------------------------------------- trusted proxies

FORWARDED = {
    "x-forwarded-for": "198.51.100.1, 203.0.113.7, 127.0.0.1",
    "x-forwarded-proto": "https",
    "x-forwarded-host": "mcp.example.com",
    "x-forwarded-prefix": "/api/tools",
}


async def probe_through(trusted_proxies: list[str], headers: dict[str, str]) -> httpx.Response:
    app = create_app(
        build_server(),
        trusted_proxies=trusted_proxies,
        allowed_hosts=["127.0.0.1", "mcp.example.com"],
    )
    install_probe(app)
    async with live_app(app) as live, httpx.AsyncClient() as client:
        return await client.post(live.url + "/mcp", headers=headers)


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored() -> None:
    response = await probe_through(["10.0.0.0/8"], FORWARDED)
    seen = response.json()
    assert seen["client"][0] == "127.0.0.1"
    assert seen["scheme"] == "http"
    assert seen["host"].startswith("127.0.0.1:")
    assert seen["prefix"] == ""


async def test_forwarded_host_from_an_untrusted_peer_cannot_pass_the_host_check() -> None:
    headers = {"host": "evil.example", "x-forwarded-host": "127.0.0.1"}
    response = await probe_through(["10.0.0.0/8"], headers)
    assert response.status_code == 421


async def test_forwarded_headers_from_a_trusted_proxy_are_honoured() -> None:
    response = await probe_through(["127.0.0.1"], FORWARDED)
    assert response.status_code == 200
    seen = response.json()
    # The right-most hop that is not itself a trusted proxy.
    assert seen["client"][0] == "203.0.113.7"
    assert seen["scheme"] == "https"
    assert seen["host"] == "mcp.example.com"
    assert seen["prefix"] == "/api/tools"


async def test_forwarded_host_from_a_trusted_proxy_is_still_host_checked() -> None:
    response = await probe_through(["127.0.0.0/8"], {"x-forwarded-host": "evil.example"})
    assert response.status_code == 421


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-forwarded-proto", "javascript"),
        ("x-forwarded-prefix", "//evil.example/x"),
        ("x-forwarded-prefix", "/a\\b"),
        ("x-forwarded-for", "not-an-ip"),
        ("x-forwarded-host", "a b"),
    ],
)
async def test_malformed_forwarded_values_from_a_trusted_proxy_are_ignored(
    header: str, value: str
) -> None:
    response = await probe_through(["127.0.0.1"], {header: value})
    assert response.status_code == 200
    seen = response.json()
    assert seen["client"][0] == "127.0.0.1"
    assert seen["scheme"] == "http"
    assert seen["prefix"] == ""
    assert seen["host"].startswith("127.0.0.1:")


def test_a_trusted_proxy_must_be_an_address_or_a_network() -> None:
    with pytest.raises(ValueError, match="trusted proxy"):
        create_app(build_server(), trusted_proxies=["proxy.example"])


# ---------------------------------------------------------------------- time bounds


@contextlib.asynccontextmanager
async def live_with_short_body_deadline(where: str) -> AsyncIterator[LiveServer]:
    """A live server whose body deadline is SHORT_TIMEOUT_SECONDS, kept by the app (any ASGI
    server) or by the protocol (``ssemcp serve``)."""
    if where == "app":
        app = create_app(build_server(), body_timeout_seconds=SHORT_TIMEOUT_SECONDS)
        async with live_app(app) as live:
            yield live
    else:
        app = create_app(build_server(), body_timeout_seconds=None)
        async with live_app(app, body_timeout_seconds=SHORT_TIMEOUT_SECONDS) as live:
            yield live


BODY_DEADLINE_KEEPERS: Final = pytest.mark.parametrize("where", ["app", "protocol"])


@BODY_DEADLINE_KEEPERS
async def test_slow_body_gets_408_and_is_closed_while_others_are_served(where: str) -> None:
    async with live_with_short_body_deadline(where) as live:
        reader, writer = await live.open_connection()
        try:
            started = time.monotonic()
            writer.write(
                b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: "
                + ACCEPT_BOTH.encode()
                + b'\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"jsonrpc"'
            )
            await writer.drain()
            async with httpx.AsyncClient() as client:
                others = await asyncio.gather(
                    post_initialize(client, live.url), client.get(live.url + "/healthz")
                )
            assert [response.status_code for response in others] == [200, 200]
            answer = await read_until_closed(reader, SHORT_TIMEOUT_SECONDS + CUT_MARGIN_SECONDS)
            elapsed = time.monotonic() - started
        finally:
            writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()
    assert json.loads(body) == rpc_error("Request Timeout")
    assert SHORT_TIMEOUT_SECONDS <= elapsed < SHORT_TIMEOUT_SECONDS + CUT_MARGIN_SECONDS


@BODY_DEADLINE_KEEPERS
async def test_body_deadline_bounds_the_whole_body_not_each_chunk(where: str) -> None:
    async with live_with_short_body_deadline(where) as live:
        reader, writer = await live.open_connection()
        try:
            started = time.monotonic()
            writer.write(
                b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: "
                + ACCEPT_BOTH.encode()
                + b"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            )
            # A byte every 0.1 s: each read is quick, the body never ends. Whatever comes back
            # is read a chunk at a time until the close: a read() to the end, cut short by
            # the 0.1 s, would lose what it had read so far.
            answer = b""
            while time.monotonic() - started < CUT_MARGIN_SECONDS:
                if not answer:
                    writer.write(b" ")
                    await writer.drain()
                try:
                    chunk = await asyncio.wait_for(reader.read(65536), 0.1)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                answer += chunk
            else:
                pytest.fail("the trickling body was not cut")
            elapsed = time.monotonic() - started
        finally:
            writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert elapsed < SHORT_TIMEOUT_SECONDS + CUT_MARGIN_SECONDS


@BODY_DEADLINE_KEEPERS
async def test_a_body_in_several_reads_within_the_deadline_is_served(where: str) -> None:
    body = json.dumps(INITIALIZE).encode()
    async with live_with_short_body_deadline(where) as live:
        reader, writer = await live.open_connection()
        try:
            writer.write(
                b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: "
                + ACCEPT_BOTH.encode()
                + b"\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body[:10]
            )
            await writer.drain()
            await asyncio.sleep(SHORT_TIMEOUT_SECONDS / 5)
            writer.write(body[10:])
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CUT_MARGIN_SECONDS)
        finally:
            writer.close()
    assert head.startswith(b"HTTP/1.1 200 ")


async def test_a_late_body_after_an_early_answer_closes_without_a_second_response() -> None:
    # A 404 is answered without reading the body; the body that never comes still holds the
    # connection, so the protocol's deadline closes it, and writes no 408 after the 404.
    app = create_app(build_server(), body_timeout_seconds=None)
    async with live_app(app, body_timeout_seconds=SHORT_TIMEOUT_SECONDS) as live:
        reader, writer = await live.open_connection()
        try:
            writer.write(
                b"POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            await writer.drain()
            answer = await read_until_closed(reader, SHORT_TIMEOUT_SECONDS + CUT_MARGIN_SECONDS)
        finally:
            writer.close()
    assert answer.startswith(b"HTTP/1.1 404 ")
    assert b"408" not in answer


async def test_slow_request_head_is_cut_while_others_are_served() -> None:
    app = create_app(build_server())
    async with live_app(app, header_timeout_seconds=SHORT_TIMEOUT_SECONDS) as live:
        reader, writer = await live.open_connection()
        try:
            started = time.monotonic()
            writer.write(b"GET /heal")  # half a request line, then nothing
            await writer.drain()
            async with httpx.AsyncClient() as client:
                others = await asyncio.gather(
                    client.get(live.url + "/healthz"), post_initialize(client, live.url)
                )
            assert [response.status_code for response in others] == [200, 200]
            answer = await read_until_closed(reader, SHORT_TIMEOUT_SECONDS + CUT_MARGIN_SECONDS)
            elapsed = time.monotonic() - started
        finally:
            writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == rpc_error("Request Timeout")
    assert SHORT_TIMEOUT_SECONDS * 0.9 <= elapsed < SHORT_TIMEOUT_SECONDS + CUT_MARGIN_SECONDS


async def test_trickled_request_head_is_cut_at_the_deadline() -> None:
    app = create_app(build_server())
    async with live_app(app, header_timeout_seconds=SHORT_TIMEOUT_SECONDS) as live:
        reader, writer = await live.open_connection()
        started = time.monotonic()
        answer = b""
        try:
            # A byte every 50 ms: the head never completes, yet bytes keep coming.
            for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200:
                if reader.at_eof() or writer.is_closing():
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the trickling head was not cut")
            answer = await read_until_closed(reader, CUT_MARGIN_SECONDS)
        except ConnectionError:
            pass  # the close raced our next byte: a reset may drop the 408, the cut stands
        finally:
            elapsed = time.monotonic() - started
            writer.close()
    assert elapsed < SHORT_TIMEOUT_SECONDS + CUT_MARGIN_SECONDS
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 ")


async def test_idle_connection_is_closed_silently_at_the_header_deadline() -> None:
    app = create_app(build_server())
    async with live_app(app, header_timeout_seconds=SHORT_TIMEOUT_SECONDS) as live:
        reader, writer = await live.open_connection()
        try:
            answer = await read_until_closed(reader, SHORT_TIMEOUT_SECONDS + CUT_MARGIN_SECONDS)
        finally:
            writer.close()
    assert answer == b""


HEALTH_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
HEALTH_BODY = b'{"status":"ok"}'


async def check_health(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """One GET /healthz on an open connection; its whole response."""
    writer.write(HEALTH_REQUEST)
    await writer.drain()
    return await asyncio.wait_for(reader.readuntil(HEALTH_BODY), 5)


async def test_second_request_on_a_kept_alive_connection_gets_its_own_head_deadline() -> None:
    app = create_app(build_server())
    async with live_app(app, header_timeout_seconds=SHORT_TIMEOUT_SECONDS) as live:
        reader, writer = await live.open_connection()
        try:
            first = await check_health(reader, writer)
            assert first.startswith(b"HTTP/1.1 200 ")
            await asyncio.sleep(SHORT_TIMEOUT_SECONDS)  # longer than a head may take
            writer.write(b"GET /healthz HTTP/1.1\r\n")  # ...and the rest never comes
            await writer.drain()
            answer = await read_until_closed(reader, SHORT_TIMEOUT_SECONDS + CUT_MARGIN_SECONDS)
        finally:
            writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_kept_alive_connection_idle_past_the_keep_alive_bound_is_closed_quietly() -> None:
    app = create_app(build_server())
    async with live_app(app, keep_alive_seconds=SHORT_TIMEOUT_SECONDS) as live:
        reader, writer = await live.open_connection()
        try:
            first = await check_health(reader, writer)
            started = time.monotonic()
            rest = await read_until_closed(reader, SHORT_TIMEOUT_SECONDS + CUT_MARGIN_SECONDS)
            elapsed = time.monotonic() - started
        finally:
            writer.close()
    assert first.startswith(b"HTTP/1.1 200 ")
    assert rest == b""
    assert SHORT_TIMEOUT_SECONDS * 0.9 <= elapsed < SHORT_TIMEOUT_SECONDS + CUT_MARGIN_SECONDS


async def test_each_request_on_a_kept_alive_connection_restarts_the_keep_alive_bound() -> None:
    app = create_app(build_server())
    async with live_app(app, keep_alive_seconds=SHORT_TIMEOUT_SECONDS * 2) as live:
        reader, writer = await live.open_connection()
        try:
            # Five requests, each after more than half the bound: together far longer than
            # the bound, yet the connection is never idle that long.
            for _ in range(5):
                answer = await check_health(reader, writer)
                assert answer.startswith(b"HTTP/1.1 200 ")
                await asyncio.sleep(SHORT_TIMEOUT_SECONDS * 1.2)
        finally:
            writer.close()


async def test_a_request_begun_while_idle_is_not_cut_by_the_keep_alive_bound() -> None:
    app = create_app(build_server())
    async with live_app(app, keep_alive_seconds=SHORT_TIMEOUT_SECONDS) as live:
        reader, writer = await live.open_connection()
        try:
            await check_health(reader, writer)
            # The next request's first bytes end the idle time; its head then has the header
            # bound (10 s here), far longer than the keep-alive one.
            writer.write(HEALTH_REQUEST[:10])
            await writer.drain()
            await asyncio.sleep(SHORT_TIMEOUT_SECONDS * 3)
            writer.write(HEALTH_REQUEST[10:])
            await writer.drain()
            second = await asyncio.wait_for(reader.readuntil(HEALTH_BODY), 5)
        finally:
            writer.close()
    assert second.startswith(b"HTTP/1.1 200 ")


async def test_pipelined_requests_are_all_answered_and_then_the_connection_idles_out() -> None:
    app = create_app(build_server())
    async with live_app(app, keep_alive_seconds=SHORT_TIMEOUT_SECONDS) as live:
        reader, writer = await live.open_connection()
        try:
            writer.write(HEALTH_REQUEST * 3)  # three requests in one write
            await writer.drain()
            answers = await read_until_closed(reader, SHORT_TIMEOUT_SECONDS + CUT_MARGIN_SECONDS)
        finally:
            writer.close()
    assert answers.count(b"HTTP/1.1 200 ") == 3
    assert answers.count(HEALTH_BODY) == 3


@pytest.mark.parametrize("complete", [True, False])
async def test_oversized_request_head_gets_431_and_is_closed(complete: bool) -> None:
    app = create_app(build_server())
    async with live_app(app, max_header_bytes=4096) as live:
        reader, writer = await live.open_connection()
        try:
            head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 8192
            writer.write(head + (b"\r\n\r\n" if complete else b""))
            await writer.drain()
            answer = await read_until_closed(reader, CUT_MARGIN_SECONDS)
        finally:
            writer.close()
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == rpc_error(
        "Request Header Fields Too Large"
    )


async def test_error_bodies_carry_no_trace_or_path(authed: str) -> None:
    async with httpx.AsyncClient() as client:
        responses = [
            await post_initialize(client, authed),
            await post_initialize(client, authed, authorization="Bearer nope"),
            await client.post(authed + "/mcp?access_token=x"),
            await client.get(authed + "/mcp", headers={"host": "evil.example"}),
        ]
    for response in responses:
        assert response.status_code in (400, 401, 421)
        assert response.json()["id"] is None
        assert "Traceback" not in response.text
        assert ".py" not in response.text
        # No file path; a 401 names only the metadata URL (RFC 9728 section 5.1).
        message = response.json()["error"]["message"]
        assert "/" not in message.replace(authed + "/.well-known/oauth-protected-resource/mcp", "")
