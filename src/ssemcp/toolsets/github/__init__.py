"""The GitHub tool set: repositories, repository search and what is trending, as MCP tools.

Owns describing GitHub to MCP: the tools ``github_repo``, ``github_search_repos`` and
``github_trending``, and translating failures (no such repository, a rate limit with its reset
time, a failing upstream) into ``isError`` results a model can act on. Fetching is
:mod:`.api`'s job, reading GitHub's refusals :mod:`.refusals`', the output shapes
:mod:`.models`', their readable text :mod:`.render`'.

No token is needed; ``GITHUB_TOKEN`` raises the rate limit from 60 to 5000 requests an hour
(and searches from 10 to 30 a minute). It is sent as ``Authorization: Bearer`` and never
logged.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Annotated, Final

import httpx
from pydantic import Field

from ssemcp.errors import ToolError
from ssemcp.server.content import ToolAnnotations, ToolResult
from ssemcp.server.registry import Server
from ssemcp.toolsets._upstream import UpstreamError
from ssemcp.toolsets.github.api import (
    LANGUAGE_PATTERN,
    OWNER_PATTERN,
    REPO_PATTERN,
    GitHubAPI,
    InvalidName,
    SearchSort,
)
from ssemcp.toolsets.github.models import (
    Repository,
    SearchResults,
    Since,
    TrendingRepositories,
)
from ssemcp.toolsets.github.render import render_repository, render_search, render_trending
from ssemcp.toolsets.github.settings import ENVIRONMENT_VARIABLES, GitHubSettings

__all__ = ["ENVIRONMENT_VARIABLES", "GitHubSettings", "register"]

_READ_ONLY: Final = ToolAnnotations(
    read_only=True, destructive=False, idempotent=True, open_world=True
)
# docs.github.com search: "The query can be no longer than 256 characters (not including
# operators or qualifiers)"; the language qualifier is added by us.
MAX_QUERY_CHARS: Final = 256
# 50 a call (the issue): a page a model can read; GitHub allows 100 per page.
MAX_RESULTS: Final = 50
DEFAULT_RESULTS: Final = 10

Language = Annotated[
    str | None,
    Field(
        pattern=LANGUAGE_PATTERN,
        description="Only repositories whose main language is this (GitHub's name for it: "
        "Python, TypeScript, C++, Jupyter Notebook ...).",
    ),
]
Limit = Annotated[int, Field(ge=1, le=MAX_RESULTS)]


@contextlib.contextmanager
def _tool_errors() -> Iterator[None]:
    """Bad names and upstream failures become ``isError`` results with their message."""
    try:
        yield
    except (InvalidName, UpstreamError) as exc:
        raise ToolError(str(exc)) from None


def register(
    server: Server,
    settings: GitHubSettings | None = None,
    *,
    now: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Add the GitHub tools to ``server``.

    Args:
        settings: base URL, token and tunables; ``GitHubSettings.from_env()`` when None.
        now: the clock of the cache (tests inject one).
        wall_clock: UTC epoch seconds, for rate-limit resets, trending windows and the ages
            shown in the text (tests inject one).
        transport: an httpx transport instead of the network (tests).
    """
    settings = settings or GitHubSettings.from_env()
    api = GitHubAPI(settings, now=now, wall_clock=wall_clock, transport=transport)
    server.add_cleanup(api.aclose)

    @server.tool(title="GitHub repository", annotations=_READ_ONLY, output_type=Repository)
    async def github_repo(
        owner: Annotated[
            str, Field(pattern=OWNER_PATTERN, description="The user or organization.")
        ],
        repo: Annotated[str, Field(pattern=REPO_PATTERN, description="The repository name.")],
    ) -> ToolResult:
        """Get a public GitHub repository's details: description, main language, stars,
        forks, watchers, open issues and pull requests, topics, license, homepage, default
        branch, and when it was created and last pushed to.

        Args:
            owner: the user or organization, e.g. "python" in python/cpython.
            repo: the repository name, e.g. "cpython".
        """
        with _tool_errors():
            details = await api.repository(owner, repo)
        return ToolResult([render_repository(details, wall_clock())], structured=details)

    @server.tool(
        title="Search GitHub repositories", annotations=_READ_ONLY, output_type=SearchResults
    )
    async def github_search_repos(
        query: Annotated[str, Field(max_length=MAX_QUERY_CHARS)] = "",
        language: Language = None,
        sort: SearchSort = "best-match",
        limit: Limit = DEFAULT_RESULTS,
    ) -> ToolResult:
        """Search public GitHub repositories by words in their name, description, topics or
        README, optionally only in one language, sorted by relevance, stars, forks or recent
        updates. GitHub's search qualifiers work in the query too (e.g. "stars:>1000
        topic:mcp"). Use github_repo for one repository's details.

        Args:
            query: words to search for; may be empty when a language is given.
            language: only repositories whose main language is this.
            sort: best-match (relevance), stars, forks or updated (most recent first).
            limit: how many repositories, 1 to 50.
        """
        with _tool_errors():
            results = await api.search(query, language, sort, limit)
        return ToolResult([render_search(results)], structured=results)

    @server.tool(
        title="Trending GitHub repositories",
        annotations=_READ_ONLY,
        output_type=TrendingRepositories,
    )
    async def github_trending(
        language: Language = None,
        since: Since = "week",
        limit: Limit = DEFAULT_RESULTS,
    ) -> ToolResult:
        """List the most-starred GitHub repositories created in the last day, week or month,
        optionally in one language. GitHub has no trending API, so this is an approximation
        (a search by stars among recently created repositories): older projects that are
        popular again do not appear.

        Args:
            language: only repositories whose main language is this.
            since: day, week or month: how recently the repositories were created.
            limit: how many repositories, 1 to 50.
        """
        with _tool_errors():
            trending = await api.trending(language, since, limit)
        return ToolResult([render_trending(trending)], structured=trending)
