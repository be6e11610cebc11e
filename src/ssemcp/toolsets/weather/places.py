"""Turning what a user typed into one place: the resolution rule, with no I/O.

Owns reading a location ("Paris", "Springfield, Illinois", "48.85,2.35"), picking one place
from Open-Meteo's geocoding results, and the errors that ask for a more specific name.
Fetching the results is :mod:`.api`'s business.

The rule. Only results whose name equals the typed name (ignoring case and accents) are
candidates, when there are any; otherwise every result is (the geocoder also matches other
languages' names: "Londres" finds London). Qualifiers after commas must each match the
country, its code or an administrative area (state, region, county) of a candidate. A
candidate within :data:`SAME_PLACE_KM` of a more populous one is the same place seen twice
(a city and its district). Then the most populous candidate wins when it has at least
:data:`DOMINANCE_FACTOR` times the population of every other; otherwise the name is
ambiguous and the error lists the strong candidates with what tells them apart.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from ssemcp._types import JSONObject, JSONValue

__all__ = [
    "DOMINANCE_FACTOR",
    "AmbiguousPlace",
    "Coordinates",
    "Place",
    "PlaceNotFound",
    "PlaceQuery",
    "parse_location",
    "place_from_geocoding",
    "resolve",
]

# 10x: "Paris" (2.1 M) beats Paris, Texas (25 k) and "London" (8.9 M) beats London, Ontario
# (0.4 M), while Springfield (Missouri 169 k, Massachusetts 155 k, Illinois 114 k) and
# Portland (Oregon 0.65 M, Maine 68 k) are too close to call: a model asked about the smaller
# one should say so rather than get the bigger one's weather silently.
DOMINANCE_FACTOR: Final = 10
# GeoNames lists some cities twice (the city and its district or commune); 25 km is less than
# the distance between any two distinct places of one name we know of that matter.
SAME_PLACE_KM: Final = 25.0
# How many candidates an ambiguity error lists; enough to show the choice, short to read.
MAX_LISTED_CANDIDATES: Final = 8
_EARTH_RADIUS_KM: Final = 6371.0
_COORDINATES: Final = re.compile(r"\s*(-?\d{1,3}(?:\.\d+)?)\s*[,;]\s*(-?\d{1,3}(?:\.\d+)?)\s*")


class PlaceNotFound(Exception):
    """No place matches; the message says what to try instead."""


class AmbiguousPlace(Exception):
    """Several places match about equally well; the message lists them."""


class Place(BaseModel):
    """Where the weather is for."""

    model_config = ConfigDict(frozen=True)

    name: str
    admin1: str | None = Field(default=None, description="State, region or province.")
    country: str | None = None
    country_code: str | None = Field(default=None, description="ISO 3166-1 alpha-2.")
    latitude: float
    longitude: float
    elevation: float | None = Field(default=None, description="Metres above sea level.")
    timezone: str | None = Field(default=None, description="IANA time zone of the place.")
    population: int | None = None

    @property
    def label(self) -> str:
        """ "Paris, Île-de-France, France": the name with what tells it apart."""
        parts = [self.name]
        for part in (self.admin1, self.country):
            if part and part not in parts:
                parts.append(part)
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class PlaceQuery:
    """A place name with optional qualifiers ("Springfield", ["Illinois"])."""

    name: str
    qualifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Coordinates:
    latitude: float
    longitude: float


def _fold(text: str) -> str:
    """Case- and accent-insensitive form: "Zürich" and "zurich" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).strip()


def parse_location(text: str) -> PlaceQuery | Coordinates:
    """Read a location as typed.

    Raises:
        PlaceNotFound: empty, or coordinates out of range.
    """
    match = _COORDINATES.fullmatch(text)
    if match:
        latitude, longitude = float(match[1]), float(match[2])
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise PlaceNotFound(
                f"{text.strip()!r} is not a valid 'latitude,longitude' pair: latitude must be "
                "-90 to 90 and longitude -180 to 180."
            )
        return Coordinates(latitude, longitude)
    name, *qualifiers = (part.strip() for part in text.split(","))
    if not name:
        raise PlaceNotFound(
            "The location has no place name before its first comma; give one, e.g. 'Paris' "
            "or 'Springfield, Illinois'."
        )
    return PlaceQuery(name, tuple(qualifier for qualifier in qualifiers if qualifier))


def _string(value: JSONValue) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: JSONValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def place_from_geocoding(result: JSONObject) -> Place | None:
    """A geocoding result as a place; None when it lacks a name or coordinates."""
    name = _string(result.get("name"))
    latitude = _number(result.get("latitude"))
    longitude = _number(result.get("longitude"))
    if name is None or latitude is None or longitude is None:
        return None
    population = result.get("population")
    return Place(
        name=name,
        admin1=_string(result.get("admin1")),
        country=_string(result.get("country")),
        country_code=_string(result.get("country_code")),
        latitude=latitude,
        longitude=longitude,
        elevation=_number(result.get("elevation")),
        timezone=_string(result.get("timezone")),
        population=population if type(population) is int and population > 0 else None,
    )


def _areas(result: JSONObject) -> set[str]:
    keys = ("country", "country_code", "admin1", "admin2", "admin3", "admin4")
    return {_fold(value) for key in keys if isinstance(value := result.get(key), str)}


def _distance_km(a: Place, b: Place) -> float:
    """Great-circle distance (haversine)."""
    lat_a, lat_b = math.radians(a.latitude), math.radians(b.latitude)
    d_lat = lat_b - lat_a
    d_lon = math.radians(b.longitude - a.longitude)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(d_lon / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _describe(place: Place) -> str:
    facts = [f"{place.latitude:.2f},{place.longitude:.2f}"]
    if place.population:
        facts.insert(0, f"pop. {place.population:,}")
    return f"{place.label} ({', '.join(facts)})"


def resolve(query: PlaceQuery, results: list[JSONObject]) -> Place:
    """The one place ``query`` means among ``results`` (the module docstring has the rule).

    Raises:
        PlaceNotFound: nothing matches (the message suggests what to try).
        AmbiguousPlace: several places match about equally well (the message lists them).
    """
    wanted = _fold(query.name)
    named = [result for result in results if _fold(str(result.get("name", ""))) == wanted]
    candidates = named or results
    qualified = [
        result
        for result in candidates
        if all(_fold(qualifier) in _areas(result) for qualifier in query.qualifiers)
    ]
    places = [place for result in qualified if (place := place_from_geocoding(result))]
    if not places:
        if query.qualifiers and candidates:
            known = sorted({place.label for r in candidates if (place := place_from_geocoding(r))})[
                :MAX_LISTED_CANDIDATES
            ]
            raise PlaceNotFound(
                f"No place named {query.name!r} in {', '.join(query.qualifiers)!r} was found. "
                f"Places named {query.name!r}: {'; '.join(known)}. Use one of those, or give "
                "coordinates as 'latitude,longitude'."
            )
        raise PlaceNotFound(
            f"No place named {query.name!r} was found. Check the spelling, try the name of a "
            "nearby town, or give coordinates as 'latitude,longitude'."
        )
    places.sort(key=lambda place: place.population or 0, reverse=True)
    distinct: list[Place] = []
    for place in places:
        if all(_distance_km(place, kept) > SAME_PLACE_KM for kept in distinct):
            distinct.append(place)
    top = distinct[0]
    # Without populations there is nothing to rank by: every namesake is a strong candidate.
    strong = [
        place
        for place in distinct
        if not top.population or (place.population or 0) * DOMINANCE_FACTOR > top.population
    ]
    if len(strong) == 1:
        return top
    listed = strong[:MAX_LISTED_CANDIDATES]
    more = len(strong) - len(listed)
    example = listed[1]
    hint = f"{example.name}, {example.admin1 or example.country}"
    raise AmbiguousPlace(
        f"{query.name!r} matches {len(strong)} places: "
        + "; ".join(_describe(place) for place in listed)
        + (f"; and {more} more" if more else "")
        + f". Say which one with a more specific location, e.g. {hint!r} (name, then state "
        "or country), or give coordinates as 'latitude,longitude'."
    )
