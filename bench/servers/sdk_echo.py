"""The official MCP Python SDK server under test (``mcp`` pinned, defaults), with ``echo``.

An ``MCPServer`` (v2's name for FastMCP) with one ``echo`` tool, its ASGI app run on the same
uvicorn + uvloop + httptools settings as the ceiling, access log off:

- ``--mode streamable``: ``streamable_http_app()`` (defaults: SSE replies);
- ``--mode json``: ``streamable_http_app(json_response=True)``;
- ``--mode sse``: ``sse_app()``, the 2024-11-05 HTTP+SSE transport.

Fan-out (scenario e): the SDK has no "notify every subscribed session" call for the legacy
``resources/subscribe``, so this module does what an SDK user would: a ``resources/subscribe``
handler (registered on the low-level server) remembers each subscribing session, and the
``notify_all`` tool awaits ``session.send_resource_updated(FANOUT_URI)`` for each of them.
For the 2026-07-28 ``subscriptions/listen`` streams (scenario g) it then awaits
``ctx.notify_resource_updated(FANOUT_URI)``, the SDK's call for exactly those.

Run: ``python bench/servers/sdk_echo.py --mode streamable --port 8102``.
"""

from __future__ import annotations

import argparse
from typing import Any, Final

import mcp.types as types
from mcp.server.mcpserver import Context, MCPServer

FANOUT_URI: Final = "bench://fanout"


def build() -> MCPServer:
    """A fresh SDK server with ``echo``, ``notify_all`` and ``resources/subscribe``."""
    mcp = MCPServer("sdk-bench", log_level="WARNING")
    subscribers: dict[int, Any] = {}

    @mcp.tool()
    async def echo(message: str) -> str:
        """Return the message unchanged."""
        return message

    @mcp.tool()
    async def notify_all(ctx: Context) -> str:
        """Tell every session subscribed to bench://fanout that it changed."""
        for session in list(subscribers.values()):
            await session.send_resource_updated(FANOUT_URI)
        await ctx.notify_resource_updated(FANOUT_URI)
        return f"told {len(subscribers)}"

    @mcp.resource(FANOUT_URI, name="fanout", mime_type="text/plain")
    async def fanout() -> str:
        return "fan-out target"

    async def subscribe(context: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
        subscribers[id(context.session)] = context.session
        return types.EmptyResult()

    mcp._lowlevel_server.add_request_handler(
        "resources/subscribe", types.SubscribeRequestParams, subscribe
    )
    return mcp


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("streamable", "json", "sse"), default="streamable")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8102)
    options = parser.parse_args()
    mcp = build()
    if options.mode == "sse":
        app = mcp.sse_app(host=options.host)
    else:
        app = mcp.streamable_http_app(json_response=options.mode == "json", host=options.host)
    uvicorn.run(
        app,
        host=options.host,
        port=options.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        # As ssemcp's command does: no X-Forwarded-* rewriting (uvicorn's default is on).
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
