"""How ``Client`` connects and fails: the revision fallback of ``transport="auto"``, stdio
children, and a typed error for each failure (refused, 401, 404 session gone, child gone)."""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fixture_server import build_server
from live_server import HOST, LiveServer, live_app, live_server

from ssemcp.client import (
    AuthError,
    Client,
    ConnectError,
    LogMessage,
    NegotiationError,
    Progress,
    SessionExpired,
    StdioLine,
    TransportClosed,
)
from ssemcp.http import create_app

FIXTURE = Path(__file__).with_name("fixture_server.py")
STDIO_COMMAND = [
    sys.executable,
    "-m",
    "ssemcp",
    "stdio",
    f"{FIXTURE}:server",
    "--log-level",
    "warning",
]
TOKEN = "a-token-long-enough-1234"


class Refuse2026:
    """An app in front of ssemcp's that answers any 2026-07-28 POST with a bare 400, as a
    server that predates the revision might."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.refused = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers", ()))
        if scope["type"] == "http" and headers.get(b"mcp-protocol-version") == b"2026-07-28":
            self.refused += 1
            await send({"type": "http.response.start", "status": 400, "headers": []})
            await send({"type": "http.response.body", "body": b"bad request"})
            return
        await self.app(scope, receive, send)


@pytest.fixture
async def live() -> AsyncIterator[LiveServer]:
    async with live_server(build_server()) as running:
        yield running


async def test_auto_steps_down_to_the_legacy_sse_transport_when_post_is_refused(
    live: LiveServer,
) -> None:
    # /sse answers POST with a 4xx: spec 2025-11-25 basic/transports, "Backwards
    # Compatibility": then GET the URL and expect an endpoint event.
    async with Client(live.url + "/sse", timeout_seconds=10) as client:
        assert client.transport_name == "sse"
        assert client.protocol_version == "2025-11-25"
        assert len(await client.list_tools()) == 7


async def test_auto_falls_back_to_a_2025_session_when_the_probe_gets_400() -> None:
    app = Refuse2026(create_app(build_server()))
    async with live_app(app) as live, Client(live.url + "/mcp", timeout_seconds=10) as client:
        assert (client.transport_name, client.protocol_version) == ("streamable", "2025-11-25")
        assert not client.is_modern
        assert (await client.call_tool("add", {"a": 1, "b": 1}))["structuredContent"] == {
            "result": 2
        }
    assert app.refused == 1  # one probe, then every request in the session


async def test_forced_2026_against_a_server_without_it_is_a_negotiation_error() -> None:
    async with live_app(Refuse2026(create_app(build_server()))) as live:
        with pytest.raises(NegotiationError):
            async with Client(live.url + "/mcp", transport="2026", timeout_seconds=10):
                pass


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("transport", ["auto", "streamable", "sse", "2026"])
async def test_refused_connection_is_a_connect_error(transport: Any) -> None:
    url = f"http://{HOST}:{closed_port()}/mcp"
    with pytest.raises(ConnectError, match="cannot connect"):
        async with Client(url, transport=transport, timeout_seconds=5):
            pass


@pytest.mark.parametrize("transport", ["auto", "streamable", "sse", "2026"])
async def test_missing_token_is_an_auth_error_with_the_challenge(transport: Any) -> None:
    async with live_server(build_server(), tokens=[TOKEN]) as live:
        path = "/sse" if transport == "sse" else "/mcp"
        with pytest.raises(AuthError) as caught:
            async with Client(live.url + path, transport=transport, timeout_seconds=5):
                pass
        assert caught.value.status == 401
        assert caught.value.www_authenticate.startswith("Bearer")
        with pytest.raises(AuthError) as wrong:
            async with Client(live.url + path, transport=transport, token="wrong" * 5):
                pass
        assert 'error="invalid_token"' in wrong.value.www_authenticate
        async with Client(live.url + path, transport=transport, token=TOKEN) as client:
            assert len(await client.list_prompts()) == 1


async def test_a_deleted_session_is_session_expired(live: LiveServer) -> None:
    async with Client(live.mcp_url, transport="streamable", timeout_seconds=5) as client:
        session_id = client._transport.session_id  # type: ignore[union-attr]
        assert session_id
        async with httpx.AsyncClient() as http:
            deleted = await http.delete(live.mcp_url, headers={"Mcp-Session-Id": session_id})
            assert deleted.status_code in (200, 204)
        with pytest.raises(SessionExpired) as caught:
            await client.list_tools()
        assert caught.value.status == 404


# ---------------------------------------------------------------------- stdio


async def test_stdio_child_speaks_2026_and_answers_everything() -> None:
    logs: list[LogMessage] = []
    progress: list[Progress] = []

    async def accept(params: Any) -> Any:
        return {"action": "accept", "content": {"name": "Ada"}}

    async with Client(
        STDIO_COMMAND, on_log=logs.append, on_elicitation=accept, timeout_seconds=20
    ) as client:
        assert (client.transport_name, client.protocol_version) == ("stdio", "2026-07-28")
        assert len(await client.list_tools()) == 7
        assert len(await client.list_resources()) == 3
        result = await client.call_tool("steps", {"count": 2}, on_progress=progress.append)
        assert result["content"][0]["text"] == "2 steps"  # type: ignore[index,call-overload]
        greeted = await client.call_tool("greet")
        assert greeted["content"][0]["text"] == "hello Ada"  # type: ignore[index,call-overload]
    assert [update.progress for update in progress] == [1.0, 2.0]
    assert [log.data for log in logs] == ["did step 1", "did step 2"]


async def test_stdio_child_on_a_2025_session() -> None:
    async with Client(STDIO_COMMAND, protocol_version="2025-06-18", timeout_seconds=20) as client:
        assert client.protocol_version == "2025-06-18"
        prompt = await client.get_prompt("review", {"language": "go"})
        assert prompt["messages"][0]["content"]["text"] == "Review this go: "  # type: ignore[index,call-overload]


async def test_stdio_lines_and_stderr_reach_the_observer() -> None:
    lines: list[StdioLine] = []

    class Observer:
        def on_wire(self, event: object) -> None:
            if isinstance(event, StdioLine):
                lines.append(event)

    command = [
        sys.executable,
        "-c",
        "import sys, runpy; print('booting', file=sys.stderr, flush=True); "
        "sys.argv=['ssemcp','stdio',sys.argv[1]]; runpy.run_module('ssemcp', run_name='__main__')",
        f"{FIXTURE}:server",
    ]
    async with Client(command, observer=Observer(), stderr="log", timeout_seconds=20) as client:
        await client.list_prompts()
    assert ("stderr", "booting") in [(line.stream, line.text) for line in lines]
    streams = [line.stream for line in lines if line.stream != "stderr"]
    assert streams[:2] == ["stdin", "stdout"]  # the probe, and its answer
    assert '"server/discover"' in lines[[line.stream for line in lines].index("stdin")].text


async def test_a_command_that_does_not_exist_is_a_connect_error() -> None:
    with pytest.raises(ConnectError, match="cannot start"):
        async with Client(["/nonexistent/ssemcp-server"]):
            pass


async def test_a_child_that_exits_fails_the_waiting_request() -> None:
    command = [sys.executable, "-c", "import sys; sys.stdin.readline(); sys.exit(3)"]
    with pytest.raises(TransportClosed, match=r"exit code 3|closed its stdout"):
        async with Client(command, timeout_seconds=10):
            pass
