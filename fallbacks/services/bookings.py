"""Creating bookings, with the itinerary rules checked in one place."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Team, User
from audit.services import audit_record
from fallbacks import rules
from fallbacks.airports import is_known_airport, leg_key, local_date
from fallbacks.events import publish_booking_event
from fallbacks.exceptions import BookingInvalid
from fallbacks.models import Booking, BookingSegment, InventoryFlight, SegmentMode
from fallbacks.selectors import team_fallback_settings

REFERENCE_ALPHABET = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"


@dataclass(frozen=True)
class SegmentInput:
    flight_number: str
    origin: str
    destination: str
    scheduled_departure: datetime
    scheduled_arrival: datetime
    carrier: str = ""
    service_date: date | None = None
    cabin: str = "economy"
    fare_class: str = ""
    fare: Decimal | None = None
    mode: str = SegmentMode.AIR


def _reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def segments_validate(*, team_id: int, segments: list[SegmentInput]) -> list[str]:
    """Check the itinerary; return the leg keys. Errors have DRF's shape for lists, one
    entry per segment: ``{"segments": [{}, {"scheduled_departure": ["..."]}]}``."""
    errors: dict[int, dict[str, list[str]]] = {}

    def error(index: int, field: str, message: str) -> None:
        errors.setdefault(index, {}).setdefault(field, []).append(message)

    if not segments:
        raise BookingInvalid("A booking needs at least one segment.", details={"segments": ["at least one segment"]})
    team_rules = team_fallback_settings(team_id=team_id)
    keys: list[str] = []
    for index, segment in enumerate(segments):
        for field in ("origin", "destination"):
            code = getattr(segment, field)
            if not is_known_airport(code):
                error(index, field, f"unknown airport code {code!r}")
        if segment.origin == segment.destination:
            error(index, "destination", "must differ from the origin")
        for field in ("scheduled_departure", "scheduled_arrival"):
            if timezone.is_naive(getattr(segment, field)):
                error(index, field, "must include a UTC offset")
        if index in errors:
            keys.append("")
            continue
        if segment.scheduled_arrival <= segment.scheduled_departure:
            error(index, "scheduled_arrival", "must be after the scheduled departure")
        departure_day = local_date(segment.origin, segment.scheduled_departure)
        if segment.service_date is not None and segment.service_date != departure_day:
            error(
                index,
                "service_date",
                f"must be the local departure date at {segment.origin} ({departure_day.isoformat()})",
            )
        keys.append(leg_key(segment.flight_number, departure_day, segment.origin))
        if index == 0 or index - 1 in errors:
            continue
        previous = segments[index - 1]
        if segment.scheduled_departure < previous.scheduled_arrival:
            error(
                index, "scheduled_departure", f"is before segment {index - 1} arrives: segments must be in time order"
            )
            continue
        if not rules.is_connection(previous.scheduled_arrival, segment.scheduled_departure):
            continue  # a stopover of a day or more: no connection rules
        if segment.origin != previous.destination:
            error(
                index,
                "origin",
                f"a connection must leave from {previous.destination}, where segment {index - 1} arrives",
            )
            continue
        minimum = rules.minimum_connection_minutes(
            team_rules, inbound_origin=previous.origin, hub=segment.origin, outbound_destination=segment.destination
        )
        gap = int((segment.scheduled_departure - previous.scheduled_arrival).total_seconds() // 60)
        if gap < minimum:
            error(
                index,
                "scheduled_departure",
                f"connection at {segment.origin} is {gap} min; the minimum connection time is {minimum} min",
            )
    if errors:
        raise BookingInvalid(
            "The itinerary is invalid.", details={"segments": [errors.get(i, {}) for i in range(len(segments))]}
        )
    return keys


@transaction.atomic
def booking_create(
    *,
    team: Team,
    customer: User,
    by: User,
    segments: list[SegmentInput],
    passengers: int = 1,
    reference: str = "",
    total_paid: Decimal = Decimal("0.00"),
    currency: str = "USD",
    priority_tier: str = "standard",
    priority: int = 0,
    special_assistance: bool = False,
) -> Booking:
    """Create a booking with its segments. Does not take inventory seats: the booking
    already exists with the carrier, whose sales the inventory's ``seats_sold`` models."""
    if passengers < 1:
        raise BookingInvalid("A booking needs at least one passenger.", details={"passengers": ["must be ≥ 1"]})
    keys = segments_validate(team_id=team.pk, segments=segments)
    reference = (reference or _reference()).upper()
    if Booking.objects.filter(team=team, reference=reference).exists():
        raise BookingInvalid("The reference is taken.", details={"reference": ["already used in this team"]})
    try:
        with transaction.atomic():
            booking = Booking.objects.create(
                team=team,
                customer=customer,
                reference=reference,
                passengers=passengers,
                total_paid=total_paid,
                currency=currency.upper(),
                priority_tier=priority_tier,
                priority=priority,
                special_assistance=special_assistance,
                created_by=by,
            )
    except IntegrityError as exc:
        raise BookingInvalid("The reference is taken.", details={"reference": ["already used in this team"]}) from exc
    inventory = dict(InventoryFlight.objects.filter(leg_key__in=keys).values_list("leg_key", "pk"))
    BookingSegment.objects.bulk_create(
        [
            BookingSegment(
                booking=booking,
                position=index,
                mode=segment.mode,
                flight_number=segment.flight_number.upper(),
                carrier=(segment.carrier or segment.flight_number[:2]).upper(),
                origin=segment.origin.upper(),
                destination=segment.destination.upper(),
                service_date=local_date(segment.origin, segment.scheduled_departure),
                scheduled_departure=segment.scheduled_departure,
                scheduled_arrival=segment.scheduled_arrival,
                leg_key=keys[index],
                cabin=segment.cabin,
                fare_class=segment.fare_class,
                fare=segment.fare,
                inventory_flight_id=inventory.get(keys[index]),
            )
            for index, segment in enumerate(segments)
        ]
    )
    data: dict[str, Any] = {"reference": reference, "customer_id": customer.pk, "legs": keys, "passengers": passengers}
    audit_record(actor=by, action="booking.created", target=booking, data=data)
    publish_booking_event("booking.created", booking)
    return booking


def segment_input_from_inventory(flight: InventoryFlight, **extra: Any) -> SegmentInput:
    """A segment on an inventory flight (demo data, tests, benchmarks)."""
    return SegmentInput(
        flight_number=flight.flight_number,
        carrier=flight.carrier,
        origin=flight.origin,
        destination=flight.destination,
        scheduled_departure=flight.scheduled_departure,
        scheduled_arrival=flight.scheduled_arrival,
        fare=extra.pop("fare", flight.fare),
        **extra,
    )
