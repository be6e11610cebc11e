"""Fixtures of the tool set tests: tool-set clients on fixture upstreams.

``upstream`` is the fixture HN APIs; ``test_weather.py`` and ``test_github.py`` override it
with the fixture Open-Meteo and GitHub APIs, which their ``make_weather`` / ``make_github``
then use.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# tests/ has no packages: make the fixture upstreams and the in-memory MCP client importable.
_TESTS = Path(__file__).resolve().parent.parent
for _directory in (_TESTS / "fixtures", _TESTS / "server"):
    if str(_directory) not in sys.path:
        sys.path.insert(0, str(_directory))

from hackernews_upstream import HackerNewsFixture  # noqa: E402
from toolset_harness import MakeTools, StartTools, ToolClient  # noqa: E402
from weather_github_upstream import WeatherGitHubFixture  # noqa: E402


@pytest.fixture
def upstream() -> Iterator[HackerNewsFixture]:
    """The fixture HN APIs on a free 127.0.0.1 port; stopped after the test. (The weather
    and GitHub tests override it with theirs.)"""
    with HackerNewsFixture() as fixture:
        yield fixture


@pytest.fixture
async def start_tools() -> AsyncIterator[StartTools]:
    """``start_tools(ToolClient.hackernews, upstream, **options)``: a started client, closed
    after the test with every other one started so."""
    started: list[ToolClient] = []

    async def start(
        starter: Callable[..., Awaitable[ToolClient]], *args: Any, **options: Any
    ) -> ToolClient:
        tools = await starter(*args, **options)
        started.append(tools)
        return tools

    yield start
    for tools in started:
        await tools.close()


@pytest.fixture
def make_hn(upstream: HackerNewsFixture, start_tools: StartTools) -> MakeTools:
    """Build servers with the HN tool set on ``upstream``, each with an initialized in-memory
    client (``capabilities=`` for the client, settings overrides as keywords)."""
    return functools.partial(start_tools, ToolClient.hackernews, upstream)


@pytest.fixture
async def hn(make_hn: MakeTools) -> ToolClient:
    """A server with the HN tool set and default test settings."""
    return await make_hn()


@pytest.fixture
def make_weather(upstream: WeatherGitHubFixture, start_tools: StartTools) -> MakeTools:
    """Build servers with the weather tool set on ``upstream`` (settings overrides as
    keywords)."""
    return functools.partial(start_tools, ToolClient.weather, upstream)


@pytest.fixture
async def weather(make_weather: MakeTools) -> ToolClient:
    """A server with the weather tool set and default test settings."""
    return await make_weather()


@pytest.fixture
def make_github(upstream: WeatherGitHubFixture, start_tools: StartTools) -> MakeTools:
    """Build servers with the GitHub tool set on ``upstream`` (settings overrides as
    keywords)."""
    return functools.partial(start_tools, ToolClient.github, upstream)


@pytest.fixture
async def github(make_github: MakeTools) -> ToolClient:
    """A server with the GitHub tool set and default test settings (no token)."""
    return await make_github()
