"""The engine's vocabulary: the disruption, a plan's steps, a candidate, the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from alerts.models import Alert
from fallbacks import rules
from fallbacks.models import Booking, BookingSegment
from fallbacks.providers import FlightOffer, GroundOffer

LIVE_LEAD = timedelta(minutes=45)
DEPLANE_MINUTES = 30
CANDIDATE_LIMIT = 80
FIRST_HOPS_PER_GROUP = 4


@dataclass(frozen=True)
class Disruption:
    """What happened to one leg, read from the alert (see ``disruption_from_alert``)."""

    leg_key: str
    kind: str  # cancelled | delay | diverted | voluntary
    alert_id: int | None = None
    delay_minutes: int | None = None
    estimated_departure: datetime | None = None

    @property
    def involuntary(self) -> bool:
        return self.kind != "voluntary"


def disruption_from_alert(alert: Alert) -> Disruption | None:
    """Flight alerts carry the leg key in ``resource`` and ``flight:<leg>:<kind>`` as dedup key.

    Delay details are read from ``metadata`` when the ingestion sets them:
    ``delay_minutes`` (or ``departure_delay_minutes``) and ``estimated_departure`` (ISO).
    """
    if not alert.resource:
        return None
    kind = ""
    parts = alert.dedup_key.split(":")
    if len(parts) == 3 and parts[0] == "flight":
        kind = parts[2]
    alert_type = alert.type.lower()
    if not kind:
        kind = next((k for k in ("cancel", "delay", "divert") if k in alert_type), "")
    kind = {"cancel": "cancelled", "divert": "diverted"}.get(kind, kind)
    if kind not in {"cancelled", "delay", "diverted"}:
        return None
    metadata = alert.metadata or {}
    delay = metadata.get("delay_minutes", metadata.get("departure_delay_minutes"))
    estimated: datetime | None = None
    raw_estimate = metadata.get("estimated_departure")
    if isinstance(raw_estimate, str):
        try:
            estimated = datetime.fromisoformat(raw_estimate)
        except ValueError:
            estimated = None
        if estimated is not None and estimated.tzinfo is None:
            estimated = None
    return Disruption(
        leg_key=alert.resource,
        kind=kind,
        alert_id=alert.pk,
        delay_minutes=_minutes(delay),
        estimated_departure=estimated,
    )


def _minutes(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return round(float(value))
    except (TypeError, ValueError):
        return None


@dataclass
class Step:
    mode: str  # air | bus | rail
    provider: str
    ref: str
    origin: str
    destination: str
    departure: datetime
    arrival: datetime
    price: Decimal  # fare for flights, ticket price for ground
    flight_number: str = ""
    carrier: str = ""
    leg_key: str = ""
    service_date: str = ""
    operator: str = ""
    is_synthetic: bool = False
    seats_free: int = 0  # when the offer was read (flights)

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "provider": self.provider,
            "ref": self.ref,
            "origin": self.origin,
            "destination": self.destination,
            "departure": self.departure.isoformat(),
            "arrival": self.arrival.isoformat(),
            "price": str(self.price),
            "flight_number": self.flight_number,
            "carrier": self.carrier,
            "leg_key": self.leg_key,
            "service_date": self.service_date,
            "operator": self.operator,
            "synthetic": self.is_synthetic,
        }


def air_step(offer: FlightOffer) -> Step:
    return Step(
        mode="air",
        provider=offer.provider,
        ref=offer.ref,
        origin=offer.origin,
        destination=offer.destination,
        departure=offer.departure,
        arrival=offer.arrival,
        price=offer.fare,
        flight_number=offer.flight_number,
        carrier=offer.carrier,
        leg_key=offer.leg_key,
        service_date=offer.service_date.isoformat(),
        is_synthetic=offer.is_synthetic,
        seats_free=offer.seats_free,
    )


def ground_step(offer: GroundOffer) -> Step:
    return Step(
        mode=offer.mode,
        provider=offer.provider,
        ref=offer.ref,
        origin=offer.origin,
        destination=offer.destination,
        departure=offer.departure,
        arrival=offer.arrival,
        price=offer.price,
        operator=offer.operator,
        flight_number=f"{offer.mode.upper()}-{offer.origin}{offer.destination}",
    )


@dataclass
class Candidate:
    kind: str
    steps: list[Step] = field(default_factory=list)
    kept_segment_ids: list[int] = field(default_factory=list)
    replaced_segment_ids: list[int] = field(default_factory=list)
    final_arrival: datetime | None = None
    first_departure: datetime | None = None
    hotel: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    penalties: int = 0
    delay_minutes: int | None = None
    change_fee: Decimal = Decimal(0)
    fare_difference: Decimal = Decimal(0)
    passenger_cost: Decimal = Decimal(0)
    care_cost: Decimal = Decimal(0)
    refund_amount: Decimal | None = None
    refund_eligible: bool = False
    score: float = 0.0
    why: str = ""

    def signature(self) -> tuple[Any, ...]:
        return (self.kind, tuple((s.provider, s.ref, s.mode) for s in self.steps), tuple(self.kept_segment_ids))


@dataclass
class Plan:
    """The engine's answer for one booking."""

    disruption: Disruption
    segments: list[BookingSegment]
    first_index: int
    last_index: int
    candidates: list[Candidate]
    refund: rules.RefundDecision
    international: bool


def journey_bounds(segments: list[BookingSegment], index: int) -> int:
    last = index
    while last + 1 < len(segments) and rules.is_connection(
        segments[last].scheduled_arrival, segments[last + 1].scheduled_departure
    ):
        last += 1
    return last


def has_connection_at(segments: list[BookingSegment], index: int) -> bool:
    """True when the leg at ``index`` connects with the one before or after it."""
    before = index > 0 and rules.is_connection(
        segments[index - 1].scheduled_arrival, segments[index].scheduled_departure
    )
    return before or journey_bounds(segments, index) > index


def segment_fares(booking: Booking, segments: list[BookingSegment]) -> list[Decimal]:
    """Per-passenger fare of each leg; legs without a fare share what is left of the total."""
    known = sum((s.fare for s in segments if s.fare is not None), Decimal(0))
    unknown = [s for s in segments if s.fare is None]
    share = Decimal(0)
    if unknown:
        per_passenger_total = booking.total_paid / max(booking.passengers, 1)
        share = max(Decimal(0), per_passenger_total - known) / len(unknown)
    return [s.fare if s.fare is not None else rules.money(share) for s in segments]
