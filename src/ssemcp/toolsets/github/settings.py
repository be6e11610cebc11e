"""``GitHubSettings``: where the GitHub tool set finds the REST API and how it treats it.

Owns the tunables (base URL, token, timeout, concurrency, retries, cache lifetimes) and
reading them from ``SSEMCP_GITHUB_*`` and ``GITHUB_TOKEN``. The token is kept out of the
settings' ``repr`` so that no log line or traceback shows it. Using them is :mod:`.api`'s
business.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ssemcp.toolsets._upstream import (
    DEFAULT_BACKOFF_SECONDS,
    DEFAULT_CACHE_MAX_ENTRIES,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_TIMEOUT_SECONDS,
    env_float,
    env_int,
    env_str,
)

__all__ = ["ENVIRONMENT_VARIABLES", "GitHubSettings"]

# docs.github.com/en/rest: "https://api.github.com" is the REST API's root.
DEFAULT_GITHUB_API_URL: Final = "https://api.github.com"
# docs.github.com/en/rest/about-the-rest-api/api-versions: the version this tool set was
# written against, sent as X-GitHub-Api-Version so that later breaking changes do not apply.
DEFAULT_API_VERSION: Final = "2022-11-28"
# 5 minutes (the figure): stars and pushes change by the minute, but nobody asking
# a model about a repository needs them fresher, and unauthenticated clients get only 60
# requests an hour (10 searches a minute).
DEFAULT_REPO_TTL_SECONDS: Final = 300.0
DEFAULT_SEARCH_TTL_SECONDS: Final = 300.0

# Environment variable -> what it sets (for --help texts and the README).
ENVIRONMENT_VARIABLES: Final = {
    "GITHUB_TOKEN": "GitHub token, sent as 'Authorization: Bearer' (raises the rate limit)",
    "SSEMCP_GITHUB_API_URL": "base URL of the GitHub REST API",
    "SSEMCP_GITHUB_TIMEOUT_SECONDS": "timeout of one upstream request",
    "SSEMCP_GITHUB_MAX_CONCURRENCY": "upstream requests in flight at once",
    "SSEMCP_GITHUB_MAX_ATTEMPTS": "attempts per upstream request (timeouts, 5xx are retried)",
    "SSEMCP_GITHUB_BACKOFF_SECONDS": "wait before the first retry (doubles each time)",
    "SSEMCP_GITHUB_CACHE_MAX_ENTRIES": "cached upstream answers kept",
    "SSEMCP_GITHUB_REPO_TTL_SECONDS": "how long a repository's details are cached",
    "SSEMCP_GITHUB_SEARCH_TTL_SECONDS": "how long a search (or trending list) is cached",
}


@dataclass(frozen=True, slots=True)
class GitHubSettings:
    """How the GitHub tool set reaches the REST API."""

    api_url: str = DEFAULT_GITHUB_API_URL
    token: str | None = field(default=None, repr=False)
    api_version: str = DEFAULT_API_VERSION
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS
    cache_max_entries: int = DEFAULT_CACHE_MAX_ENTRIES
    repo_ttl_seconds: float = DEFAULT_REPO_TTL_SECONDS
    search_ttl_seconds: float = DEFAULT_SEARCH_TTL_SECONDS

    def __post_init__(self) -> None:
        if not self.api_url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) base URL: {self.api_url!r}")
        if self.token is not None and (not self.token.strip() or "\n" in self.token):
            raise ValueError("GITHUB_TOKEN is empty or spans several lines")
        if self.timeout_seconds <= 0:
            raise ValueError("the timeout must be positive")
        if min(self.max_concurrency, self.max_attempts, self.cache_max_entries) < 1:
            raise ValueError("concurrency, attempts and cache size must be at least 1")

    @property
    def has_token(self) -> bool:
        return self.token is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GitHubSettings:
        """Settings from ``GITHUB_TOKEN`` and ``SSEMCP_GITHUB_*`` variables; unset ones keep
        their defaults (an empty ``GITHUB_TOKEN`` counts as unset).

        Raises:
            ValueError: a variable holds a value out of range or of the wrong type.
        """
        env = os.environ if environ is None else environ
        return cls(
            api_url=env_str(env, "SSEMCP_GITHUB_API_URL", DEFAULT_GITHUB_API_URL),
            token=env.get("GITHUB_TOKEN", "").strip() or None,
            timeout_seconds=env_float(
                env, "SSEMCP_GITHUB_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS, minimum=0.001
            ),
            max_concurrency=env_int(
                env, "SSEMCP_GITHUB_MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY, minimum=1
            ),
            max_attempts=env_int(
                env, "SSEMCP_GITHUB_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, minimum=1
            ),
            backoff_seconds=env_float(
                env, "SSEMCP_GITHUB_BACKOFF_SECONDS", DEFAULT_BACKOFF_SECONDS
            ),
            cache_max_entries=env_int(
                env, "SSEMCP_GITHUB_CACHE_MAX_ENTRIES", DEFAULT_CACHE_MAX_ENTRIES, minimum=1
            ),
            repo_ttl_seconds=env_float(
                env, "SSEMCP_GITHUB_REPO_TTL_SECONDS", DEFAULT_REPO_TTL_SECONDS
            ),
            search_ttl_seconds=env_float(
                env, "SSEMCP_GITHUB_SEARCH_TTL_SECONDS", DEFAULT_SEARCH_TTL_SECONDS
            ),
        )
