"""Built-in tool sets, one package each, and the server ``ssemcp serve`` runs by default.

Each tool set exposes ``register(server)``; :func:`build_server` assembles the chosen ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from ssemcp.errors import LocalProtocolError
from ssemcp.server.registry import Server

__all__ = ["DEFAULT_TOOLSETS", "TOOLSETS", "build_server"]


def _register_utilities(server: Server) -> None:
    from ssemcp.toolsets.utilities import register

    register(server)


def _register_hackernews(server: Server) -> None:
    from ssemcp.toolsets.hackernews import register

    register(server)  # settings from SSEMCP_HN_* / SSEMCP_ALGOLIA_* environment variables


# Name -> registration function, imported lazily so a tool set's dependencies load only when
# it is chosen. A registration raises ValueError for a bad setting in the environment.
TOOLSETS: Final[dict[str, Callable[[Server], None]]] = {
    "hackernews": _register_hackernews,
    "utilities": _register_utilities,
}
# Tool sets that need no API key: what `ssemcp serve` offers with no options.
DEFAULT_TOOLSETS: Final = ("hackernews", "utilities")

INSTRUCTIONS: Final = (
    "ssemcp built-in server. HackerNews (hn_* tools, hn:// resources and prompts): top, new, "
    "best, ask, show and job stories, items, comment threads, users and full-text search. "
    "Utilities: echo, current_time (IANA time zones), calculate (arithmetic and math "
    "functions), and the greeting://{name} resource template."
)


def build_server(toolsets: Sequence[str] = DEFAULT_TOOLSETS) -> Server:
    """The built-in server with the named tool sets registered.

    Raises:
        LocalProtocolError: an unknown tool set name, or a bad setting in the environment.
    """
    unknown = [name for name in toolsets if name not in TOOLSETS]
    if unknown:
        raise LocalProtocolError(
            f"unknown toolset(s): {', '.join(unknown)}; available: {', '.join(TOOLSETS)}"
        )
    server = Server("ssemcp", title="ssemcp", instructions=INSTRUCTIONS)
    for name in dict.fromkeys(toolsets):
        try:
            TOOLSETS[name](server)
        except ValueError as exc:
            raise LocalProtocolError(f"toolset {name}: {exc}") from None
    return server
