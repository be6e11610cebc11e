"""The ssemcp server under test: ``echo``, plus what the fan-out scenario needs.

Served by ssemcp's own command, exactly as a user would:
``python -m ssemcp serve bench/servers/ssemcp_echo.py:server --port 8101``.

Fan-out (scenario e): each session subscribes to :data:`FANOUT_URI` (``resources/subscribe``);
the ``notify_all`` tool calls ``server.notify_resource_updated(FANOUT_URI)``, which posts one
``notifications/resources/updated`` to every subscribed session.
"""

from __future__ import annotations

from typing import Final

from ssemcp import Server

FANOUT_URI: Final = "bench://fanout"


def build() -> Server:
    """A fresh server with ``echo``, ``notify_all`` and the ``bench://fanout`` resource."""
    server = Server("ssemcp-bench")

    @server.tool()
    async def echo(message: str) -> str:
        """Return the message unchanged.

        Args:
            message: the text to send back.
        """
        return message

    @server.tool()
    async def notify_all() -> str:
        """Tell every session subscribed to bench://fanout that it changed."""
        return f"told {server.notify_resource_updated(FANOUT_URI)}"

    @server.resource(FANOUT_URI, name="fanout", mime_type="text/plain")
    async def fanout() -> str:
        return "fan-out target"

    return server


server = build()
