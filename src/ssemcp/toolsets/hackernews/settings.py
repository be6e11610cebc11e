"""``HackerNewsSettings``: where the HN tool set finds its upstreams and how it treats them.

Owns the tunables (base URLs, timeouts, a call's time limit, concurrency, retries, cache
lifetimes, the Algolia budget, the circuit breakers, the polling interval) and reading them
from ``SSEMCP_HN_*`` / ``SSEMCP_ALGOLIA_*`` environment variables. Timeout, concurrency,
retries and cache size are :class:`~ssemcp.toolsets._settings.UpstreamSettings`; using them
all is :mod:`.api`'s and :mod:`.subscriptions`' business.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ssemcp.toolsets._breaker import (
    DEFAULT_BREAKER_COOLDOWN_SECONDS,
    DEFAULT_BREAKER_FAILURES,
)
from ssemcp.toolsets._deadline import DEFAULT_CALL_DEADLINE_SECONDS
from ssemcp.toolsets._settings import (
    SettingValue,
    UpstreamSettings,
    check_base_urls,
    upstream_defaults,
    upstream_env,
    upstream_variables,
)
from ssemcp.toolsets._upstream import env_float, env_int, env_str

__all__ = ["ENVIRONMENT_DEFAULTS", "ENVIRONMENT_VARIABLES", "HackerNewsSettings"]

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
# hn_thread's try of Algolia before it walks Firebase: items/{id} sends even a thread of
# thousands of comments (a few MB) in a second or two; a hung Algolia then costs a quarter
# of the call's default 20 s, and the walk has the rest.
DEFAULT_ALGOLIA_THREAD_SECONDS: Final = 5.0
# hn.algolia.com/api: "We are limiting the number of API requests from a single IP to
# 10,000 per hour."
DEFAULT_ALGOLIA_REQUESTS_PER_HOUR: Final = 10_000
# /v0/updates.json changes every few seconds; 30 s keeps a subscription cheap (the issue).
DEFAULT_POLL_INTERVAL_SECONDS: Final = 30.0

# Environment variable -> what it sets (for --help texts and the README).
ENVIRONMENT_VARIABLES: Final = {
    "SSEMCP_HN_API_URL": "base URL of the HN Firebase API",
    "SSEMCP_ALGOLIA_API_URL": "base URL of the HN Algolia search API",
    **upstream_variables("SSEMCP_HN", per_api=True),
    "SSEMCP_HN_CALL_DEADLINE_SECONDS": "time limit of all the upstream requests of one call",
    "SSEMCP_HN_STORIES_TTL_SECONDS": "how long a story feed is cached",
    "SSEMCP_HN_ITEMS_TTL_SECONDS": "how long an item (and an Algolia thread) is cached",
    "SSEMCP_HN_USERS_TTL_SECONDS": "how long a user profile is cached",
    "SSEMCP_HN_SEARCH_TTL_SECONDS": "how long a search result is cached",
    "SSEMCP_ALGOLIA_REQUESTS_PER_HOUR": "request budget for the Algolia API",
    "SSEMCP_ALGOLIA_THREAD_SECONDS": "how long hn_thread waits for Algolia before walking Firebase",
    "SSEMCP_HN_BREAKER_FAILURES": "failed requests in a row after which an API is left alone",
    "SSEMCP_HN_BREAKER_COOLDOWN_SECONDS": "how long an API is left alone before it is retried",
    "SSEMCP_HN_POLL_INTERVAL_SECONDS": "how often subscriptions poll /updates.json",
}
# Environment variable -> the value in use while it is unset (``ssemcp settings``).
ENVIRONMENT_DEFAULTS: Final[dict[str, SettingValue]] = {
    "SSEMCP_HN_API_URL": DEFAULT_HN_API_URL,
    "SSEMCP_ALGOLIA_API_URL": DEFAULT_ALGOLIA_API_URL,
    **upstream_defaults("SSEMCP_HN"),
    "SSEMCP_HN_CALL_DEADLINE_SECONDS": DEFAULT_CALL_DEADLINE_SECONDS,
    "SSEMCP_HN_STORIES_TTL_SECONDS": DEFAULT_STORIES_TTL_SECONDS,
    "SSEMCP_HN_ITEMS_TTL_SECONDS": DEFAULT_ITEMS_TTL_SECONDS,
    "SSEMCP_HN_USERS_TTL_SECONDS": DEFAULT_USERS_TTL_SECONDS,
    "SSEMCP_HN_SEARCH_TTL_SECONDS": DEFAULT_SEARCH_TTL_SECONDS,
    "SSEMCP_ALGOLIA_REQUESTS_PER_HOUR": DEFAULT_ALGOLIA_REQUESTS_PER_HOUR,
    "SSEMCP_ALGOLIA_THREAD_SECONDS": DEFAULT_ALGOLIA_THREAD_SECONDS,
    "SSEMCP_HN_BREAKER_FAILURES": DEFAULT_BREAKER_FAILURES,
    "SSEMCP_HN_BREAKER_COOLDOWN_SECONDS": DEFAULT_BREAKER_COOLDOWN_SECONDS,
    "SSEMCP_HN_POLL_INTERVAL_SECONDS": DEFAULT_POLL_INTERVAL_SECONDS,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class HackerNewsSettings(UpstreamSettings):
    """How the Hacker News tool set reaches its two upstreams."""

    api_url: str = DEFAULT_HN_API_URL
    algolia_url: str = DEFAULT_ALGOLIA_API_URL
    # All the upstream requests of one tool call, resource read or prompt, retries included.
    call_deadline_seconds: float = DEFAULT_CALL_DEADLINE_SECONDS
    stories_ttl_seconds: float = DEFAULT_STORIES_TTL_SECONDS
    items_ttl_seconds: float = DEFAULT_ITEMS_TTL_SECONDS
    users_ttl_seconds: float = DEFAULT_USERS_TTL_SECONDS
    search_ttl_seconds: float = DEFAULT_SEARCH_TTL_SECONDS
    algolia_requests_per_hour: int = DEFAULT_ALGOLIA_REQUESTS_PER_HOUR
    algolia_thread_seconds: float = DEFAULT_ALGOLIA_THREAD_SECONDS
    # Each API's circuit breaker: open after this many failed requests in a row, and let a
    # probe through after the cool-down.
    breaker_failures: int = DEFAULT_BREAKER_FAILURES
    breaker_cooldown_seconds: float = DEFAULT_BREAKER_COOLDOWN_SECONDS
    poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS

    def __post_init__(self) -> None:
        check_base_urls(self.api_url, self.algolia_url)
        positive = (
            self.timeout_seconds,
            self.call_deadline_seconds,
            self.algolia_thread_seconds,
            self.poll_interval_seconds,
        )
        if not min(positive) > 0:
            raise ValueError("timeouts, time limits and the poll interval must be positive")
        self.check_limits()
        if self.algolia_requests_per_hour < 1:
            raise ValueError("the Algolia request budget must be at least 1 per hour")
        if self.breaker_failures < 1 or not self.breaker_cooldown_seconds >= 0:
            raise ValueError("a breaker needs at least 1 failure and a cool-down of 0 s or more")

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
            **upstream_env(env, "SSEMCP_HN"),
            call_deadline_seconds=env_float(
                env, "SSEMCP_HN_CALL_DEADLINE_SECONDS", DEFAULT_CALL_DEADLINE_SECONDS, minimum=0.001
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
            algolia_thread_seconds=env_float(
                env, "SSEMCP_ALGOLIA_THREAD_SECONDS", DEFAULT_ALGOLIA_THREAD_SECONDS, minimum=0.001
            ),
            algolia_requests_per_hour=env_int(
                env,
                "SSEMCP_ALGOLIA_REQUESTS_PER_HOUR",
                DEFAULT_ALGOLIA_REQUESTS_PER_HOUR,
                minimum=1,
            ),
            breaker_failures=env_int(
                env, "SSEMCP_HN_BREAKER_FAILURES", DEFAULT_BREAKER_FAILURES, minimum=1
            ),
            breaker_cooldown_seconds=env_float(
                env, "SSEMCP_HN_BREAKER_COOLDOWN_SECONDS", DEFAULT_BREAKER_COOLDOWN_SECONDS
            ),
            poll_interval_seconds=env_float(
                env, "SSEMCP_HN_POLL_INTERVAL_SECONDS", DEFAULT_POLL_INTERVAL_SECONDS, minimum=0.001
            ),
        )
