"""Search state shared across one or many bookings: memoized provider answers, seats taken."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.db.models import Q

from alerts.models import OPEN_STATUSES, Alert
from fallbacks.airports import great_circle_km
from fallbacks.engine.model import CANDIDATE_LIMIT
from fallbacks.models import Airport
from fallbacks.providers import FlightOffer, GroundOffer, GroundTimetable, HotelOffer, get_providers

_AIRPORTS_TTL_SECONDS = 300.0
_airports_cache: tuple[float, list[Airport]] | None = None


def served_airports() -> list[Airport]:
    """Airports with scheduled service, cached in the process for a few minutes: the list
    changes only when inventory is loaded (which calls ``forget_served_airports``)."""
    global _airports_cache
    now = time.monotonic()
    if _airports_cache is None or now - _airports_cache[0] > _AIRPORTS_TTL_SECONDS:
        _airports_cache = (now, list(Airport.objects.all()))
    return _airports_cache[1]


def forget_served_airports() -> None:
    global _airports_cache
    _airports_cache = None


class SearchContext:
    """Memoizes provider searches across bookings (bulk re-accommodation asks the same
    questions hundreds of times) and tracks seats taken during the run."""

    def __init__(self) -> None:
        self._flights: dict[tuple[Any, ...], list[FlightOffer]] = {}
        self._timetables: dict[str, list[GroundTimetable]] = {}
        self._hotels: dict[tuple[Any, ...], list[HotelOffer]] = {}
        self._cancelled: dict[str, bool] = {}
        self._airports: list[Airport] | None = None
        self.seats_taken: dict[tuple[str, str], int] = {}
        self.rooms_taken: dict[str, int] = {}

    def airports(self) -> list[Airport]:
        if self._airports is None:
            self._airports = served_airports()
        return self._airports

    def nearby(self, code: str, radius_km: float) -> list[tuple[str, float]]:
        origin = next((a for a in self.airports() if a.iata == code), None)
        if origin is None:
            return []
        found = [
            (a.iata, great_circle_km(origin.lat, origin.lon, a.lat, a.lon)) for a in self.airports() if a.iata != code
        ]
        return sorted(((c, d) for c, d in found if d <= radius_km), key=lambda item: item[1])

    def flights(
        self,
        *,
        origins: list[str],
        destinations: list[str],
        start: datetime,
        end: datetime,
        seats: int,
        exclude: list[str],
    ) -> list[FlightOffer]:
        key = (tuple(sorted(origins)), tuple(sorted(destinations)), start, end, seats, tuple(sorted(exclude)))
        if key not in self._flights:
            offers: list[FlightOffer] = []
            for provider in get_providers():
                offers += provider.search_flights(
                    origins=origins,
                    destinations=destinations,
                    depart_from=start,
                    depart_until=end,
                    seats=seats,
                    exclude_leg_keys=exclude,
                    limit=CANDIDATE_LIMIT,
                )
            self._mark_cancelled([o.leg_key for o in offers])
            self._flights[key] = sorted(
                (o for o in offers if not self._cancelled.get(o.leg_key)), key=lambda o: (o.departure, o.leg_key)
            )
        return [o for o in self._flights[key] if o.seats_free - self.seats_taken.get((o.provider, o.ref), 0) >= seats]

    def _mark_cancelled(self, leg_keys: list[str]) -> None:
        """Flights with an open cancellation alert (any team: a cancellation is a fact) are not offered."""
        unknown = [k for k in leg_keys if k not in self._cancelled]
        if not unknown:
            return
        cancelled = set(
            Alert.objects.filter(resource__in=unknown, status__in=OPEN_STATUSES)
            .filter(Q(dedup_key__endswith=":cancelled") | Q(type__icontains="cancel"))
            .values_list("resource", flat=True)
        )
        for k in unknown:
            self._cancelled[k] = k in cancelled

    def is_cancelled(self, leg_key: str) -> bool:
        self._mark_cancelled([leg_key])
        return self._cancelled[leg_key]

    def timetables(self, origin: str, destination: str) -> list[GroundTimetable]:
        if origin not in self._timetables:
            found: list[GroundTimetable] = []
            for provider in get_providers():
                found += provider.ground_timetables(origin=origin)
            self._timetables[origin] = found
        return [t for t in self._timetables[origin] if t.destination == destination]

    def ground(self, *, origin: str, destination: str, start: datetime) -> list[GroundOffer]:
        """The first departure of each service at or after ``start``, earliest arrival first."""
        offers = [t.first_after(start) for t in self.timetables(origin, destination)]
        return sorted(offers, key=lambda o: (o.arrival, o.price))

    def ground_arriving_by(
        self, *, origin: str, destination: str, earliest: datetime, deadline: datetime
    ) -> GroundOffer | None:
        """The transfer that leaves latest (the shortest wait) and still arrives by ``deadline``."""
        offers = [t.last_arriving_by(deadline) for t in self.timetables(origin, destination)]
        fitting = [o for o in offers if o is not None and o.departure >= earliest]
        return max(fitting, key=lambda o: (o.departure, -o.price)) if fitting else None

    def hotels(self, *, airport: str, nights: tuple[Any, ...], rooms: int) -> list[HotelOffer]:
        key = (airport, nights, rooms)
        if key not in self._hotels:
            offers: list[HotelOffer] = []
            for provider in get_providers():
                offers += provider.search_hotels(airports=[airport], nights=list(nights), rooms=rooms)
            self._hotels[key] = offers
        return [
            h for h in self._hotels[key] if h.rooms_free - self.rooms_taken.get(f"{h.provider}:{h.ref}", 0) >= rooms
        ]
