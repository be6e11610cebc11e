"""``GitHubSettings``: where the GitHub tool set finds the REST API and how it treats it.

Owns the tunables (base URL, token, timeout, concurrency, retries, cache lifetimes) and
reading them from ``SSEMCP_GITHUB_*`` and ``GITHUB_TOKEN``. The token is kept out of the
settings' ``repr`` so that no log line or traceback shows it. Timeout, concurrency, retries
and cache size are :class:`~ssemcp.toolsets._settings.UpstreamSettings`; using them all is
:mod:`.api`'s business.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ssemcp.toolsets._settings import (
    SettingValue,
    UpstreamSettings,
    check_base_urls,
    upstream_defaults,
    upstream_env,
    upstream_variables,
)
from ssemcp.toolsets._upstream import env_float, env_str

__all__ = ["ENVIRONMENT_DEFAULTS", "ENVIRONMENT_VARIABLES", "GitHubSettings"]

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
    **upstream_variables("SSEMCP_GITHUB", per_api=False),
    "SSEMCP_GITHUB_REPO_TTL_SECONDS": "how long a repository's details are cached",
    "SSEMCP_GITHUB_SEARCH_TTL_SECONDS": "how long a search (or trending list) is cached",
}
# Environment variable -> the value in use while it is unset (``ssemcp settings``).
ENVIRONMENT_DEFAULTS: Final[dict[str, SettingValue]] = {
    "GITHUB_TOKEN": None,
    "SSEMCP_GITHUB_API_URL": DEFAULT_GITHUB_API_URL,
    **upstream_defaults("SSEMCP_GITHUB"),
    "SSEMCP_GITHUB_REPO_TTL_SECONDS": DEFAULT_REPO_TTL_SECONDS,
    "SSEMCP_GITHUB_SEARCH_TTL_SECONDS": DEFAULT_SEARCH_TTL_SECONDS,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class GitHubSettings(UpstreamSettings):
    """How the GitHub tool set reaches the REST API."""

    api_url: str = DEFAULT_GITHUB_API_URL
    token: str | None = field(default=None, repr=False)
    api_version: str = DEFAULT_API_VERSION
    repo_ttl_seconds: float = DEFAULT_REPO_TTL_SECONDS
    search_ttl_seconds: float = DEFAULT_SEARCH_TTL_SECONDS

    def __post_init__(self) -> None:
        check_base_urls(self.api_url)
        if self.token is not None and (not self.token.strip() or "\n" in self.token):
            raise ValueError("GITHUB_TOKEN is empty or spans several lines")
        if self.timeout_seconds <= 0:
            raise ValueError("the timeout must be positive")
        self.check_limits()

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
            **upstream_env(env, "SSEMCP_GITHUB"),
            repo_ttl_seconds=env_float(
                env, "SSEMCP_GITHUB_REPO_TTL_SECONDS", DEFAULT_REPO_TTL_SECONDS
            ),
            search_ttl_seconds=env_float(
                env, "SSEMCP_GITHUB_SEARCH_TTL_SECONDS", DEFAULT_SEARCH_TTL_SECONDS
            ),
        )
