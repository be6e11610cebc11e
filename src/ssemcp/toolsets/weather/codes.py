"""WMO weather interpretation codes (WMO 4677, as Open-Meteo uses them) in words.

Owns the table and the lookup; no I/O. Open-Meteo documents the subset it emits under
"WMO Weather interpretation codes (WW)" on https://open-meteo.com/en/docs; the words follow
that table.
"""

from __future__ import annotations

from typing import Final

__all__ = ["WMO_CODES", "describe"]

WMO_CODES: Final[dict[int, str]] = {
    0: "clear sky",
    1: "mainly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "depositing rime fog",
    51: "light drizzle",
    53: "moderate drizzle",
    55: "dense drizzle",
    56: "light freezing drizzle",
    57: "dense freezing drizzle",
    61: "slight rain",
    63: "moderate rain",
    65: "heavy rain",
    66: "light freezing rain",
    67: "heavy freezing rain",
    71: "slight snow fall",
    73: "moderate snow fall",
    75: "heavy snow fall",
    77: "snow grains",
    80: "slight rain showers",
    81: "moderate rain showers",
    82: "violent rain showers",
    85: "slight snow showers",
    86: "heavy snow showers",
    95: "thunderstorm",
    96: "thunderstorm with slight hail",
    99: "thunderstorm with heavy hail",
}


def describe(code: int | None) -> str:
    """The words for a WMO code; a code outside the table is named rather than guessed."""
    if code is None:
        return "unknown"
    return WMO_CODES.get(code, f"unknown (WMO code {code})")
