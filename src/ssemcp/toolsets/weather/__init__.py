"""The weather tool set: current weather and daily forecasts from Open-Meteo, as MCP tools.

Owns describing the weather to MCP: the tools ``weather_current`` and ``weather_forecast``,
and translating failures (an unknown or ambiguous place, a failing upstream) into ``isError``
results a model can act on. Fetching is :mod:`.api`'s job, resolving places
:mod:`.places`', the output shapes :mod:`.models`', their readable text :mod:`.render`'.

No API key is needed: Open-Meteo is free for non-commercial use (open-meteo.com/en/terms).
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
from ssemcp.toolsets.weather.api import OpenMeteoAPI
from ssemcp.toolsets.weather.models import CurrentWeather, Forecast
from ssemcp.toolsets.weather.places import AmbiguousPlace, PlaceNotFound
from ssemcp.toolsets.weather.render import render_current, render_forecast
from ssemcp.toolsets.weather.settings import ENVIRONMENT_VARIABLES, WeatherSettings

__all__ = ["ENVIRONMENT_VARIABLES", "WeatherSettings", "register"]

_READ_ONLY: Final = ToolAnnotations(
    read_only=True, destructive=False, idempotent=True, open_world=True
)
# Open-Meteo's forecast_days accepts 0 to 16; 7 is its default.
MAX_FORECAST_DAYS: Final = 16
DEFAULT_FORECAST_DAYS: Final = 7
# A place name with qualifiers fits easily; longer text is not a location.
_MAX_LOCATION_CHARS: Final = 200

Location = Annotated[
    str,
    Field(
        min_length=1,
        max_length=_MAX_LOCATION_CHARS,
        description="A place name, optionally narrowed with commas ('Springfield, Illinois', "
        "'Paris, FR'), or coordinates as 'latitude,longitude' ('48.85,2.35').",
    ),
]


@contextlib.contextmanager
def _tool_errors() -> Iterator[None]:
    """Place and upstream failures become ``isError`` results with their message."""
    try:
        yield
    except (PlaceNotFound, AmbiguousPlace, UpstreamError) as exc:
        raise ToolError(str(exc)) from None


def register(
    server: Server,
    settings: WeatherSettings | None = None,
    *,
    now: Callable[[], float] = time.monotonic,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Add the weather tools to ``server``.

    Args:
        settings: base URLs and tunables; ``WeatherSettings.from_env()`` when None.
        now: the clock of the caches and the request budget (tests inject one).
        transport: an httpx transport instead of the network (tests).
    """
    settings = settings or WeatherSettings.from_env()
    api = OpenMeteoAPI(settings, now=now, transport=transport)
    server.add_cleanup(api.aclose)

    @server.tool(title="Current weather", annotations=_READ_ONLY, output_type=CurrentWeather)
    async def weather_current(location: Location) -> ToolResult:
        """Get the weather at a place right now: conditions in words, temperature and
        feels-like temperature, humidity, precipitation, cloud cover, pressure and wind, each
        with its unit (metric: °C, km/h, mm, hPa). Data from Open-Meteo.

        A name shared by several similar-sized places (e.g. "Springfield") is an error listing
        them: call again with the state or country after a comma, or with coordinates.

        Args:
            location: a place name ("Paris", "Springfield, Illinois", "Paris, US") or
                coordinates as "latitude,longitude".
        """
        with _tool_errors():
            current = await api.current(location)
        return ToolResult([render_current(current)], structured=current)

    @server.tool(title="Weather forecast", annotations=_READ_ONLY, output_type=Forecast)
    async def weather_forecast(
        location: Location,
        days: Annotated[int, Field(ge=1, le=MAX_FORECAST_DAYS)] = DEFAULT_FORECAST_DAYS,
    ) -> ToolResult:
        """Get a daily weather forecast for a place, today first: conditions in words,
        minimum and maximum temperature, precipitation total and chance, maximum wind,
        sunrise and sunset, with units (metric). Dates are local to the place. Data from
        Open-Meteo.

        A name shared by several similar-sized places (e.g. "Springfield") is an error listing
        them: call again with the state or country after a comma, or with coordinates.

        Args:
            location: a place name ("Paris", "Springfield, Illinois", "Paris, US") or
                coordinates as "latitude,longitude".
            days: how many days, 1 to 16 (today counts as the first).
        """
        with _tool_errors():
            forecast = await api.forecast(location, days)
        return ToolResult([render_forecast(forecast)], structured=forecast)
