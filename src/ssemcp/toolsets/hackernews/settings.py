"""``HackerNewsSettings``: where the HN tool set finds its upstreams and how it treats them.

Owns the tunables (base URLs, timeouts, concurrency, retries, cache lifetimes, the Algolia
budget, the polling interval) and reading them from ``SSEMCP_HN_*`` / ``SSEMCP_ALGOLIA_*``
environment variables. Using them is :mod:`.api`'s and :mod:`.subscriptions`' business.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
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

__all__ = ["ENVIRONMENT_VARIABLES", "HackerNewsSettings"]

# The official HN API (https://github.com/HackerNews/API), served by Firebase.
DEFAULT_HN_API_URL: Final = "https://hacker-news.firebaseio.com/v0"
# The HN Search API (https://hn.algolia.com/api).
DEFAULT_ALGOLIA_API_URL: Final = "https://hn.algolia.com/api/v1"
# Cache lifetimes from the issue: feeds move quickly (HN recomputes rank about every 30 s),
# items change as votes and replies arrive, profiles hardly at all.
DEFAULT_STORIES_TTL_SECONDS: Final = 30.0
DEFAULT_ITEMS_TTL_SECONDS: Final = 300.0
DEFAULT_USERS_TTL_SECONDS: Final = 600.0
DEFAULT_SEARCH_TTL_SECONDS: Final = 60.0
# hn.algolia.com/api: "We are limiting the number of API requests from a single IP to
# 10,000 per hour."
DEFAULT_ALGOLIA_REQUESTS_PER_HOUR: Final = 10_000
# /v0/updates.json changes every few seconds; 30 s keeps a subscription cheap (the issue).
DEFAULT_POLL_INTERVAL_SECONDS: Final = 30.0

# Environment variable -> what it sets (for --help texts and the README).
ENVIRONMENT_VARIABLES: Final = {
    "SSEMCP_HN_API_URL": "base URL of the HN Firebase API",
    "SSEMCP_ALGOLIA_API_URL": "base URL of the HN Algolia search API",
    "SSEMCP_HN_TIMEOUT_SECONDS": "timeout of one upstream request",
    "SSEMCP_HN_MAX_CONCURRENCY": "upstream requests in flight at once, per API",
    "SSEMCP_HN_MAX_ATTEMPTS": "attempts per upstream request (timeouts, 5xx are retried)",
    "SSEMCP_HN_BACKOFF_SECONDS": "wait before the first retry (doubles each time)",
    "SSEMCP_HN_CACHE_MAX_ENTRIES": "cached upstream answers kept, per API",
    "SSEMCP_HN_STORIES_TTL_SECONDS": "how long a story feed is cached",
    "SSEMCP_HN_ITEMS_TTL_SECONDS": "how long an item (and an Algolia thread) is cached",
    "SSEMCP_HN_USERS_TTL_SECONDS": "how long a user profile is cached",
    "SSEMCP_HN_SEARCH_TTL_SECONDS": "how long a search result is cached",
    "SSEMCP_ALGOLIA_REQUESTS_PER_HOUR": "request budget for the Algolia API",
    "SSEMCP_HN_POLL_INTERVAL_SECONDS": "how often subscriptions poll /updates.json",
}


@dataclass(frozen=True, slots=True)
class HackerNewsSettings:
    """How the Hacker News tool set reaches its two upstreams."""

    api_url: str = DEFAULT_HN_API_URL
    algolia_url: str = DEFAULT_ALGOLIA_API_URL
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS
    cache_max_entries: int = DEFAULT_CACHE_MAX_ENTRIES
    stories_ttl_seconds: float = DEFAULT_STORIES_TTL_SECONDS
    items_ttl_seconds: float = DEFAULT_ITEMS_TTL_SECONDS
    users_ttl_seconds: float = DEFAULT_USERS_TTL_SECONDS
    search_ttl_seconds: float = DEFAULT_SEARCH_TTL_SECONDS
    algolia_requests_per_hour: int = DEFAULT_ALGOLIA_REQUESTS_PER_HOUR
    poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS

    def __post_init__(self) -> None:
        for url in (self.api_url, self.algolia_url):
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"not an http(s) base URL: {url!r}")
        if self.timeout_seconds <= 0 or self.poll_interval_seconds <= 0:
            raise ValueError("timeouts and the poll interval must be positive")
        if min(self.max_concurrency, self.max_attempts, self.cache_max_entries) < 1:
            raise ValueError("concurrency, attempts and cache size must be at least 1")
        if self.algolia_requests_per_hour < 1:
            raise ValueError("the Algolia request budget must be at least 1 per hour")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HackerNewsSettings:
        """Settings from ``SSEMCP_HN_*`` and ``SSEMCP_ALGOLIA_*`` variables; unset ones keep
        their defaults.

        Raises:
            ValueError: a variable holds a value out of range or of the wrong type.
        """
        env = os.environ if environ is None else environ
        return cls(
            api_url=env_str(env, "SSEMCP_HN_API_URL", DEFAULT_HN_API_URL),
            algolia_url=env_str(env, "SSEMCP_ALGOLIA_API_URL", DEFAULT_ALGOLIA_API_URL),
            timeout_seconds=env_float(
                env, "SSEMCP_HN_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS, minimum=0.001
            ),
            max_concurrency=env_int(
                env, "SSEMCP_HN_MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY, minimum=1
            ),
            max_attempts=env_int(env, "SSEMCP_HN_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, minimum=1),
            backoff_seconds=env_float(env, "SSEMCP_HN_BACKOFF_SECONDS", DEFAULT_BACKOFF_SECONDS),
            cache_max_entries=env_int(
                env, "SSEMCP_HN_CACHE_MAX_ENTRIES", DEFAULT_CACHE_MAX_ENTRIES, minimum=1
            ),
            stories_ttl_seconds=env_float(
                env, "SSEMCP_HN_STORIES_TTL_SECONDS", DEFAULT_STORIES_TTL_SECONDS
            ),
            items_ttl_seconds=env_float(
                env, "SSEMCP_HN_ITEMS_TTL_SECONDS", DEFAULT_ITEMS_TTL_SECONDS
            ),
            users_ttl_seconds=env_float(
                env, "SSEMCP_HN_USERS_TTL_SECONDS", DEFAULT_USERS_TTL_SECONDS
            ),
            search_ttl_seconds=env_float(
                env, "SSEMCP_HN_SEARCH_TTL_SECONDS", DEFAULT_SEARCH_TTL_SECONDS
            ),
            algolia_requests_per_hour=env_int(
                env,
                "SSEMCP_ALGOLIA_REQUESTS_PER_HOUR",
                DEFAULT_ALGOLIA_REQUESTS_PER_HOUR,
                minimum=1,
            ),
            poll_interval_seconds=env_float(
                env, "SSEMCP_HN_POLL_INTERVAL_SECONDS", DEFAULT_POLL_INTERVAL_SECONDS, minimum=0.001
            ),
        )
