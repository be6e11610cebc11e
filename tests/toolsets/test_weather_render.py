"""The readable text of the weather tools (``render.py``): exact output for each renderer.

Owns the Markdown a model reads: the current weather as a heading and a list of facts, the
forecast as a table; with missing values, unknown units, odd directions, empty forecasts,
Unicode place names and text that is not ISO 8601. No I/O: models are built by hand. What
reaches a client through the server is ``test_weather.py``'s.
"""

from __future__ import annotations

from typing import Any

import pytest

from ssemcp.toolsets.weather.models import CurrentWeather, DailyWeather, Forecast
from ssemcp.toolsets.weather.places import Place
from ssemcp.toolsets.weather.render import compass_point, render_current, render_forecast

PARIS = Place(
    name="Paris",
    admin1="Île-de-France",
    country="France",
    country_code="FR",
    latitude=48.85341,
    longitude=2.3488,
    timezone="Europe/Paris",
)
CURRENT_UNITS = {
    "temperature": "°C",
    "apparent_temperature": "°C",
    "relative_humidity": "%",
    "precipitation": "mm",
    "cloud_cover": "%",
    "pressure_msl": "hPa",
    "wind_speed": "km/h",
    "wind_direction": "°",
    "wind_gusts": "km/h",
}
DAILY_UNITS = {
    "temperature_max": "°C",
    "temperature_min": "°C",
    "precipitation_sum": "mm",
    "precipitation_probability_max": "%",
    "wind_speed_max": "km/h",
}
HEADER = (
    "| Date | Conditions | Min | Max | Precipitation | Wind |\n"
    "|------|------------|-----|-----|---------------|------|\n"
)


def current(**fields: Any) -> CurrentWeather:
    """Paris on a November evening, then ``fields``."""
    defaults: dict[str, Any] = {
        "summary": "(not rendered)",
        "place": PARIS,
        "time": "2026-11-24T17:45",
        "timezone": "Europe/Paris",
        "conditions": "overcast",
        "weather_code": 3,
        "is_day": False,
        "temperature": 7.3,
        "apparent_temperature": 4.1,
        "relative_humidity": 87.0,
        "precipitation": 0.0,
        "cloud_cover": 100.0,
        "pressure_msl": 1012.4,
        "wind_speed": 14.8,
        "wind_direction": 231.0,
        "wind_gusts": 31.3,
        "units": CURRENT_UNITS,
    }
    return CurrentWeather(**(defaults | fields))


def day(date: str, **fields: Any) -> DailyWeather:
    """A day with every value missing, then ``fields``."""
    defaults: dict[str, Any] = {
        "date": date,
        "conditions": "unknown",
        "weather_code": None,
        "temperature_max": None,
        "temperature_min": None,
        "precipitation_sum": None,
        "precipitation_probability_max": None,
        "wind_speed_max": None,
        "sunrise": None,
        "sunset": None,
    }
    return DailyWeather(**(defaults | fields))


def forecast(days: list[DailyWeather], **fields: Any) -> Forecast:
    defaults: dict[str, Any] = {
        "summary": "(not rendered)",
        "place": PARIS,
        "timezone": "Europe/Paris",
        "days": days,
        "units": DAILY_UNITS,
    }
    return Forecast(**(defaults | fields))


# ---------------------------------------------------------------------- weather_current


def test_current_weather_is_a_heading_with_the_place_and_a_list_of_facts_with_units() -> None:
    assert render_current(current()) == (
        "# Current weather: Paris, Île-de-France, France\n"
        "\n"
        "- Conditions: overcast (night)\n"
        "- Temperature: 7.3 °C, feels like 4.1 °C\n"
        "- Wind: 14.8 km/h from SW (231°), gusts 31.3 km/h\n"
        "- Humidity: 87%\n"
        "- Precipitation: 0 mm\n"
        "- Cloud cover: 100%\n"
        "- Pressure: 1012.4 hPa\n"
        "- Observed: 2026-11-24 17:45 local time (Europe/Paris)"
    )


def test_current_weather_without_values_keeps_only_conditions_and_observation_time() -> None:
    empty = current(
        conditions="unknown",
        weather_code=None,
        is_day=None,
        **dict.fromkeys(
            (
                "temperature",
                "apparent_temperature",
                "relative_humidity",
                "precipitation",
                "cloud_cover",
                "pressure_msl",
                "wind_speed",
                "wind_direction",
                "wind_gusts",
            )
        ),
    )
    assert render_current(empty) == (
        "# Current weather: Paris, Île-de-France, France\n"
        "\n"
        "- Conditions: unknown\n"
        "- Observed: 2026-11-24 17:45 local time (Europe/Paris)"
    )


def test_each_part_of_a_line_is_left_out_alone_when_its_value_is_missing() -> None:
    text = render_current(
        current(is_day=True, temperature=None, wind_speed=None, wind_gusts=None)
    ).split("\n")
    assert text[2:5] == [
        "- Conditions: overcast (day)",
        "- Temperature: feels like 4.1 °C",
        "- Wind: from SW (231°)",
    ]
    text = render_current(current(apparent_temperature=None, wind_direction=None)).split("\n")
    assert text[3:5] == ["- Temperature: 7.3 °C", "- Wind: 14.8 km/h, gusts 31.3 km/h"]


def test_values_without_a_unit_are_shown_bare_and_minus_zero_is_zero() -> None:
    text = render_current(current(units={}, temperature=-0.0, apparent_temperature=-2.5))
    assert "- Temperature: 0, feels like -2.5\n" in text
    assert "- Humidity: 87\n" in text
    # A direction is in degrees whatever Open-Meteo's units say.
    assert "- Wind: 14.8 from SW (231°), gusts 31.3\n" in text


def test_imperial_units_are_shown_as_open_meteo_names_them() -> None:
    units = CURRENT_UNITS | {"temperature": "°F", "wind_speed": "mp/h", "precipitation": "inch"}
    text = render_current(current(units=units, temperature=45.1, precipitation=0.012))
    assert "- Temperature: 45.1 °F, feels like 4.1 °C\n" in text
    assert "- Wind: 14.8 mp/h from SW (231°), gusts 31.3 km/h\n" in text
    assert "- Precipitation: 0.012 inch\n" in text


def test_a_place_given_as_coordinates_or_with_unicode_names_heads_the_text() -> None:
    at = Place(name="40.7128,-74.006", latitude=40.7128, longitude=-74.006)
    assert render_current(current(place=at)).startswith("# Current weather: 40.7128,-74.006\n\n")
    zurich = Place(name="Zürich", admin1="Zürich", country="Schweiz", latitude=47.4, longitude=8.5)
    tokyo = Place(name="東京", country="日本", latitude=35.7, longitude=139.7)
    assert render_current(current(place=zurich)).startswith("# Current weather: Zürich, Schweiz\n")
    assert render_current(current(place=tokyo)).startswith("# Current weather: 東京, 日本\n")


def test_an_observation_time_that_is_not_iso_8601_is_shown_as_sent() -> None:
    text = render_current(current(time="sometime", timezone="UTC"))
    assert text.endswith("- Observed: sometime local time (UTC)")


@pytest.mark.parametrize(
    ("degrees", "point"),
    [
        (0, "N"),
        (11.24, "N"),
        (11.25, "NNE"),
        (45, "NE"),
        (90, "E"),
        (180, "S"),
        (202.5, "SSW"),
        (231, "SW"),
        (270, "W"),
        (348.75, "N"),
        (359, "N"),
        (360, "N"),
        (-90, "W"),
    ],
)
def test_a_direction_names_the_nearest_of_sixteen_compass_points(
    degrees: float, point: str
) -> None:
    assert compass_point(degrees) == point


# ---------------------------------------------------------------------- weather_forecast


def test_a_forecast_is_a_table_a_row_a_day_with_weekday_units_and_chance() -> None:
    days = [
        day(
            "2026-11-24",
            conditions="overcast",
            weather_code=3,
            temperature_min=3.2,
            temperature_max=9.1,
            precipitation_sum=0.2,
            precipitation_probability_max=20.0,
            wind_speed_max=18.4,
            sunrise="2026-11-24T08:00",
            sunset="2026-11-24T16:59",
        ),
        day(
            "2026-11-25",
            conditions="slight snow fall",
            weather_code=71,
            temperature_min=-3.0,
            temperature_max=0.0,
            precipitation_sum=4.1,
            precipitation_probability_max=70.0,
            wind_speed_max=15.5,
        ),
    ]
    assert render_forecast(forecast(days)) == (
        "# 2-day forecast: Paris, Île-de-France, France\n"
        "\n"
        f"{HEADER}"
        "| Tue 2026-11-24 | overcast | 3.2 °C | 9.1 °C | 0.2 mm (20%) | 18.4 km/h |\n"
        "| Wed 2026-11-25 | slight snow fall | -3 °C | 0 °C | 4.1 mm (70%) | 15.5 km/h |\n"
        "\n"
        "Dates are local to the place (Europe/Paris); wind is the day's maximum."
    )


def test_missing_forecast_values_are_n_a_cells_and_a_lone_chance_is_kept() -> None:
    days = [
        day("2026-11-24"),
        day("2026-11-25", precipitation_probability_max=40.0),
        day("2026-11-26", precipitation_sum=1.5),
    ]
    assert render_forecast(forecast(days, units={})) == (
        "# 3-day forecast: Paris, Île-de-France, France\n"
        "\n"
        f"{HEADER}"
        "| Tue 2026-11-24 | unknown | n/a | n/a | n/a | n/a |\n"
        "| Wed 2026-11-25 | unknown | n/a | n/a | n/a (40%) | n/a |\n"
        "| Thu 2026-11-26 | unknown | n/a | n/a | 1.5 | n/a |\n"
        "\n"
        "Dates are local to the place (Europe/Paris); wind is the day's maximum."
    )


def test_a_one_day_forecast_and_an_empty_one() -> None:
    one = render_forecast(forecast([day("2026-11-24", conditions="fog")]))
    assert one.startswith("# 1-day forecast: Paris, Île-de-France, France\n")
    assert "| Tue 2026-11-24 | fog | n/a | n/a | n/a | n/a |\n" in one
    assert render_forecast(forecast([])) == (
        "# Forecast: Paris, Île-de-France, France\n\nOpen-Meteo sent no days for this place."
    )


def test_a_cell_holding_a_pipe_cannot_break_the_table() -> None:
    odd = day("not-a-date", conditions="fog | haze")
    assert "| not-a-date | fog \\| haze | n/a |" in render_forecast(forecast([odd]))


def test_a_sixteen_day_forecast_has_sixteen_rows_and_unicode_place_names() -> None:
    place = Place(name="São Paulo", admin1="São Paulo", country="Brasil", latitude=0, longitude=0)
    days = [day(f"2026-12-{number:02d}", conditions="clear sky") for number in range(1, 17)]
    text = render_forecast(forecast(days, place=place, timezone="America/Sao_Paulo"))
    lines = text.split("\n")
    assert lines[0] == "# 16-day forecast: São Paulo, Brasil"
    assert len([line for line in lines if line.startswith("| ") and "2026-12-" in line]) == 16
    assert lines[4] == "| Tue 2026-12-01 | clear sky | n/a | n/a | n/a | n/a |"
    assert (
        lines[-1] == "Dates are local to the place (America/Sao_Paulo); wind is the day's maximum."
    )
