"""The current time in an IANA time zone: the logic behind the ``current_time`` tool.

Owns resolving a zone name a model typed (case-insensitively, with suggestions when it is
wrong) and describing one instant in that zone. Zone data comes from :mod:`zoneinfo`, backed by
the ``tzdata`` package so every platform has the same zones. A name only ever reaches
:class:`zoneinfo.ZoneInfo` after it has been found in the table of known zones, so path-like
input (``../../etc/passwd``) cannot make it open a file.

Registering the MCP tool is left to :mod:`ssemcp.toolsets.utilities`; the clock is read only
when the caller does not pass ``now``.
"""

from __future__ import annotations

import difflib
import functools
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Final

# pydantic, which turns CurrentTime into the tool's output schema, needs typing_extensions'
# TypedDict before Python 3.12.
from typing_extensions import TypedDict

__all__ = [
    "MAX_TIMEZONE_NAME_CHARS",
    "CurrentTime",
    "UnknownTimezoneError",
    "current_time",
]

# The longest name in tzdata is 32 characters ("America/Argentina/ComodRivadavia"), and the tz
# rules (theory.html) keep each of its at most three components to 14 characters. Twice the
# longest leaves room for future names; longer input is refused without being compared.
MAX_TIMEZONE_NAME_CHARS: Final = 64

# difflib's default similarity cutoff; how many close names an error message lists.
_SUGGESTION_CUTOFF: Final = 0.6
_MAX_SUGGESTIONS: Final = 5

# Files zoneinfo.available_timezones() can list that are not IANA zones: Debian puts the host's
# own zone in TZPATH as "localtime". Offering it would also tell callers how the host is set up.
_NOT_ZONE_NAMES: Final = frozenset({"localtime"})

# ISO 8601 writes UTC as "Z"; tzdata has no zone of that name.
_ALIASES: Final[Mapping[str, str]] = MappingProxyType({"z": "UTC"})

# English names by datetime.weekday(), so the answer does not depend on the process locale
# (strftime("%A") does).
_WEEKDAY_NAMES: Final = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)

_UNIX_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class CurrentTime(TypedDict):
    """One instant described in one zone; the structured result of the ``current_time`` tool."""

    timezone: str  # the zone's canonical IANA name, e.g. "America/New_York"
    datetime: str  # ISO 8601 with offset, to the second: "2024-07-04T08:30:00-04:00"
    date: str  # "2024-07-04"
    time: str  # "08:30:00"
    weekday: str  # "Thursday"
    utc_offset: str  # "-04:00"; "+05:30"; seconds appended only if the offset has them
    is_dst: bool  # the tz database's daylight-saving flag for this instant
    unix_timestamp: int  # whole seconds since 1970-01-01T00:00:00Z, rounded down


class UnknownTimezoneError(ValueError):
    """The name is not an IANA time zone; the message suggests close names when there are any."""


@functools.cache
def _zone_names_by_folded_name() -> Mapping[str, str]:
    """Every known zone name, keyed by its case-folded form.

    Computed once, on first use: listing the zones reads the tzdata package, and the list does
    not change while the process runs. No two tzdata names differ only in case.
    """
    names = sorted(zoneinfo.available_timezones() - _NOT_ZONE_NAMES)
    return MappingProxyType({name.casefold(): name for name in names})


def _suggestions(folded_name: str, names_by_folded_name: Mapping[str, str]) -> list[str]:
    """Known zones close to a name that matched none: same city first, then similar spelling."""
    city = folded_name.replace(" ", "_")
    same_city = [
        name for folded, name in names_by_folded_name.items() if folded.rsplit("/", 1)[-1] == city
    ]
    similar = [
        names_by_folded_name[folded]
        for folded in difflib.get_close_matches(
            folded_name, names_by_folded_name, n=_MAX_SUGGESTIONS, cutoff=_SUGGESTION_CUTOFF
        )
    ]
    return list(dict.fromkeys(same_city + similar))[:_MAX_SUGGESTIONS]


def _resolve_zone(timezone: str) -> tuple[str, zoneinfo.ZoneInfo]:
    """Find a zone by name, ignoring case.

    Returns:
        The canonical name and the zone.

    Raises:
        UnknownTimezoneError: for anything that is not a known zone name.
    """
    if not isinstance(timezone, str):
        raise UnknownTimezoneError("timezone must be a string such as 'Europe/Paris'")
    if len(timezone) > MAX_TIMEZONE_NAME_CHARS:
        raise UnknownTimezoneError(
            f"unknown timezone: the name is {len(timezone)} characters long, and IANA names "
            f"are at most {MAX_TIMEZONE_NAME_CHARS}"
        )
    stripped = timezone.strip()
    if not stripped:
        raise UnknownTimezoneError("timezone is empty; use an IANA name such as 'UTC'")
    names_by_folded_name = _zone_names_by_folded_name()
    folded_name = stripped.casefold()
    folded_name = _ALIASES.get(folded_name, folded_name).casefold()
    name = names_by_folded_name.get(folded_name)
    if name is not None:
        try:
            return name, zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass  # listed but unreadable (a damaged TZPATH file): report it as unknown
    suggestions = _suggestions(folded_name, names_by_folded_name)
    message = f"unknown timezone {timezone!r}"
    if suggestions:
        message += f"; did you mean: {', '.join(suggestions)}?"
    else:
        message += "; use an IANA name such as 'Europe/Paris', 'America/New_York' or 'UTC'"
    raise UnknownTimezoneError(message)


def _format_utc_offset(offset: timedelta) -> str:
    """Write an offset as ``+HH:MM``, or ``+HH:MM:SS`` for the odd historical zone."""
    sign = "-" if offset < timedelta(0) else "+"
    total_seconds = abs(offset) // timedelta(seconds=1)
    hours, remainder = divmod(total_seconds, 3600)
    minutes, seconds = divmod(remainder, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{seconds:02d}" if seconds else text


def current_time(timezone: str = "UTC", *, now: datetime | None = None) -> CurrentTime:
    """Describe the current instant (or ``now``) in an IANA time zone.

    The name is matched ignoring case and surrounding spaces ("europe/paris" finds
    "Europe/Paris"), and "Z" means UTC. ``is_dst`` is the tz database's flag, so it is true in
    New York in July and false in Kolkata all year; note that tzdata models Irish time as
    "negative DST", so Europe/Dublin reports true in winter.

    Args:
        timezone: an IANA zone name such as "Europe/Paris", "America/New_York" or "UTC".
        now: the instant to describe, timezone-aware; defaults to the system clock.

    Returns:
        The instant in that zone, to the second (fractions of a second are dropped).

    Raises:
        UnknownTimezoneError: ``timezone`` is not a known zone name; the message lists up to
            five close names.
        ValueError: ``now`` is naive (a bug in the caller, not bad input).
    """
    name, zone = _resolve_zone(timezone)
    if now is None:
        now = datetime.now(UTC)
    elif now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    local = now.astimezone(zone)
    utc_offset = local.utcoffset() or timedelta(0)
    daylight_saving = local.dst()
    return CurrentTime(
        timezone=name,
        datetime=local.isoformat(timespec="seconds"),
        date=local.date().isoformat(),
        time=local.time().isoformat(timespec="seconds"),
        weekday=_WEEKDAY_NAMES[local.weekday()],
        utc_offset=_format_utc_offset(utc_offset),
        is_dst=daylight_saving is not None and daylight_saving != timedelta(0),
        unix_timestamp=(now - _UNIX_EPOCH) // timedelta(seconds=1),
    )
