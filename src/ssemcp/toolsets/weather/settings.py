"""``WeatherSettings``: where the weather tool set finds Open-Meteo and how it treats it.

Owns the tunables (base URLs, timeout, concurrency, retries, cache lifetimes, the request
budget) and reading them from ``SSEMCP_OPEN_METEO_*`` / ``SSEMCP_WEATHER_*`` environment
variables. Timeout, concurrency, retries and cache size are
:class:`~ssemcp.toolsets._settings.UpstreamSettings`; using them all is :mod:`.api`'s business.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ssemcp.toolsets._settings import (
    SettingValue,
    UpstreamSettings,
    check_base_urls,
    upstream_defaults,
    upstream_env,
    upstream_variables,
)
from ssemcp.toolsets._upstream import env_float, env_int, env_str

__all__ = ["ENVIRONMENT_DEFAULTS", "ENVIRONMENT_VARIABLES", "WeatherSettings"]

# https://open-meteo.com/en/docs: the forecast endpoint is {this}/forecast.
DEFAULT_OPEN_METEO_URL: Final = "https://api.open-meteo.com/v1"
# https://open-meteo.com/en/docs/geocoding-api: the search endpoint is {this}/search.
DEFAULT_GEOCODING_URL: Final = "https://geocoding-api.open-meteo.com/v1"
# Open-Meteo's models update hourly and "current" values every 15 minutes: 10 minutes (the
# issue's figure) never serves weather more than one update old.
DEFAULT_FORECAST_TTL_SECONDS: Final = 600.0
# Places do not move: a day keeps repeated questions about one city to one geocoding call.
DEFAULT_GEOCODING_TTL_SECONDS: Final = 86_400.0
# open-meteo.com/en/terms: free non-commercial use is "less than 10'000 daily API calls,
# 5'000 hourly and 600 minutely"; we keep to the minutely figure, shared by both endpoints.
DEFAULT_REQUESTS_PER_MINUTE: Final = 600

# Environment variable -> what it sets (for --help texts and the README).
ENVIRONMENT_VARIABLES: Final = {
    "SSEMCP_OPEN_METEO_URL": "base URL of the Open-Meteo forecast API",
    "SSEMCP_OPEN_METEO_GEOCODING_URL": "base URL of the Open-Meteo geocoding API",
    **upstream_variables("SSEMCP_WEATHER", per_api=True),
    "SSEMCP_WEATHER_FORECAST_TTL_SECONDS": "how long a forecast (or current weather) is cached",
    "SSEMCP_WEATHER_GEOCODING_TTL_SECONDS": "how long a place-name lookup is cached",
    "SSEMCP_OPEN_METEO_REQUESTS_PER_MINUTE": "request budget for Open-Meteo (both APIs)",
}
# Environment variable -> the value in use while it is unset (``ssemcp settings``).
ENVIRONMENT_DEFAULTS: Final[dict[str, SettingValue]] = {
    "SSEMCP_OPEN_METEO_URL": DEFAULT_OPEN_METEO_URL,
    "SSEMCP_OPEN_METEO_GEOCODING_URL": DEFAULT_GEOCODING_URL,
    **upstream_defaults("SSEMCP_WEATHER"),
    "SSEMCP_WEATHER_FORECAST_TTL_SECONDS": DEFAULT_FORECAST_TTL_SECONDS,
    "SSEMCP_WEATHER_GEOCODING_TTL_SECONDS": DEFAULT_GEOCODING_TTL_SECONDS,
    "SSEMCP_OPEN_METEO_REQUESTS_PER_MINUTE": DEFAULT_REQUESTS_PER_MINUTE,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class WeatherSettings(UpstreamSettings):
    """How the weather tool set reaches Open-Meteo."""

    forecast_url: str = DEFAULT_OPEN_METEO_URL
    geocoding_url: str = DEFAULT_GEOCODING_URL
    forecast_ttl_seconds: float = DEFAULT_FORECAST_TTL_SECONDS
    geocoding_ttl_seconds: float = DEFAULT_GEOCODING_TTL_SECONDS
    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE

    def __post_init__(self) -> None:
        check_base_urls(self.forecast_url, self.geocoding_url)
        if self.timeout_seconds <= 0:
            raise ValueError("the timeout must be positive")
        self.check_limits()
        if self.requests_per_minute < 1:
            raise ValueError("the Open-Meteo request budget must be at least 1 per minute")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WeatherSettings:
        """Settings from ``SSEMCP_OPEN_METEO_*`` and ``SSEMCP_WEATHER_*`` variables; unset ones
        keep their defaults.

        Raises:
            ValueError: a variable holds a value out of range or of the wrong type.
        """
        env = os.environ if environ is None else environ
        return cls(
            forecast_url=env_str(env, "SSEMCP_OPEN_METEO_URL", DEFAULT_OPEN_METEO_URL),
            geocoding_url=env_str(env, "SSEMCP_OPEN_METEO_GEOCODING_URL", DEFAULT_GEOCODING_URL),
            **upstream_env(env, "SSEMCP_WEATHER"),
            forecast_ttl_seconds=env_float(
                env, "SSEMCP_WEATHER_FORECAST_TTL_SECONDS", DEFAULT_FORECAST_TTL_SECONDS
            ),
            geocoding_ttl_seconds=env_float(
                env, "SSEMCP_WEATHER_GEOCODING_TTL_SECONDS", DEFAULT_GEOCODING_TTL_SECONDS
            ),
            requests_per_minute=env_int(
                env,
                "SSEMCP_OPEN_METEO_REQUESTS_PER_MINUTE",
                DEFAULT_REQUESTS_PER_MINUTE,
                minimum=1,
            ),
        )
