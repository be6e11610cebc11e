"""What every web tool set's settings share: how it treats an upstream, read from the
environment under the tool set's own prefix.

Owns :class:`UpstreamSettings` (timeout, concurrency, attempts, backoff and cache size, with
their checks), reading those five from ``{prefix}_*`` variables (:func:`upstream_env`), and
describing them and their defaults (:func:`upstream_variables`, :func:`upstream_defaults`).
Base URLs, tokens, cache lifetimes and budgets are each tool set's ``settings.py``; parsing one
variable is :mod:`._upstream`'s ``env_*``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict

from ssemcp.toolsets._upstream import (
    DEFAULT_BACKOFF_SECONDS,
    DEFAULT_CACHE_MAX_ENTRIES,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_TIMEOUT_SECONDS,
    env_float,
    env_int,
)

__all__ = [
    "SettingValue",
    "UpstreamEnv",
    "UpstreamSettings",
    "check_base_urls",
    "upstream_defaults",
    "upstream_env",
    "upstream_variables",
]


class UpstreamEnv(TypedDict):
    """The :class:`UpstreamSettings` fields as read from the environment."""

    timeout_seconds: float
    max_concurrency: int
    max_attempts: int
    backoff_seconds: float
    cache_max_entries: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UpstreamSettings:
    """How a tool set treats its upstreams; each tool set's settings extend it."""

    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS
    cache_max_entries: int = DEFAULT_CACHE_MAX_ENTRIES

    def check_limits(self) -> None:
        """Raises:
        ValueError: concurrency, attempts or cache size is below 1."""
        if min(self.max_concurrency, self.max_attempts, self.cache_max_entries) < 1:
            raise ValueError("concurrency, attempts and cache size must be at least 1")


def check_base_urls(*urls: str) -> None:
    """Raises:
    ValueError: one of ``urls`` is not an http(s) URL."""
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) base URL: {url!r}")


def upstream_env(environ: Mapping[str, str], prefix: str) -> UpstreamEnv:
    """The :class:`UpstreamSettings` fields from ``{prefix}_TIMEOUT_SECONDS``,
    ``_MAX_CONCURRENCY``, ``_MAX_ATTEMPTS``, ``_BACKOFF_SECONDS`` and ``_CACHE_MAX_ENTRIES``;
    unset ones keep their defaults.

    Raises:
        ValueError: a variable holds a value out of range or of the wrong type.
    """
    return UpstreamEnv(
        timeout_seconds=env_float(
            environ, f"{prefix}_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS, minimum=0.001
        ),
        max_concurrency=env_int(
            environ, f"{prefix}_MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY, minimum=1
        ),
        max_attempts=env_int(environ, f"{prefix}_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, minimum=1),
        backoff_seconds=env_float(environ, f"{prefix}_BACKOFF_SECONDS", DEFAULT_BACKOFF_SECONDS),
        cache_max_entries=env_int(
            environ, f"{prefix}_CACHE_MAX_ENTRIES", DEFAULT_CACHE_MAX_ENTRIES, minimum=1
        ),
    )


# What a setting is while its variable is unset (None: nothing, e.g. no token).
SettingValue = str | int | float | None


def upstream_defaults(prefix: str) -> dict[str, SettingValue]:
    """Variable -> default, for the variables :func:`upstream_env` reads."""
    return {
        f"{prefix}_TIMEOUT_SECONDS": DEFAULT_TIMEOUT_SECONDS,
        f"{prefix}_MAX_CONCURRENCY": DEFAULT_MAX_CONCURRENCY,
        f"{prefix}_MAX_ATTEMPTS": DEFAULT_MAX_ATTEMPTS,
        f"{prefix}_BACKOFF_SECONDS": DEFAULT_BACKOFF_SECONDS,
        f"{prefix}_CACHE_MAX_ENTRIES": DEFAULT_CACHE_MAX_ENTRIES,
    }


def upstream_variables(prefix: str, *, per_api: bool) -> dict[str, str]:
    """Variable -> what it sets, for the variables :func:`upstream_env` reads.

    Args:
        per_api: the tool set has more than one upstream, each with its own concurrency
            bound and cache.
    """
    each = ", per API" if per_api else ""
    return {
        f"{prefix}_TIMEOUT_SECONDS": "timeout of one upstream request",
        f"{prefix}_MAX_CONCURRENCY": f"upstream requests in flight at once{each}",
        f"{prefix}_MAX_ATTEMPTS": "attempts per upstream request (timeouts, 5xx are retried)",
        f"{prefix}_BACKOFF_SECONDS": "wait before the first retry (doubles each time)",
        f"{prefix}_CACHE_MAX_ENTRIES": f"cached upstream answers kept{each}",
    }
