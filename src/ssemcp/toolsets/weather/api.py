"""``OpenMeteoAPI``: what the weather tools need from Open-Meteo's geocoding and forecast APIs.

Owns the requests (which path, which parameters, which cache lifetime), resolving a typed
location to one place (the rule is :mod:`.places`'), and reading Open-Meteo's own error
answers. HTTP plumbing (retries, cache, concurrency, budget) is
:mod:`ssemcp.toolsets._upstream`'s; the output shapes are :mod:`.models`'.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Final

import httpx

from ssemcp._types import JSONObject, JSONValue
from ssemcp.toolsets._upstream import (
    RequestBudget,
    RetryPolicy,
    TTLCache,
    UpstreamClient,
    UpstreamError,
)
from ssemcp.toolsets.weather.models import (
    CURRENT_QUERY,
    DAILY_QUERY,
    CurrentWeather,
    Forecast,
    current_from_open_meteo,
    forecast_from_open_meteo,
)
from ssemcp.toolsets.weather.places import (
    Coordinates,
    Place,
    PlaceQuery,
    parse_location,
    resolve,
)
from ssemcp.toolsets.weather.settings import WeatherSettings

__all__ = ["OpenMeteoAPI"]

logger = logging.getLogger(__name__)

FORECAST_NAME: Final = "The Open-Meteo forecast API"
GEOCODING_NAME: Final = "The Open-Meteo geocoding API"
# Geocoding results asked for: 10 (the API's default) holds every place that could win the
# dominance rule; with qualifiers ("Springfield, Vermont") a small place may rank far down,
# so the API's maximum, 100, is asked for.
GEOCODING_COUNT: Final = 10
GEOCODING_QUALIFIED_COUNT: Final = 100
# Open-Meteo's terms count calls per minute.
_BUDGET_WINDOW_SECONDS: Final = 60.0
# What a model is shown of Open-Meteo's own error "reason".
_MAX_REASON_CHARS: Final = 300


def _open_meteo_refusal(status: int, headers: httpx.Headers, body: bytes) -> UpstreamError | None:
    """Open-Meteo answers a bad request with 400 and ``{"error": true, "reason": "..."}``."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    reason = answer.get("reason") if isinstance(answer, dict) else None
    if not isinstance(reason, str):
        return None
    return UpstreamError(
        f"Open-Meteo refused the request (HTTP {status}): {reason[:_MAX_REASON_CHARS]}"
    )


class OpenMeteoAPI:
    """Open-Meteo's two APIs, behind one object per server.

    Args:
        settings: base URLs and tunables.
        now: the clock of the caches and the request budget.
        transport: an httpx transport for both APIs (tests); None uses the network.
    """

    def __init__(
        self,
        settings: WeatherSettings,
        *,
        now: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        # One budget for both: Open-Meteo's limits are per client, not per endpoint.
        budget = RequestBudget(settings.requests_per_minute, _BUDGET_WINDOW_SECONDS, now)
        retry = RetryPolicy(settings.max_attempts, settings.backoff_seconds)

        def client(name: str, base_url: str) -> UpstreamClient:
            return UpstreamClient(
                name,
                base_url,
                timeout_seconds=settings.timeout_seconds,
                max_concurrency=settings.max_concurrency,
                retry=retry,
                cache=TTLCache(settings.cache_max_entries, now),
                budget=budget,
                transport=transport,
                on_refusal=_open_meteo_refusal,
            )

        self.geocoding = client(GEOCODING_NAME, settings.geocoding_url)
        self.forecasts = client(FORECAST_NAME, settings.forecast_url)

    async def aclose(self) -> None:
        await self.geocoding.aclose()
        await self.forecasts.aclose()

    async def place(self, location: str) -> Place:
        """The one place ``location`` names.

        Raises:
            PlaceNotFound, AmbiguousPlace: see :func:`.places.resolve`.
            UpstreamError: the geocoding API failed.
        """
        parsed = parse_location(location)
        if isinstance(parsed, Coordinates):
            return Place(
                name=f"{parsed.latitude:g},{parsed.longitude:g}",
                latitude=parsed.latitude,
                longitude=parsed.longitude,
            )
        return resolve(parsed, await self._search(parsed))

    async def _search(self, query: PlaceQuery) -> list[JSONObject]:
        count = GEOCODING_QUALIFIED_COUNT if query.qualifiers else GEOCODING_COUNT
        answer = await self.geocoding.get_json(
            "search",
            {"name": query.name, "count": str(count), "language": "en", "format": "json"},
            ttl_seconds=self.settings.geocoding_ttl_seconds,
        )
        if not isinstance(answer, dict):
            raise UpstreamError(f"{GEOCODING_NAME} sent an unexpected answer; try again later.")
        # No match is an answer without "results" (only "generationtime_ms").
        results = answer.get("results", [])
        if not isinstance(results, list):
            raise UpstreamError(f"{GEOCODING_NAME} sent an unexpected answer; try again later.")
        return [result for result in results if isinstance(result, dict)]

    async def _forecast(self, place: Place, extra: dict[str, str]) -> JSONValue:
        params = {
            "latitude": f"{place.latitude:.4f}",
            "longitude": f"{place.longitude:.4f}",
            # Local dates and times where the place is, whatever the server's zone.
            "timezone": "auto",
            **extra,
        }
        return await self.forecasts.get_json(
            "forecast", params, ttl_seconds=self.settings.forecast_ttl_seconds
        )

    async def current(self, location: str) -> CurrentWeather:
        """The weather at ``location`` now."""
        place = await self.place(location)
        answer = await self._forecast(place, {"current": CURRENT_QUERY})
        return current_from_open_meteo(answer, place)

    async def forecast(self, location: str, days: int) -> Forecast:
        """``days`` days of forecast for ``location``, today first."""
        place = await self.place(location)
        answer = await self._forecast(place, {"daily": DAILY_QUERY, "forecast_days": str(days)})
        return forecast_from_open_meteo(answer, place)
