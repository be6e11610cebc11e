"""A server built with the official Python SDK (``mcp==2.3.0``, ``MCPServer``), which the
client tests run as a child: ``python mcp_sdk_server.py stdio|streamable-http|sse [FD]``, where
``FD`` is a listening socket the test bound and passed down.

Owns only what the tests ask of it: a tool with structured output, one that reports progress
and logs, a resource and a prompt.
"""

from __future__ import annotations

import asyncio
import sys

import uvicorn
from mcp.server import MCPServer
from mcp.server.mcpserver import Context

server = MCPServer("official-sdk-fixture", version="2.3.0-fixture")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
async def steps(count: int, ctx: Context) -> str:
    """Report progress and log once per step."""
    for step in range(1, count + 1):
        await ctx.report_progress(step, count, f"step {step}")
        await ctx.info(f"did step {step}")
    return f"{count} steps"


@server.resource("sdk://greeting")
def greeting() -> str:
    """A static greeting."""
    return "hello from the official SDK"


@server.prompt()
def review(language: str) -> str:
    """Review code."""
    return f"Review this {language}"


if __name__ == "__main__":
    transport = sys.argv[1]
    if transport == "stdio":
        server.run("stdio")
    else:
        # The test binds the listening socket and passes it down: no port is chosen here, so
        # no other process can take it between a choice and a bind.
        app = server.streamable_http_app() if transport == "streamable-http" else server.sse_app()
        config = uvicorn.Config(app, fd=int(sys.argv[2]), log_level="warning")
        asyncio.run(uvicorn.Server(config).serve())
