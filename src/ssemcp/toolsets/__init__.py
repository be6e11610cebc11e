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


def _register_weather(server: Server) -> None:
    from ssemcp.toolsets.weather import register

    register(server)  # settings from SSEMCP_OPEN_METEO_* / SSEMCP_WEATHER_* variables


def _register_github(server: Server) -> None:
    from ssemcp.toolsets.github import register

    register(server)  # GITHUB_TOKEN (optional) and SSEMCP_GITHUB_* variables


# Name -> registration function, imported lazily so a tool set's dependencies load only when
# it is chosen. A registration raises ValueError for a bad setting in the environment.
TOOLSETS: Final[dict[str, Callable[[Server], None]]] = {
    "hackernews": _register_hackernews,
    "utilities": _register_utilities,
    "weather": _register_weather,
    "github": _register_github,
}
# Tool sets that need no API key (GitHub's token only raises its rate limit): what
# `ssemcp serve` offers with no options.
DEFAULT_TOOLSETS: Final = ("hackernews", "utilities", "weather", "github")

INSTRUCTIONS: Final = (
    "ssemcp built-in server. HackerNews (hn_* tools, hn:// resources and prompts): top, new, "
    "best, ask, show and job stories, items, comment threads, users and full-text search. "
    "Utilities: echo, current_time (IANA time zones), calculate (arithmetic and math "
    "functions), and the greeting://{name} resource template. Weather: weather_current and "
    "weather_forecast for a place name (Open-Meteo). GitHub: github_repo, "
    "github_search_repos and github_trending."
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
