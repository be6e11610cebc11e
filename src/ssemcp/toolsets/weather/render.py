"""The readable text of each weather tool's result: its output model as compact Markdown.

Owns one pure function per output model (:func:`render_current`, :func:`render_forecast`)
and the formatters they share (numbers with their units, compass points, local times). The
text is for a model and a human to read at a glance; the data itself travels as
``structuredContent``, built by :mod:`.models`. No I/O and no clock: every time shown is the
place's local time as Open-Meteo gave it.
"""

from __future__ import annotations

import datetime
from typing import Final

from ssemcp.toolsets._markdown import joined
from ssemcp.toolsets.weather.models import CurrentWeather, DailyWeather, Forecast

__all__ = ["compass_point", "render_current", "render_forecast"]

# What a value Open-Meteo did not send shows as; in a table a cell cannot just be left out.
MISSING: Final = "n/a"
# The 16 points of the compass, clockwise from north, 22.5° apart.
_COMPASS_POINTS: Final = (
    *("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE"),
    *("S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"),
)
# Units written against their number ("87%", "230°"); every other unit gets a space before
# it ("7.3 °C", "12 km/h"), as the SI brochure writes them.
_UNSPACED_UNITS: Final = frozenset({"%", "°"})
_FORECAST_HEADER: Final = (
    "| Date | Conditions | Min | Max | Precipitation | Wind |\n"
    "|------|------------|-----|-----|---------------|------|"
)


# ---------------------------------------------------------------------- shared pieces


def _number(value: float) -> str:
    """ "7.3", "0", "1012.5": at most six significant digits, no "-0"."""
    text = f"{value:g}"
    return "0" if text == "-0" else text


def _measure(value: float | None, unit: str | None) -> str | None:
    """ "7.3 °C", "87%", "12" (no unit known) or None (no value)."""
    if value is None:
        return None
    if not unit:
        return _number(value)
    return f"{_number(value)}{'' if unit in _UNSPACED_UNITS else ' '}{unit}"


def compass_point(degrees: float) -> str:
    """The nearest of the 16 compass points to a direction in degrees: 0 is "N", 230 "SW"."""
    # Halves round up (11.25° is NNE): round() would send them to the even neighbour.
    return _COMPASS_POINTS[int(degrees % 360 / 22.5 + 0.5) % 16]


def _local_time(iso: str) -> str:
    """ "2026-11-24T17:45" as "2026-11-24 17:45"; text that is not ISO 8601 as it came."""
    try:
        moment = datetime.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return moment.strftime("%Y-%m-%d %H:%M")


def _day(iso: str) -> str:
    """ "2026-11-24" as "Tue 2026-11-24": the weekday spares the reader a calendar."""
    try:
        date = datetime.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{date:%a} {date.isoformat()}"


# ---------------------------------------------------------------------- weather_current


def _wind(current: CurrentWeather) -> str | None:
    """ "14.8 km/h from SW (230°), gusts 30.2 km/h"."""
    direction = current.wind_direction
    source = (
        f"from {compass_point(direction)} ({_measure(direction, '°')})"
        if direction is not None
        else None
    )
    speed = _measure(current.wind_speed, current.units.get("wind_speed"))
    speed_from = joined(speed, source, separator=" ")
    gusts = _measure(current.wind_gusts, current.units.get("wind_gusts"))
    return joined(speed_from, f"gusts {gusts}" if gusts else None)


def _temperature(current: CurrentWeather) -> str | None:
    """ "7.3 °C, feels like 4.1 °C"."""
    units = current.units
    feels = _measure(current.apparent_temperature, units.get("apparent_temperature"))
    return joined(
        _measure(current.temperature, units.get("temperature")),
        f"feels like {feels}" if feels else None,
    )


def render_current(current: CurrentWeather) -> str:
    """The weather now as a heading (the place with its region and country) and a list:
    conditions, temperature and feels-like, wind with its direction, humidity,
    precipitation, cloud cover, pressure and the local time of the observation. A value
    Open-Meteo did not send leaves its line out (or its part of a line)."""
    units = current.units
    daylight = {True: " (day)", False: " (night)", None: ""}[current.is_day]
    facts = [
        ("Conditions", current.conditions + daylight),
        ("Temperature", _temperature(current)),
        ("Wind", _wind(current)),
        ("Humidity", _measure(current.relative_humidity, units.get("relative_humidity"))),
        ("Precipitation", _measure(current.precipitation, units.get("precipitation"))),
        ("Cloud cover", _measure(current.cloud_cover, units.get("cloud_cover"))),
        ("Pressure", _measure(current.pressure_msl, units.get("pressure_msl"))),
        ("Observed", f"{_local_time(current.time)} local time ({current.timezone})"),
    ]
    lines = [f"# Current weather: {current.place.label}", ""]
    lines += [f"- {name}: {value}" for name, value in facts if value]
    return "\n".join(lines)


# ---------------------------------------------------------------------- weather_forecast


def _precipitation(day: DailyWeather, units: dict[str, str]) -> str:
    """ "6.4 mm (85%)": the day's total and its chance."""
    total = _measure(day.precipitation_sum, units.get("precipitation_sum"))
    chance = day.precipitation_probability_max
    if chance is None:
        return total or MISSING
    # A probability is a percentage whatever unit system the request asked for.
    return f"{total or MISSING} ({_measure(chance, '%')})"


def _row(day: DailyWeather, units: dict[str, str]) -> str:
    cells = [
        _day(day.date),
        day.conditions,
        _measure(day.temperature_min, units.get("temperature_min")) or MISSING,
        _measure(day.temperature_max, units.get("temperature_max")) or MISSING,
        _precipitation(day, units),
        _measure(day.wind_speed_max, units.get("wind_speed_max")) or MISSING,
    ]
    # Open-Meteo's words and numbers hold no "|"; escaping keeps the table whole if one did.
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def render_forecast(forecast: Forecast) -> str:
    """A forecast as a heading (how many days, the place) and a Markdown table, a row a
    day, today first: weekday and date, conditions, minimum and maximum temperature,
    precipitation total with its chance, and maximum wind, each with its unit. Dates are
    the place's own; a last line names its time zone."""
    if not forecast.days:
        return f"# Forecast: {forecast.place.label}\n\nOpen-Meteo sent no days for this place."
    heading = f"# {len(forecast.days)}-day forecast: {forecast.place.label}"
    rows = "\n".join(_row(day, forecast.units) for day in forecast.days)
    return (
        f"{heading}\n\n{_FORECAST_HEADER}\n{rows}\n\n"
        f"Dates are local to the place ({forecast.timezone}); wind is the day's maximum."
    )
