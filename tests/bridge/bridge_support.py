"""What the bridge tests share: the fixture child's command, a bridge served by a real uvicorn
on a free 127.0.0.1 port, official Python SDK sessions through it, and process checks.

Owns starting and stopping a bridge for one test (``bridged``: stopped in ``finally``, which
ends and reaps every child) and telling a reaped process from a live or zombie one by its
``/proc`` entry. What the tests send and expect is theirs.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import mcp_types as types
from live_server import (
    LiveServer,
    ServerProcess,
    live_app,
    ssemcp_subprocess,
)
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from ssemcp import Server
from ssemcp.bridge import Bridge
from ssemcp.http import create_app

FIXTURE: Final = Path(__file__).with_name("bridged_fixture.py")
FIXTURE_COMMAND: Final = (sys.executable, "-m", "ssemcp", "stdio", f"{FIXTURE}:server")
TRANSPORTS: Final = ("streamable-http", "sse")
# Long enough for a loaded machine to start a child (a Python or Node process) and answer.
REQUEST_TIMEOUT_SECONDS: Final = 30.0


@dataclass
class Bridged:
    """A bridge served at ``url``."""

    live: LiveServer
    bridge: Bridge

    @property
    def url(self) -> str:
        return self.live.url


@asynccontextmanager
async def bridged(
    command: Sequence[str] = FIXTURE_COMMAND,
    *,
    app_options: dict[str, Any] | None = None,
    **bridge_options: Any,
) -> AsyncIterator[Bridged]:
    """Serve ``Bridge(command, **bridge_options)`` as ``ssemcp bridge`` does; on exit the
    server shuts down, which ends and reaps every child."""
    bridge = Bridge(command, **bridge_options)
    server = Server("bridge-under-test")
    server.add_cleanup(bridge.aclose)
    app = create_app(
        server,
        sessions=bridge.connect,
        sessionless=bridge.serve_sessionless,
        listen=bridge.open_listen,
        **(app_options or {}),
    )
    async with live_app(app) as live:
        yield Bridged(live, bridge)


@asynccontextmanager
async def sdk_session(
    url: str, transport: str, **session_options: Any
) -> AsyncIterator[ClientSession]:
    """An initialized official SDK session over ``transport`` ("streamable-http" or "sse")."""
    if transport == "streamable-http":
        streams = streamable_http_client(url + "/mcp")
    else:
        streams = sse_client(url + "/sse", sse_read_timeout=REQUEST_TIMEOUT_SECONDS)
    async with (
        streams as (read_stream, write_stream),
        ClientSession(
            read_stream,
            write_stream,
            read_timeout_seconds=REQUEST_TIMEOUT_SECONDS,
            **session_options,
        ) as session,
    ):
        await session.initialize()
        yield session


def only_text(result: types.CallToolResult) -> str:
    assert len(result.content) == 1, result.content
    block = result.content[0]
    assert isinstance(block, types.TextContent), block
    return block.text


async def call_text(
    session: ClientSession, tool: str, arguments: dict[str, Any] | None = None
) -> str:
    """The text a tool call answered; fails the test on an error result."""
    result = await session.call_tool(tool, arguments or {})
    assert not result.is_error, result
    return only_text(result)


def is_reaped(pid: int) -> bool:
    """Whether ``pid`` is gone entirely: not running, and no zombie left (a zombie keeps its
    ``/proc`` entry, in state Z, until its parent waits for it)."""
    return not Path(f"/proc/{pid}").exists()


@asynccontextmanager
async def bridge_process(
    *options: str,
    command: Sequence[str] = FIXTURE_COMMAND,
    log_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> AsyncIterator[ServerProcess]:
    """Run ``python -m ssemcp bridge --port P OPTIONS... -- COMMAND`` on 127.0.0.1, as a user
    would; ready once ``GET /healthz`` answers. Stopped with SIGTERM in ``finally``."""
    async with ssemcp_subprocess(
        "bridge", *options, "--", *command, log_dir=log_dir, environ=environ
    ) as running:
        yield running
