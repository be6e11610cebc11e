"""The shapes the weather tools return, and how each is built from Open-Meteo's JSON.

Owns the output models (their JSON Schemas become the tools' ``outputSchema``), the variables
asked for, and the pure functions that read a forecast answer, with its ``*_units``, into
them. Every shape problem is an :class:`~ssemcp.toolsets._upstream.UpstreamError`. No I/O.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from ssemcp._types import JSONObject, JSONValue
from ssemcp.toolsets._upstream import UpstreamError
from ssemcp.toolsets.weather.codes import describe
from ssemcp.toolsets.weather.places import Place

__all__ = [
    "CURRENT_VARIABLES",
    "DAILY_VARIABLES",
    "CurrentWeather",
    "DailyWeather",
    "Forecast",
    "current_from_open_meteo",
    "forecast_from_open_meteo",
]

UPSTREAM: Final = "Open-Meteo"
# Our field name -> Open-Meteo's variable (https://open-meteo.com/en/docs, "Current" and
# "Daily Weather Variables"). The keys are also the keys of a result's ``units``.
CURRENT_VARIABLES: Final[dict[str, str]] = {
    "temperature": "temperature_2m",
    "apparent_temperature": "apparent_temperature",
    "relative_humidity": "relative_humidity_2m",
    "precipitation": "precipitation",
    "cloud_cover": "cloud_cover",
    "pressure_msl": "pressure_msl",
    "wind_speed": "wind_speed_10m",
    "wind_direction": "wind_direction_10m",
    "wind_gusts": "wind_gusts_10m",
}
DAILY_VARIABLES: Final[dict[str, str]] = {
    "temperature_max": "temperature_2m_max",
    "temperature_min": "temperature_2m_min",
    "precipitation_sum": "precipitation_sum",
    "precipitation_probability_max": "precipitation_probability_max",
    "wind_speed_max": "wind_speed_10m_max",
    "sunrise": "sunrise",
    "sunset": "sunset",
}
# Asked for besides the measured ones: the code becomes words, is_day a boolean.
CURRENT_QUERY: Final = ",".join(["weather_code", "is_day", *CURRENT_VARIABLES.values()])
DAILY_QUERY: Final = ",".join(["weather_code", *DAILY_VARIABLES.values()])

_FROZEN: Final = ConfigDict(frozen=True)


class CurrentWeather(BaseModel):
    """The weather at a place now (Open-Meteo's 15-minute "current" values)."""

    model_config = _FROZEN

    summary: str = Field(description="The weather in one readable sentence.")
    place: Place
    time: str = Field(description="Local time of the observation, ISO 8601.")
    timezone: str = Field(description="The IANA time zone of `time`.")
    conditions: str = Field(description="The WMO weather code in words.")
    weather_code: int | None = Field(description="WMO 4677 weather code.")
    is_day: bool | None
    temperature: float | None
    apparent_temperature: float | None = Field(description="Feels-like temperature.")
    relative_humidity: float | None
    precipitation: float | None
    cloud_cover: float | None
    pressure_msl: float | None = Field(description="Air pressure reduced to sea level.")
    wind_speed: float | None
    wind_direction: float | None = Field(description="Degrees, where the wind comes from.")
    wind_gusts: float | None
    units: dict[str, str] = Field(description="The unit of each measured field, by name.")


class DailyWeather(BaseModel):
    """One day of a forecast."""

    model_config = _FROZEN

    date: str = Field(description="Local date, YYYY-MM-DD.")
    conditions: str = Field(description="The day's most severe weather, in words.")
    weather_code: int | None
    temperature_max: float | None
    temperature_min: float | None
    precipitation_sum: float | None
    precipitation_probability_max: float | None
    wind_speed_max: float | None
    sunrise: str | None = Field(description="Local time, ISO 8601.")
    sunset: str | None = Field(description="Local time, ISO 8601.")


class Forecast(BaseModel):
    """A daily forecast for a place."""

    model_config = _FROZEN

    summary: str = Field(description="The forecast in a few readable lines.")
    place: Place
    timezone: str = Field(description="The IANA time zone of the dates and times.")
    days: list[DailyWeather]
    units: dict[str, str] = Field(description="The unit of each measured field, by name.")


def _unexpected(what: str) -> UpstreamError:
    return UpstreamError(f"{UPSTREAM} sent an unexpected answer ({what}); try again later.")


def _object(value: JSONValue, what: str) -> JSONObject:
    if not isinstance(value, dict):
        raise _unexpected(f"no {what} object")
    return value


def _number(value: JSONValue, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _unexpected(f"{what} is not a number")
    return float(value)


def _code(value: JSONValue) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise _unexpected("weather_code is not an integer")
    return int(value)


def _units(answer: JSONObject, key: str, variables: dict[str, str]) -> dict[str, str]:
    units = answer.get(key)
    if not isinstance(units, dict):
        return {}
    return {
        field: unit
        for field, variable in variables.items()
        if isinstance(unit := units.get(variable), str) and variable not in ("sunrise", "sunset")
    }


def _timezone(answer: JSONObject, place: Place) -> str:
    timezone = answer.get("timezone")
    return timezone if isinstance(timezone, str) and timezone else (place.timezone or "UTC")


def _with_unit(value: float | None, unit: str | None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:g}"
    return f"{text} {unit}" if unit else text


def current_from_open_meteo(answer: JSONValue, place: Place) -> CurrentWeather:
    """Read a forecast answer's ``current`` block.

    Raises:
        UpstreamError: the answer does not have the documented shape.
    """
    answer = _object(answer, "forecast")
    current = _object(answer.get("current"), "current")
    time = current.get("time")
    if not isinstance(time, str):
        raise _unexpected("current.time is missing")
    values = {
        field: _number(current.get(variable), variable)
        for field, variable in CURRENT_VARIABLES.items()
    }
    units = _units(answer, "current_units", CURRENT_VARIABLES)
    code = _code(current.get("weather_code"))
    is_day = current.get("is_day")
    conditions = describe(code)
    summary = (
        f"{place.label} at {time} local time: {conditions}, "
        f"{_with_unit(values['temperature'], units.get('temperature'))} (feels like "
        f"{_with_unit(values['apparent_temperature'], units.get('apparent_temperature'))}), "
        f"wind {_with_unit(values['wind_speed'], units.get('wind_speed'))}, "
        f"humidity {_with_unit(values['relative_humidity'], units.get('relative_humidity'))}, "
        f"precipitation {_with_unit(values['precipitation'], units.get('precipitation'))}."
    )
    return CurrentWeather(
        summary=summary,
        place=place,
        time=time,
        timezone=_timezone(answer, place),
        conditions=conditions,
        weather_code=code,
        is_day=bool(is_day) if isinstance(is_day, int | float) else None,
        units=units,
        **values,
    )


def _column(daily: JSONObject, variable: str, length: int) -> list[JSONValue]:
    column = daily.get(variable)
    if column is None:
        return [None] * length
    if not isinstance(column, list) or len(column) != length:
        raise _unexpected(f"daily.{variable} does not match daily.time")
    return column


def _text(value: JSONValue) -> str | None:
    return value if isinstance(value, str) else None


def forecast_from_open_meteo(answer: JSONValue, place: Place) -> Forecast:
    """Read a forecast answer's ``daily`` block.

    Raises:
        UpstreamError: the answer does not have the documented shape.
    """
    answer = _object(answer, "forecast")
    daily = _object(answer.get("daily"), "daily")
    dates = daily.get("time")
    if not isinstance(dates, list) or not all(isinstance(date, str) for date in dates):
        raise _unexpected("daily.time is missing")
    columns = {
        variable: _column(daily, variable, len(dates)) for variable in DAILY_VARIABLES.values()
    }
    codes = _column(daily, "weather_code", len(dates))
    units = _units(answer, "daily_units", DAILY_VARIABLES)
    days: list[DailyWeather] = []
    for index, date in enumerate(dates):
        code = _code(codes[index])
        values = {
            field: _number(columns[variable][index], variable)
            for field, variable in DAILY_VARIABLES.items()
            if variable not in ("sunrise", "sunset")
        }
        days.append(
            DailyWeather(
                date=str(date),
                conditions=describe(code),
                weather_code=code,
                sunrise=_text(columns["sunrise"][index]),
                sunset=_text(columns["sunset"][index]),
                **values,
            )
        )
    lines = [f"{len(days)}-day forecast for {place.label}:"]
    for day in days:
        lines.append(
            f"{day.date}: {day.conditions}, "
            f"{_with_unit(day.temperature_min, units.get('temperature_min'))} to "
            f"{_with_unit(day.temperature_max, units.get('temperature_max'))}, precipitation "
            f"{_with_unit(day.precipitation_sum, units.get('precipitation_sum'))}"
            + (
                f" ({day.precipitation_probability_max:g}% chance)"
                if day.precipitation_probability_max is not None
                else ""
            )
            + "."
        )
    return Forecast(
        summary="\n".join(lines),
        place=place,
        timezone=_timezone(answer, place),
        days=days,
        units=units,
    )
