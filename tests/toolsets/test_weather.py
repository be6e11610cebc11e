"""The weather tool set through an in-memory MCP client, against the fixture Open-Meteo.

Owns what a client sees of ``weather_current`` and ``weather_forecast``, good paths and bad:
place resolution (dominant, ambiguous, qualified, unknown, coordinates), WMO words and units,
bounds, upstream failures as ``isError`` results, caching and the request budget (counted in
fixture hits), and the settings. Every successful call's text block is checked to be the
rendering of its structured content; the renderings themselves are
``test_weather_render.py``'s. The real transport is ``test_github.py``'s stdio test, which
drives both tool sets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from toolset_harness import MakeTools, ToolClient
from weather_github_upstream import FORECAST_PREFIX, GEOCODING_PREFIX, WeatherGitHubFixture

from ssemcp._types import JSONObject
from ssemcp.toolsets._upstream import UpstreamError
from ssemcp.toolsets.weather import WeatherSettings
from ssemcp.toolsets.weather.codes import WMO_CODES, describe
from ssemcp.toolsets.weather.models import forecast_from_open_meteo
from ssemcp.toolsets.weather.places import (
    AmbiguousPlace,
    Place,
    PlaceQuery,
    resolve,
)

GEOCODING = f"{GEOCODING_PREFIX}/search"
FORECAST = f"{FORECAST_PREFIX}/forecast"


@pytest.fixture
def upstream() -> Iterator[WeatherGitHubFixture]:
    with WeatherGitHubFixture() as fixture:
        yield fixture


# ---------------------------------------------------------------------- definitions


async def test_weather_tools_are_read_only_open_world_and_have_output_schemas(
    weather: ToolClient,
) -> None:
    tools = await weather.tools()
    assert sorted(tools) == ["weather_current", "weather_forecast"]
    for tool in tools.values():
        assert tool["title"]
        assert "Open-Meteo" in tool["description"]
        assert tool["annotations"]["readOnlyHint"] is True
        assert tool["annotations"]["openWorldHint"] is True
        assert tool["outputSchema"]["type"] == "object"
        assert tool["inputSchema"]["required"] == ["location"]
    forecast_output = tools["weather_forecast"]["outputSchema"]
    assert {"summary", "place", "days", "units"} <= set(forecast_output["properties"])


async def test_forecast_days_schema_states_bounds_1_to_16_and_default_7(
    weather: ToolClient,
) -> None:
    properties = (await weather.tools())["weather_forecast"]["inputSchema"]["properties"]
    days = properties["days"]
    assert (days["minimum"], days["maximum"], days["default"]) == (1, 16, 7)
    assert (properties["location"]["minLength"], properties["location"]["maxLength"]) == (1, 200)


# ---------------------------------------------------------------------- current weather


async def test_current_weather_in_paris_is_paris_france_with_words_and_units(
    weather: ToolClient,
) -> None:
    current, text = await weather.ok_with_text("weather_current", {"location": "Paris"})
    assert text == (
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
    assert current["place"]["name"] == "Paris"
    assert current["place"]["country"] == "France"
    assert current["place"]["admin1"] == "Île-de-France"
    assert current["conditions"] == "overcast"
    assert current["weather_code"] == 3
    assert current["is_day"] is False
    assert current["temperature"] == 7.3
    assert current["time"] == "2026-11-24T17:45"
    assert current["timezone"] == "Europe/Paris"
    assert current["units"] == {
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
    assert current["summary"].startswith("Paris, Île-de-France, France at 2026-11-24T17:45")
    assert "overcast, 7.3 °C (feels like 4.1 °C)" in current["summary"]


async def test_current_weather_asks_for_the_resolved_coordinates_and_local_time(
    weather: ToolClient,
) -> None:
    await weather.ok("weather_current", {"location": "Paris"})
    (lookup,) = weather.upstream.seen(GEOCODING)
    assert lookup.query == {"name": "Paris", "count": "10", "language": "en", "format": "json"}
    (request,) = weather.upstream.seen(FORECAST)
    assert request.query["latitude"] == "48.8534"
    assert request.query["longitude"] == "2.3488"
    assert request.query["timezone"] == "auto"
    assert {"weather_code", "temperature_2m", "wind_speed_10m"} <= set(
        request.query["current"].split(",")
    )
    assert "daily" not in request.query


@pytest.mark.parametrize(
    ("location", "country"),
    [
        ("Paris", "France"),
        ("PARIS", "France"),
        ("london", "United Kingdom"),
        ("Berlin", "Germany"),
    ],
)
async def test_a_far_more_populous_namesake_wins_whatever_the_case(
    weather: ToolClient, location: str, country: str
) -> None:
    current = await weather.ok("weather_current", {"location": location})
    assert current["place"]["country"] == country


async def test_coordinates_skip_the_geocoding_api(weather: ToolClient) -> None:
    current, text = await weather.ok_with_text(
        "weather_current", {"location": " 40.7128, -74.006 "}
    )
    assert text.startswith("# Current weather: 40.7128,-74.006\n")
    assert current["place"]["latitude"] == 40.7128
    assert current["place"]["longitude"] == -74.006
    assert weather.upstream.hits_for(GEOCODING) == 0
    (request,) = weather.upstream.seen(FORECAST)
    assert (request.query["latitude"], request.query["longitude"]) == ("40.7128", "-74.0060")


@pytest.mark.parametrize("location", ["91,0", "0,181", "-90.5,10"])
async def test_coordinates_out_of_range_are_an_error_without_a_request(
    weather: ToolClient, location: str
) -> None:
    text = await weather.failed("weather_current", {"location": location})
    assert "latitude must be -90 to 90 and longitude -180 to 180" in text
    assert weather.upstream.total_hits() == 0


# ---------------------------------------------------------------------- places


async def test_an_ambiguous_name_lists_the_candidates_and_asks_for_more(
    weather: ToolClient,
) -> None:
    text = await weather.failed("weather_forecast", {"location": "Springfield"})
    assert text.startswith("'Springfield' matches 5 places: ")
    for region in ("Missouri", "Massachusetts", "Illinois", "Oregon", "Ohio"):
        assert f"Springfield, {region}, United States (pop. " in text
    assert "Vermont" not in text  # 3,979 is not a strong candidate next to 169,176
    assert "'Springfield, Massachusetts'" in text  # the suggestion names the runner-up
    assert "'latitude,longitude'" in text
    assert weather.upstream.hits_for(FORECAST) == 0


async def test_a_state_after_a_comma_picks_one_of_the_namesakes(weather: ToolClient) -> None:
    current = await weather.ok("weather_current", {"location": "Springfield, Illinois"})
    assert current["place"]["admin1"] == "Illinois"
    assert current["place"]["latitude"] == 39.80172
    (lookup,) = weather.upstream.seen(GEOCODING)
    assert lookup.query["name"] == "Springfield"  # the qualifier is applied here, not sent
    assert lookup.query["count"] == "100"  # a small namesake may rank far down


@pytest.mark.parametrize(
    ("location", "admin1"),
    [
        ("Springfield, vermont", "Vermont"),
        ("London, CA", "Ontario"),
        ("London, Canada", "Ontario"),
        ("Paris, FR", "Île-de-France"),
        ("Paris, Texas, US", "Texas"),
        ("Paris, ile-de-france", "Île-de-France"),
    ],
)
async def test_qualifiers_match_country_code_country_and_region_ignoring_case_and_accents(
    weather: ToolClient, location: str, admin1: str
) -> None:
    current = await weather.ok("weather_current", {"location": location})
    assert current["place"]["admin1"] == admin1


async def test_a_qualifier_that_leaves_several_close_candidates_is_still_ambiguous(
    weather: ToolClient,
) -> None:
    text = await weather.failed("weather_current", {"location": "Paris, US"})
    assert text.startswith("'Paris' matches 3 places: Paris, Texas, United States")


async def test_a_qualifier_matching_nothing_says_where_the_name_exists(
    weather: ToolClient,
) -> None:
    text = await weather.failed("weather_current", {"location": "Springfield, Narnia"})
    assert text.startswith("No place named 'Springfield' in 'Narnia' was found.")
    assert "Springfield, Illinois, United States" in text


async def test_an_unknown_place_is_a_clear_error(weather: ToolClient) -> None:
    text = await weather.failed("weather_forecast", {"location": "Zzyzxqx"})
    assert text == (
        "No place named 'Zzyzxqx' was found. Check the spelling, try the name of a nearby "
        "town, or give coordinates as 'latitude,longitude'."
    )
    assert weather.upstream.hits_for(FORECAST) == 0


async def test_namesakes_without_population_are_ambiguous(weather: ToolClient) -> None:
    text = await weather.failed("weather_current", {"location": "Smallville"})
    assert "Smallville, Kansas, United States (40.10,-90.20)" in text
    assert "Smallville, North Carolina, United States" in text


@pytest.mark.parametrize("location", ["", ", Illinois", "x" * 201])
async def test_empty_or_overlong_locations_are_an_error(weather: ToolClient, location: str) -> None:
    text = await weather.failed("weather_current", {"location": location})
    assert "location" in text.lower()
    assert weather.upstream.total_hits() == 0


def _result(name: str, latitude: float, longitude: float, population: int | None) -> JSONObject:
    result: JSONObject = {
        "name": name,
        "latitude": latitude,
        "longitude": longitude,
        "country": "France",
        "country_code": "FR",
        "admin1": "Île-de-France",
    }
    if population is not None:
        result["population"] = population
    return result


def test_a_namesake_within_25_km_of_a_bigger_one_is_the_same_place() -> None:
    results = [
        _result("Paris", 48.85341, 2.3488, 2_138_551),
        _result("Paris", 48.8566, 2.3522, 2_100_000),  # the commune, listed again
    ]
    assert resolve(PlaceQuery("Paris"), results).population == 2_138_551


def test_exact_name_matches_are_preferred_over_fuzzy_ones() -> None:
    results = [
        _result("Parisot", 44.26, 1.85, 5_000_000),
        _result("Paris", 48.85341, 2.3488, 2_138_551),
    ]
    assert resolve(PlaceQuery("paris"), results).name == "Paris"


def test_a_tenfold_population_lead_is_exactly_enough() -> None:
    at_ten = [_result("A", 0.0, 0.0, 1000), _result("A", 10.0, 10.0, 100)]
    assert resolve(PlaceQuery("A"), at_ten).population == 1000
    under_ten = [_result("A", 0.0, 0.0, 1000), _result("A", 10.0, 10.0, 101)]
    with pytest.raises(AmbiguousPlace):
        resolve(PlaceQuery("A"), under_ten)


def test_place_label_leaves_out_repeats_and_missing_parts() -> None:
    assert Place(name="Berlin", admin1="Berlin", country="Germany", latitude=0, longitude=0).label
    assert (
        Place(name="Berlin", admin1="Berlin", country="Germany", latitude=0, longitude=0).label
        == "Berlin, Germany"
    )
    assert Place(name="X", latitude=0, longitude=0).label == "X"


# ---------------------------------------------------------------------- forecast


async def test_forecast_defaults_to_seven_days_with_words_and_units(weather: ToolClient) -> None:
    forecast, text = await weather.ok_with_text("weather_forecast", {"location": "Berlin"})
    assert text.split("\n")[:5] == [
        "# 7-day forecast: Berlin, Land Berlin, Germany",
        "",
        "| Date | Conditions | Min | Max | Precipitation | Wind |",
        "|------|------------|-----|-----|---------------|------|",
        "| Tue 2026-11-24 | overcast | 3.2 °C | 9.1 °C | 0.2 mm (20%) | 18.4 km/h |",
    ]
    assert text.endswith(
        "| Mon 2026-11-30 | slight rain showers | 2.2 °C | 7.5 °C | 3.3 mm (65%) | 22 km/h |\n"
        "\n"
        "Dates are local to the place (Europe/Paris); wind is the day's maximum."
    )
    assert forecast["place"]["country"] == "Germany"
    assert len(forecast["days"]) == 7
    first = forecast["days"][0]
    assert first == {
        "date": "2026-11-24",
        "conditions": "overcast",
        "weather_code": 3,
        "temperature_max": 9.1,
        "temperature_min": 3.2,
        "precipitation_sum": 0.2,
        "precipitation_probability_max": 20.0,
        "wind_speed_max": 18.4,
        "sunrise": "2026-11-24T08:00",
        "sunset": "2026-11-24T16:59",
    }
    assert forecast["units"] == {
        "temperature_max": "°C",
        "temperature_min": "°C",
        "precipitation_sum": "mm",
        "precipitation_probability_max": "%",
        "wind_speed_max": "km/h",
    }
    lines = forecast["summary"].split("\n")
    assert lines[0] == "7-day forecast for Berlin, Land Berlin, Germany:"
    assert lines[2] == (
        "2026-11-25: slight rain, 5 °C to 10.4 °C, precipitation 6.4 mm (85% chance)."
    )
    (request,) = weather.upstream.seen(FORECAST)
    assert request.query["forecast_days"] == "7"
    assert "current" not in request.query


async def test_a_sixteen_day_forecast_names_each_wmo_code_in_words(weather: ToolClient) -> None:
    forecast = await weather.ok("weather_forecast", {"location": "Paris", "days": 16})
    assert [(day["weather_code"], day["conditions"]) for day in forecast["days"]] == [
        (3, "overcast"),
        (61, "slight rain"),
        (95, "thunderstorm"),
        (0, "clear sky"),
        (45, "fog"),
        (71, "slight snow fall"),
        (80, "slight rain showers"),
        (2, "partly cloudy"),
        (1, "mainly clear"),
        (51, "light drizzle"),
        (63, "moderate rain"),
        (73, "moderate snow fall"),
        (85, "slight snow showers"),
        (96, "thunderstorm with slight hail"),
        (99, "thunderstorm with heavy hail"),
        (48, "depositing rime fog"),
    ]


async def test_a_one_day_forecast_is_today(weather: ToolClient) -> None:
    forecast = await weather.ok("weather_forecast", {"location": "Paris", "days": 1})
    assert [day["date"] for day in forecast["days"]] == ["2026-11-24"]


@pytest.mark.parametrize("days", [0, 17, -1, 100])
async def test_forecast_days_out_of_range_is_an_error_naming_the_field(
    weather: ToolClient, days: int
) -> None:
    text = await weather.failed("weather_forecast", {"location": "Paris", "days": days})
    assert text.startswith("Invalid arguments for tool 'weather_forecast': days: ")
    assert weather.upstream.total_hits() == 0


def test_the_wmo_table_covers_open_meteos_codes_and_names_unknown_ones() -> None:
    assert sorted(WMO_CODES) == [
        *(0, 1, 2, 3, 45, 48, 51, 53, 55, 56, 57, 61, 63, 65, 66, 67),
        *(71, 73, 75, 77, 80, 81, 82, 85, 86, 95, 96, 99),
    ]
    assert describe(56) == "light freezing drizzle"
    assert describe(67) == "heavy freezing rain"
    assert describe(77) == "snow grains"
    assert describe(86) == "heavy snow showers"
    assert describe(42) == "unknown (WMO code 42)"
    assert describe(None) == "unknown"


# ---------------------------------------------------------------------- upstream failures


async def test_geocoding_500_every_time_is_an_error_after_the_bounded_attempts(
    make_weather: MakeTools,
) -> None:
    weather = await make_weather(max_attempts=3)
    weather.upstream.fail(GEOCODING, "500")
    text = await weather.failed("weather_current", {"location": "Paris"})
    assert text == (
        "The Open-Meteo geocoding API answered HTTP 500 (after 3 attempts); try again later."
    )
    assert weather.upstream.hits_for(GEOCODING) == 3


async def test_a_forecast_500_once_is_retried_and_the_call_succeeds(weather: ToolClient) -> None:
    weather.upstream.fail(FORECAST, "500", times=1)
    await weather.ok("weather_forecast", {"location": "Paris"})
    assert weather.upstream.hits_for(FORECAST) == 2


async def test_a_slow_forecast_times_out_into_an_error(make_weather: MakeTools) -> None:
    weather = await make_weather(timeout_seconds=0.2, max_attempts=1)
    weather.upstream.fail(FORECAST, "slow", delay_seconds=2.0)
    text = await weather.failed("weather_current", {"location": "Paris"})
    assert text == (
        "The Open-Meteo forecast API timed out after 0.2 s (after 1 attempt); try again later."
    )


async def test_malformed_geocoding_json_is_an_error(weather: ToolClient) -> None:
    weather.upstream.fail(GEOCODING, "malformed")
    text = await weather.failed("weather_current", {"location": "Paris"})
    assert text == ("The Open-Meteo geocoding API sent malformed JSON for search; try again later.")


async def test_a_forecast_404_is_an_error(weather: ToolClient) -> None:
    weather.upstream.fail(FORECAST, "404")
    text = await weather.failed("weather_forecast", {"location": "Paris"})
    assert text == "The Open-Meteo forecast API has nothing at forecast."


async def test_open_meteos_reason_for_a_400_is_passed_on(weather: ToolClient) -> None:
    weather.upstream.fail(FORECAST, "400")
    text = await weather.failed("weather_current", {"location": "Paris"})
    assert text == (
        "Open-Meteo refused the request (HTTP 400): Latitude must be in range of -90 to 90°."
    )
    assert weather.upstream.hits_for(FORECAST) == 1  # a 4xx is not retried


PARIS = Place(name="Paris", latitude=48.85, longitude=2.35)


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ([], "no forecast object"),
        ({}, "no daily object"),
        ({"daily": {"weather_code": [1]}}, "daily.time is missing"),
        (
            {"daily": {"time": ["2026-11-24"], "weather_code": [1, 2]}},
            "daily.weather_code does not match daily.time",
        ),
        (
            {"daily": {"time": ["2026-11-24"], "weather_code": ["rain"]}},
            "weather_code is not an integer",
        ),
        (
            {"daily": {"time": ["2026-11-24"], "temperature_2m_max": ["hot"]}},
            "temperature_2m_max is not a number",
        ),
    ],
)
def test_a_forecast_of_the_wrong_shape_is_an_upstream_error(answer: Any, problem: str) -> None:
    with pytest.raises(UpstreamError) as raised:
        forecast_from_open_meteo(answer, PARIS)
    assert (
        str(raised.value) == f"Open-Meteo sent an unexpected answer ({problem}); try again later."
    )


def test_missing_daily_values_are_null_not_an_error() -> None:
    forecast = forecast_from_open_meteo(
        {"daily": {"time": ["2026-11-24"], "weather_code": [None]}}, PARIS
    )
    (day,) = forecast.days
    assert (day.conditions, day.temperature_max, day.sunrise) == ("unknown", None, None)
    assert "n/a to n/a" in forecast.summary


# ---------------------------------------------------------------------- cache and budget


async def test_a_repeated_call_is_served_from_the_cache(weather: ToolClient) -> None:
    first = await weather.ok("weather_forecast", {"location": "Paris", "days": 3})
    second = await weather.ok("weather_forecast", {"location": "paris", "days": 3})
    assert second == first
    assert weather.upstream.hits_for(FORECAST) == 1
    # The geocoding key is the name as typed, so "paris" is a second lookup; the forecast
    # key is the coordinates, so it is not a second forecast.
    assert weather.upstream.hits_for(GEOCODING) == 2


async def test_a_forecast_is_fetched_again_after_ten_minutes_but_the_place_is_not(
    weather: ToolClient,
) -> None:
    await weather.ok("weather_current", {"location": "Paris"})
    weather.clock.now += 599
    await weather.ok("weather_current", {"location": "Paris"})
    assert weather.upstream.hits_for(FORECAST) == 1
    weather.clock.now += 2
    await weather.ok("weather_current", {"location": "Paris"})
    assert weather.upstream.hits_for(FORECAST) == 2
    assert weather.upstream.hits_for(GEOCODING) == 1


async def test_the_request_budget_is_shared_by_both_apis_and_refuses_politely(
    make_weather: MakeTools,
) -> None:
    weather = await make_weather(requests_per_minute=3)
    await weather.ok("weather_current", {"location": "Paris"})  # 2 requests
    await weather.ok("weather_current", {"location": "1,1"})  # 1 request
    text = await weather.failed("weather_current", {"location": "2,2"})
    assert text.startswith(
        "The request budget for The Open-Meteo forecast API (3 requests per 60 s) is spent"
    )
    assert weather.upstream.total_hits() == 3
    weather.clock.now += 61
    await weather.ok("weather_current", {"location": "2,2"})


# ---------------------------------------------------------------------- settings


def test_settings_default_to_the_real_apis_and_read_the_environment() -> None:
    assert WeatherSettings.from_env({}) == WeatherSettings()
    assert WeatherSettings().forecast_url == "https://api.open-meteo.com/v1"
    assert WeatherSettings().geocoding_url == "https://geocoding-api.open-meteo.com/v1"
    assert WeatherSettings().forecast_ttl_seconds == 600
    settings = WeatherSettings.from_env(
        {
            "SSEMCP_OPEN_METEO_URL": "http://127.0.0.1:1/v1",
            "SSEMCP_OPEN_METEO_GEOCODING_URL": "http://127.0.0.1:2/v1",
            "SSEMCP_WEATHER_FORECAST_TTL_SECONDS": "60",
            "SSEMCP_WEATHER_MAX_ATTEMPTS": "1",
            "SSEMCP_OPEN_METEO_REQUESTS_PER_MINUTE": "30",
        }
    )
    assert settings.forecast_url == "http://127.0.0.1:1/v1"
    assert settings.geocoding_url == "http://127.0.0.1:2/v1"
    assert settings.forecast_ttl_seconds == 60
    assert settings.max_attempts == 1
    assert settings.requests_per_minute == 30


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SSEMCP_OPEN_METEO_URL": "ftp://example.com"}, "not an http(s) base URL"),
        ({"SSEMCP_WEATHER_MAX_ATTEMPTS": "0"}, "must be at least 1"),
        ({"SSEMCP_WEATHER_TIMEOUT_SECONDS": "soon"}, "is not a number"),
        ({"SSEMCP_OPEN_METEO_REQUESTS_PER_MINUTE": "0"}, "must be at least 1"),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        WeatherSettings.from_env(environ)
