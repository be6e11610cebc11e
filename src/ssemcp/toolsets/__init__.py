"""Built-in tool sets, one package each, and the server ``ssemcp serve`` runs by default.

Each tool set exposes ``register(server, settings)``; :func:`build_server` assembles the
chosen ones, reading their settings from an environment mapping.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from ssemcp.errors import LocalProtocolError
from ssemcp.server.registry import Server

if TYPE_CHECKING:
    # Only the type: importing _settings loads httpx, which serving your own server skips.
    from ssemcp.toolsets._settings import SettingValue

__all__ = [
    "DEFAULT_TOOLSETS",
    "TOOLSETS",
    "build_server",
    "settings_defaults",
    "settings_variables",
]


def _register_utilities(server: Server, environ: Mapping[str, str]) -> None:
    from ssemcp.toolsets.utilities import register

    register(server)


def _register_hackernews(server: Server, environ: Mapping[str, str]) -> None:
    from ssemcp.toolsets.hackernews import HackerNewsSettings, register

    register(server, HackerNewsSettings.from_env(environ))


def _register_weather(server: Server, environ: Mapping[str, str]) -> None:
    from ssemcp.toolsets.weather import WeatherSettings, register

    register(server, WeatherSettings.from_env(environ))


def _register_github(server: Server, environ: Mapping[str, str]) -> None:
    from ssemcp.toolsets.github import GitHubSettings, register

    register(server, GitHubSettings.from_env(environ))


def settings_defaults() -> dict[str, SettingValue]:
    """Every setting's value while its variable is unset: variable -> default (None: none)."""
    from ssemcp.toolsets.github.settings import ENVIRONMENT_DEFAULTS as GITHUB
    from ssemcp.toolsets.hackernews.settings import ENVIRONMENT_DEFAULTS as HACKERNEWS
    from ssemcp.toolsets.weather.settings import ENVIRONMENT_DEFAULTS as WEATHER

    return {**HACKERNEWS, **WEATHER, **GITHUB}


def settings_variables() -> dict[str, dict[str, str]]:
    """Every setting of every tool set: tool set name -> {variable: description}."""
    from ssemcp.toolsets.github import ENVIRONMENT_VARIABLES as GITHUB
    from ssemcp.toolsets.hackernews import ENVIRONMENT_VARIABLES as HACKERNEWS
    from ssemcp.toolsets.weather import ENVIRONMENT_VARIABLES as WEATHER

    return {"hackernews": dict(HACKERNEWS), "weather": dict(WEATHER), "github": dict(GITHUB)}


# Name -> registration function, imported lazily so a tool set's dependencies load only when
# it is chosen. A registration raises ValueError for a bad setting in the environment.
TOOLSETS: Final[dict[str, Callable[[Server, Mapping[str, str]], None]]] = {
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


def build_server(
    toolsets: Sequence[str] = DEFAULT_TOOLSETS, environ: Mapping[str, str] | None = None
) -> Server:
    """The built-in server with the named tool sets registered.

    Args:
        environ: where the tool sets read their settings (base URLs, timeouts, cache TTLs,
            ``GITHUB_TOKEN``: see :func:`settings_variables`); the process environment when
            None.

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
            TOOLSETS[name](server, os.environ if environ is None else environ)
        except ValueError as exc:
            raise LocalProtocolError(f"toolset {name}: {exc}") from None
    return server
