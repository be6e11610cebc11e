"""The current time in an IANA zone: fixed instants, DST, lookup, suggestions, hostile names."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ssemcp.toolsets.utilities.clock import (
    MAX_TIMEZONE_NAME_CHARS,
    CurrentTime,
    UnknownTimezoneError,
    current_time,
)

WINTER = datetime(2024, 1, 15, 12, 0, 0, tzinfo=UTC)  # a Monday
SUMMER = datetime(2024, 7, 15, 12, 0, 0, tzinfo=UTC)  # also a Monday


def test_new_york_in_january_is_standard_time() -> None:
    assert current_time("America/New_York", now=WINTER) == CurrentTime(
        timezone="America/New_York",
        datetime="2024-01-15T07:00:00-05:00",
        date="2024-01-15",
        time="07:00:00",
        weekday="Monday",
        utc_offset="-05:00",
        is_dst=False,
        unix_timestamp=1705320000,
    )


def test_new_york_in_july_is_daylight_saving_time() -> None:
    result = current_time("America/New_York", now=SUMMER)
    assert result["datetime"] == "2024-07-15T08:00:00-04:00"
    assert result["utc_offset"] == "-04:00"
    assert result["is_dst"] is True


@pytest.mark.parametrize("now", [WINTER, SUMMER])
def test_kolkata_is_five_and_a_half_hours_ahead_all_year(now: datetime) -> None:
    result = current_time("Asia/Kolkata", now=now)
    assert result["utc_offset"] == "+05:30"
    assert result["time"] == "17:30:00"
    assert result["is_dst"] is False


def test_southern_hemisphere_observes_dst_in_january() -> None:
    assert current_time("Australia/Sydney", now=WINTER)["is_dst"] is True
    assert current_time("Australia/Sydney", now=SUMMER)["is_dst"] is False


def test_utc_is_the_default_zone() -> None:
    result = current_time(now=WINTER)
    assert result["timezone"] == "UTC"
    assert result["datetime"] == "2024-01-15T12:00:00+00:00"
    assert result["utc_offset"] == "+00:00"


def test_local_date_can_differ_from_the_utc_date() -> None:
    late_evening_utc = datetime(2024, 12, 31, 23, 30, tzinfo=UTC)  # a Tuesday
    result = current_time("Pacific/Auckland", now=late_evening_utc)
    assert result["date"] == "2025-01-01"
    assert result["weekday"] == "Wednesday"
    assert result["utc_offset"] == "+13:00"


def test_etc_zone_offsets_keep_their_inverted_posix_sign() -> None:
    assert current_time("Etc/GMT+5", now=WINTER)["utc_offset"] == "-05:00"


def test_historical_offset_with_seconds_is_written_in_full() -> None:
    result = current_time("Europe/Amsterdam", now=datetime(1900, 1, 1, tzinfo=UTC))
    assert result["utc_offset"] == "+00:19:32"
    assert result["datetime"] == "1900-01-01T00:19:32+00:19:32"


def test_unix_timestamp_is_the_same_instant_in_every_zone() -> None:
    timestamps = {
        current_time(name, now=SUMMER)["unix_timestamp"]
        for name in ("UTC", "Asia/Kolkata", "America/New_York", "Pacific/Chatham")
    }
    assert timestamps == {int(SUMMER.timestamp())}


def test_fractions_of_a_second_are_dropped_not_rounded() -> None:
    now = datetime(2024, 1, 15, 12, 0, 59, 999_999, tzinfo=UTC)
    result = current_time("UTC", now=now)
    assert result["time"] == "12:00:59"
    assert result["datetime"] == "2024-01-15T12:00:59+00:00"
    assert result["unix_timestamp"] == 1705320059


def test_unix_timestamp_rounds_down_before_1970() -> None:
    now = datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)
    assert current_time("UTC", now=now)["unix_timestamp"] == -1


def test_now_in_another_zone_describes_the_same_instant() -> None:
    same_instant = WINTER.astimezone(timezone(timedelta(hours=9)))
    assert current_time("Europe/Paris", now=same_instant) == current_time(
        "Europe/Paris", now=WINTER
    )


def test_weekdays_are_english_names_in_order() -> None:
    week = [current_time("UTC", now=WINTER + timedelta(days=day))["weekday"] for day in range(7)]
    assert week == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def test_naive_now_is_a_caller_error_not_an_unknown_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware") as caught:
        current_time("UTC", now=datetime(2024, 1, 15, 12, 0))
    assert not isinstance(caught.value, UnknownTimezoneError)


def test_without_now_the_system_clock_is_read() -> None:
    before = int(datetime.now(UTC).timestamp())
    result = current_time("UTC")
    after = int(datetime.now(UTC).timestamp())
    assert before <= result["unix_timestamp"] <= after


def test_result_has_exactly_the_declared_fields() -> None:
    assert set(current_time("UTC", now=WINTER)) == set(CurrentTime.__annotations__)


# --- lookup ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("Z", "UTC"),
        ("z", "UTC"),
        ("america/new_york", "America/New_York"),
        ("AMERICA/NEW_YORK", "America/New_York"),
        ("  Europe/Paris  ", "Europe/Paris"),
        ("asia/kolkata", "Asia/Kolkata"),
        ("etc/gmt+5", "Etc/GMT+5"),
    ],
)
def test_zone_names_match_ignoring_case_and_spaces(given: str, canonical: str) -> None:
    assert current_time(given, now=WINTER)["timezone"] == canonical


def test_every_listed_zone_resolves_to_itself() -> None:
    for name in sorted(zoneinfo.available_timezones() - {"localtime"}):
        assert current_time(name, now=WINTER)["timezone"] == name


# --- unknown names --------------------------------------------------------------------------------


def test_misspelt_zone_suggests_the_right_one() -> None:
    with pytest.raises(UnknownTimezoneError) as caught:
        current_time("Europe/Pari", now=WINTER)
    message = str(caught.value)
    assert message.startswith("unknown timezone 'Europe/Pari'; did you mean: Europe/Paris")


@pytest.mark.parametrize(
    ("given", "suggested"),
    [
        ("Paris", "Europe/Paris"),
        ("new york", "America/New_York"),
        ("Amerca/New_York", "America/New_York"),
        ("asia/calcuta", "Asia/Calcutta"),
    ],
)
def test_city_or_near_miss_suggests_the_zone(given: str, suggested: str) -> None:
    with pytest.raises(UnknownTimezoneError) as caught:
        current_time(given, now=WINTER)
    assert suggested in str(caught.value)


def test_at_most_five_suggestions_are_listed() -> None:
    with pytest.raises(UnknownTimezoneError) as caught:
        current_time("America/", now=WINTER)
    message = str(caught.value)
    if "did you mean: " in message:
        suggestions = message.split("did you mean: ", 1)[1].rstrip("?").split(", ")
        assert 1 <= len(suggestions) <= 5


def test_name_with_no_close_match_gets_an_example_instead() -> None:
    with pytest.raises(UnknownTimezoneError, match="use an IANA name such as 'Europe/Paris'"):
        current_time("qqqqqqqqqqqq", now=WINTER)


@pytest.mark.parametrize(
    "hostile",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "/etc/localtime",
        "/usr/share/zoneinfo/UTC",
        "Europe/../Europe/Paris",
        "./UTC",
        "UTC/",
        "..",
        ".",
        "/",
        "~",
        "C:\\Windows\\win.ini",
        "localtime",
        "posixrules",
        "posix/UTC",
        "right/UTC",
        "__init__",
        "__pycache__",
        "UTC\x00",
        "\x00",
        "",
        "   ",
        "\n",
        "\u212a",  # KELVIN SIGN: case-folds to "k"
        "x" * MAX_TIMEZONE_NAME_CHARS,
        "x" * (MAX_TIMEZONE_NAME_CHARS + 1),
        "x" * 1_000_000,
    ],
)
def test_hostile_zone_name_is_an_unknown_timezone_and_nothing_else(hostile: str) -> None:
    with pytest.raises(UnknownTimezoneError) as caught:
        current_time(hostile, now=WINTER)
    assert "\x00" not in str(caught.value)
    assert len(str(caught.value)) < 300


def test_non_string_zone_is_an_unknown_timezone() -> None:
    with pytest.raises(UnknownTimezoneError, match="must be a string"):
        current_time(42, now=WINTER)  # type: ignore[arg-type]


def test_name_at_the_length_limit_is_looked_up() -> None:
    with pytest.raises(UnknownTimezoneError, match=r"^unknown timezone 'x"):
        current_time("x" * MAX_TIMEZONE_NAME_CHARS, now=WINTER)


def test_name_past_the_length_limit_is_refused_without_being_echoed() -> None:
    name = "y" * (MAX_TIMEZONE_NAME_CHARS + 1)
    with pytest.raises(UnknownTimezoneError, match=f"at most {MAX_TIMEZONE_NAME_CHARS}") as caught:
        current_time(name, now=WINTER)
    assert name not in str(caught.value)
