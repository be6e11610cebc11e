"""``GitHubAPI``: what the GitHub tools need from the REST API.

Owns the requests (which path, which parameters and headers, which cache lifetime), checking
names and search terms before they reach GitHub, and building the search queries (trending is
a search by stars over recently created repositories: GitHub has no trending API). HTTP
plumbing is :mod:`ssemcp.toolsets._upstream`'s, refusals :mod:`.refusals`', the output shapes
:mod:`.models`'.

The token (``GITHUB_TOKEN``) travels only in the ``Authorization`` header; it is never part
of a log line, an error message, a cache key or a ``repr``.
"""

from __future__ import annotations

import datetime
import logging
import re
import time
from collections.abc import Callable
from typing import Final, Literal

import httpx

from ssemcp.toolsets._upstream import (
    RetryPolicy,
    TTLCache,
    UpstreamClient,
    UpstreamNotFound,
)
from ssemcp.toolsets.github.models import (
    Repository,
    SearchResults,
    Since,
    TrendingRepositories,
    listing,
    repository_from_github,
    search_page,
)
from ssemcp.toolsets.github.refusals import RefusalReader
from ssemcp.toolsets.github.settings import GitHubSettings

__all__ = [
    "LANGUAGE_PATTERN",
    "OWNER_PATTERN",
    "REPO_PATTERN",
    "GitHubAPI",
    "InvalidName",
    "SearchSort",
    "trending_start",
]

logger = logging.getLogger(__name__)

UPSTREAM: Final = "The GitHub API"
SearchSort = Literal["stars", "forks", "updated", "best-match"]
# GitHub's sign-up form: a username "may only contain alphanumeric characters or single
# hyphens, and cannot begin or end with a hyphen", at most 39 characters. Some old accounts
# break the hyphen rules, so only the characters, the first one and the length are checked.
OWNER_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$"
# Repository names: letters, digits, '.', '-' and '_' (GitHub replaces anything else with
# '-' on creation), at most 100 characters; '.' and '..' are refused (checked in code: the
# JSON Schema pattern dialect has no lookahead to say so).
REPO_PATTERN: Final = r"^[A-Za-z0-9._-]{1,100}$"
# Linguist language names: letters, digits, spaces and + # . - ' ("C++", "F#",
# "Objective-C", "Jupyter Notebook", "Ren'Py"); the longest is under 40 characters.
LANGUAGE_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9 +#.'-]{0,39}$"
_LANGUAGE: Final = re.compile(LANGUAGE_PATTERN)
# Trending windows, in days.
_WINDOW_DAYS: Final[dict[Since, int]] = {"day": 1, "week": 7, "month": 30}


class InvalidName(ValueError):
    """An owner, repository or language that GitHub could not have."""


def _language_qualifier(language: str) -> str:
    if not _LANGUAGE.fullmatch(language):
        raise InvalidName(f"{language!r} is not a GitHub language name (e.g. Python, C++, Go).")
    return f'language:"{language}"' if " " in language else f"language:{language}"


def trending_start(since: Since, now: float) -> datetime.date:
    """The first day of the window: the UTC date ``since`` ago (so it spans at least that)."""
    moment = datetime.datetime.fromtimestamp(now, datetime.UTC)
    return (moment - datetime.timedelta(days=_WINDOW_DAYS[since])).date()


class GitHubAPI:
    """The GitHub REST API, behind one object per server.

    Args:
        settings: base URL, token and tunables.
        now: the clock of the cache.
        wall_clock: UTC epoch seconds, for rate-limit resets and trending windows.
        transport: an httpx transport (tests); None uses the network.
    """

    def __init__(
        self,
        settings: GitHubSettings,
        *,
        now: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._wall_clock = wall_clock
        # docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api:
        # the recommended media type and the pinned API version.
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": settings.api_version,
        }
        if settings.token is not None:
            headers["Authorization"] = f"Bearer {settings.token}"
        self.client = UpstreamClient(
            UPSTREAM,
            settings.api_url,
            timeout_seconds=settings.timeout_seconds,
            max_concurrency=settings.max_concurrency,
            retry=RetryPolicy(settings.max_attempts, settings.backoff_seconds),
            cache=TTLCache(settings.cache_max_entries, now),
            transport=transport,
            headers=headers,
            on_refusal=RefusalReader(settings.has_token, wall_clock),
        )
        logger.debug(
            "GitHub API at %s, token %s", settings.api_url, "set" if settings.has_token else "unset"
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def repository(self, owner: str, repo: str) -> Repository:
        """One repository's details.

        Raises:
            InvalidName: ``repo`` is '.' or '..'.
            UpstreamNotFound: no such repository (or it is private).
            UpstreamError: anything else.
        """
        if repo in (".", ".."):
            raise InvalidName(f"{repo!r} is not a repository name.")
        try:
            answer = await self.client.get_json(
                f"repos/{owner}/{repo}", ttl_seconds=self.settings.repo_ttl_seconds
            )
        except UpstreamNotFound:
            raise UpstreamNotFound(
                f"GitHub has no repository {owner}/{repo} (or it is private). Check the "
                "spelling, or find it with github_search_repos."
            ) from None
        return repository_from_github(answer)

    async def search(
        self, words: str, language: str | None, sort: SearchSort, limit: int
    ) -> SearchResults:
        """One page of ``GET /search/repositories``.

        Raises:
            InvalidName: ``language`` is not a language name.
            UpstreamError: GitHub failed or refused (rate limit, rejected query).
        """
        terms = [words.strip()] if words.strip() else []
        if language:
            terms.append(_language_qualifier(language))
        query = " ".join(terms)
        if not query:
            raise InvalidName("Give words to search for, a language, or both.")
        params = {"q": query, "per_page": str(limit)}
        if sort != "best-match":  # best match is GitHub's default: no sort parameter
            params |= {"sort": sort, "order": "desc"}
        answer = await self.client.get_json(
            "search/repositories", params, ttl_seconds=self.settings.search_ttl_seconds
        )
        total, incomplete, repositories = search_page(answer)
        heading = f"{total:,} repositories match {query!r}" + (
            f"; the top {len(repositories)} by {sort}:" if repositories else "."
        )
        return SearchResults(
            summary=listing(heading, repositories),
            query=query,
            sort=sort,
            total_count=total,
            incomplete_results=incomplete,
            repositories=repositories,
        )

    async def trending(
        self, language: str | None, since: Since, limit: int
    ) -> TrendingRepositories:
        """The most-starred repositories created within ``since``.

        Raises:
            InvalidName: ``language`` is not a language name.
            UpstreamError: GitHub failed or refused.
        """
        start = trending_start(since, self._wall_clock())
        terms = [f"created:>={start.isoformat()}"]
        if language:
            terms.append(_language_qualifier(language))
        query = " ".join(terms)
        answer = await self.client.get_json(
            "search/repositories",
            {"q": query, "sort": "stars", "order": "desc", "per_page": str(limit)},
            ttl_seconds=self.settings.search_ttl_seconds,
        )
        total, _, repositories = search_page(answer)
        heading = (
            f"Most-starred {language + ' ' if language else ''}repositories created since "
            f"{start.isoformat()} ({total:,} in all):"
        )
        return TrendingRepositories(
            summary=listing(heading, repositories),
            since=since,
            created_since=start.isoformat(),
            language=language,
            query=query,
            total_count=total,
            repositories=repositories,
        )
