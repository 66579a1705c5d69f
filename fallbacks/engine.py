"""The suggestion engine: from a booking and its disruption to ranked, costed plans.

Reads only (providers and the inventory); ``services.suggestions`` persists the result
as ``FallbackOption`` rows. The search, for the disrupted leg i and the legs that
connect after it (the "journey" i..k, see ``rules.is_connection``):

1. first-hop flights from the origin or a nearby airport with scheduled service
   (great-circle radius, reached by a ground transfer) to the next stop, to the final
   destination directly, or to an airport near the final destination;
2. for each, the rest of the original routing: the original onward legs when the
   minimum connection time still holds, otherwise the first onward flight that does;
3. a bus/train instead of the first hop when the distance is short;
4. staying on the delayed flight, for delays;
5. a hotel for every plan whose new departure is on a later local day;
6. the refund, when eligible, always ranked last (the "decline all" path).

Each plan gets its arrival delay against the original final arrival, its cost, a
score (``rules.option_score``) and a human-readable ``why``.

The search window starts at the planned departure. For live operations (planned
departure less than 24 h ago or in the future) options also start no earlier than
45 minutes from now; for replays of historical days (2013 data) the wall clock is
ignored, otherwise nothing would ever be suggested.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from alerts.models import OPEN_STATUSES, Alert
from fallbacks import rules
from fallbacks.airports import airport_zone, great_circle_km, is_domestic
from fallbacks.models import Airport, Booking, BookingSegment, OptionKind, TeamFallbackSettings
from fallbacks.providers import FlightOffer, GroundOffer, GroundTimetable, HotelOffer, get_providers

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
        delay_minutes=int(delay) if isinstance(delay, int | float | str) and str(delay).lstrip("-").isdigit() else None,
        estimated_departure=estimated,
    )


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


def _air(offer: FlightOffer) -> Step:
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
    )


def _ground(offer: GroundOffer) -> Step:
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


class Planner:
    def __init__(
        self,
        *,
        booking: Booking,
        segments: list[BookingSegment],
        disruption: Disruption,
        team_settings: TeamFallbackSettings,
        context: SearchContext | None = None,
        now: datetime | None = None,
    ) -> None:
        self.booking = booking
        self.segments = segments
        self.disruption = disruption
        self.rules = team_settings
        self.ctx = context or SearchContext()
        self.now = now or timezone.now()
        self.pax = booking.passengers
        self.index = next((i for i, s in enumerate(segments) if s.leg_key == disruption.leg_key), 0)
        self.last = journey_bounds(segments, self.index)
        first, final = segments[self.index], segments[self.last]
        self.origin = first.origin
        self.final_destination = final.destination
        self.planned_departure = first.scheduled_departure
        self.planned_arrival = final.scheduled_arrival
        self.international = any(not is_domestic(s.origin, s.destination) for s in segments[self.index : self.last + 1])
        self.earliest = self.planned_departure
        if self.planned_departure >= self.now - timedelta(hours=24):
            self.earliest = max(self.planned_departure, self.now + LIVE_LEAD)
        self.window_end = self.earliest + timedelta(hours=self.rules.search_window_hours)
        self.exclude = [disruption.leg_key]
        self.fares = segment_fares(booking, segments)

    # -- search ------------------------------------------------------------------------

    def plan(self) -> Plan:
        candidates: list[Candidate] = []
        if self.disruption.kind == "delay":
            keep = self._keep_candidate()
            if keep is not None:
                candidates.append(keep)
        candidates += self._flight_candidates()
        candidates += self._ground_candidates()
        unique: dict[tuple[Any, ...], Candidate] = {}
        for candidate in candidates:
            unique.setdefault(candidate.signature(), candidate)
        ranked = [self._finish(c) for c in unique.values()]
        ranked.sort(key=lambda c: (c.score, c.final_arrival or self.window_end, c.passenger_cost))
        ranked = ranked[: self.rules.max_options]
        refund = self._refund_decision(ranked)
        if refund.eligible:
            ranked.append(self._refund_candidate(refund))
        return Plan(
            disruption=self.disruption,
            segments=self.segments,
            first_index=self.index,
            last_index=self.last,
            candidates=ranked,
            refund=refund,
            international=self.international,
        )

    def _flight_candidates(self) -> list[Candidate]:
        next_stop = self.segments[self.index].destination
        radius = self.rules.nearby_radius_km
        nearby_origins = dict(self.ctx.nearby(self.origin, radius))
        finals = {self.final_destination: 0.0, **dict(self.ctx.nearby(self.final_destination, radius))}
        destinations = sorted({next_stop, *finals})
        origins = [self.origin, *nearby_origins]
        offers = self.ctx.flights(
            origins=origins,
            destinations=destinations,
            start=self.earliest,
            end=self.window_end,
            seats=self.pax,
            exclude=self.exclude,
        )
        groups: dict[tuple[str, str], int] = {}
        found: list[Candidate] = []
        for offer in offers:
            group = (
                "same" if offer.origin == self.origin else "nearby",
                "next" if offer.destination == next_stop else "final",
            )
            if groups.get(group, 0) >= FIRST_HOPS_PER_GROUP:
                continue
            steps: list[Step] = []
            penalties = 0
            notes: list[str] = []
            if offer.origin != self.origin:
                transfer = self._transfer_for(offer)
                if transfer is None:
                    continue
                steps.append(_ground(transfer))
                penalties += rules.PENALTY_NEARBY_AIRPORT
                notes.append(
                    f"{transfer.mode} from {self.origin} to {offer.origin} "
                    f"({nearby_origins[offer.origin]:.0f} km) at {self._local(self.origin, transfer.departure)}"
                )
            steps.append(_air(offer))
            candidate = self._complete(steps, penalties, notes, via_next_stop=offer.destination == next_stop)
            if candidate is not None:
                groups[group] = groups.get(group, 0) + 1
                found.append(candidate)
        return found

    def _transfer_for(self, offer: FlightOffer) -> GroundOffer | None:
        """A ground transfer to the flight's (nearby) airport that arrives ``ground_to_air_buffer``
        before it leaves, leaving as late as possible (no hours-long wait at the other airport)."""
        return self.ctx.ground_arriving_by(
            origin=self.origin,
            destination=offer.origin,
            earliest=self.earliest,
            deadline=offer.departure - timedelta(minutes=self.rules.ground_to_air_buffer_minutes),
        )

    def _ground_candidates(self) -> list[Candidate]:
        found: list[Candidate] = []
        targets = [self.segments[self.index].destination]
        if self.final_destination not in targets:
            targets.append(self.final_destination)
        for target in targets:
            for offer in self.ctx.ground(origin=self.origin, destination=target, start=self.earliest)[:1]:
                if offer.distance_km > self.rules.ground_max_km:
                    continue
                notes = [f"{offer.mode} instead of flying ({offer.distance_km} km)"]
                candidate = self._complete(
                    [_ground(offer)],
                    rules.PENALTY_GROUND,
                    notes,
                    via_next_stop=target == self.segments[self.index].destination,
                    kind=OptionKind.GROUND,
                )
                if candidate is not None:
                    found.append(candidate)
        return found

    def _keep_candidate(self) -> Candidate | None:
        segment = self.segments[self.index]
        if self.disruption.estimated_departure is not None:
            shift = self.disruption.estimated_departure - segment.scheduled_departure
        elif self.disruption.delay_minutes is not None:
            shift = timedelta(minutes=self.disruption.delay_minutes)
        else:
            return None
        arrival = segment.scheduled_arrival + shift
        notes = [
            f"{segment.flight_number} now departs {self._local(segment.origin, segment.scheduled_departure + shift)}"
        ]
        candidate = Candidate(kind=OptionKind.KEEP, notes=notes, first_departure=segment.scheduled_departure + shift)
        onward = self._onward(
            arrival=arrival, hub=segment.destination, inbound_origin=segment.origin, start=self.index + 1
        )
        if onward is None:
            return None
        steps, kept, final_arrival, extra_notes = onward
        candidate.steps = steps
        candidate.kept_segment_ids = [segment.pk, *kept]
        candidate.replaced_segment_ids = [
            s.pk for s in self.segments[self.index + 1 : self.last + 1] if s.pk not in kept
        ]
        candidate.final_arrival = final_arrival
        candidate.notes += extra_notes
        candidate.penalties = 0
        return candidate

    def _complete(
        self, steps: list[Step], penalties: int, notes: list[str], *, via_next_stop: bool, kind: str = OptionKind.REBOOK
    ) -> Candidate | None:
        """Finish a plan whose first hop is ``steps``: follow the original routing or end at the final stop."""
        last_step = steps[-1]
        journey = self.segments[self.index : self.last + 1]
        if via_next_stop and self.last > self.index:
            onward = self._onward(
                arrival=last_step.arrival,
                hub=last_step.destination,
                inbound_origin=last_step.origin,
                start=self.index + 1,
            )
            if onward is None:
                return None
            more, kept, final_arrival, extra = onward
            replaced = [s.pk for s in journey if s.pk not in kept]
            return Candidate(
                kind=kind,
                steps=steps + more,
                kept_segment_ids=kept,
                replaced_segment_ids=replaced,
                final_arrival=final_arrival,
                notes=notes + extra,
                penalties=penalties,
            )
        final_arrival = last_step.arrival
        if last_step.destination != self.final_destination:
            transfers = self.ctx.ground(
                origin=last_step.destination,
                destination=self.final_destination,
                start=last_step.arrival + timedelta(minutes=DEPLANE_MINUTES),
            )
            if not transfers:
                return None
            steps = [*steps, _ground(transfers[0])]
            final_arrival = transfers[0].arrival
            penalties += rules.PENALTY_NEARBY_AIRPORT
            notes = [
                *notes,
                f"arrives at {last_step.destination}, then {transfers[0].mode} to {self.final_destination}",
            ]
        elif self.last > self.index and last_step.mode == "air":
            notes = [*notes, f"flies directly to {self.final_destination}, skipping the connection"]
        return Candidate(
            kind=kind,
            steps=steps,
            replaced_segment_ids=[s.pk for s in journey],
            final_arrival=final_arrival,
            notes=notes,
            penalties=penalties,
        )

    def _onward(
        self, *, arrival: datetime, hub: str, inbound_origin: str, start: int
    ) -> tuple[list[Step], list[int], datetime, list[str]] | None:
        """Legs ``start..last`` after arriving at ``hub``: keep them while the connection
        holds, otherwise take the first onward flight that respects the minimum connection time."""
        steps: list[Step] = []
        notes: list[str] = []
        current_arrival, current_hub, previous_origin = arrival, hub, inbound_origin
        for position in range(start, self.last + 1):
            segment = self.segments[position]
            mct = rules.minimum_connection_minutes(
                self.rules, inbound_origin=previous_origin, hub=current_hub, outbound_destination=segment.destination
            )
            ready = current_arrival + timedelta(minutes=mct)
            if (
                not steps
                and current_hub == segment.origin
                and segment.scheduled_departure >= ready
                and not self.ctx.is_cancelled(segment.leg_key)
            ):
                kept = [s.pk for s in self.segments[position : self.last + 1]]
                return steps, kept, self.segments[self.last].scheduled_arrival, notes
            offers = self.ctx.flights(
                origins=[current_hub],
                destinations=[segment.destination],
                start=ready,
                end=ready + timedelta(hours=self.rules.search_window_hours),
                seats=self.pax,
                exclude=[segment.leg_key],
            )
            if not offers:
                return None
            step = _air(offers[0])
            notes.append(f"onward {step.flight_number} from {current_hub} (connection ≥ {mct} min)")
            steps.append(step)
            current_arrival, current_hub, previous_origin = step.arrival, step.destination, step.origin
        return steps, [], current_arrival, notes

    # -- costing and ranking -------------------------------------------------------------

    def _finish(self, candidate: Candidate) -> Candidate:
        assert candidate.final_arrival is not None
        candidate.delay_minutes = int((candidate.final_arrival - self.planned_arrival).total_seconds() // 60)
        replaced_fares = sum(
            (
                fare
                for seg, fare in zip(self.segments, self.fares, strict=True)
                if seg.pk in candidate.replaced_segment_ids
            ),
            Decimal(0),
        )
        new_fares = sum((s.price for s in candidate.steps if s.mode == "air"), Decimal(0))
        ground_cost = sum((s.price for s in candidate.steps if s.mode != "air"), Decimal(0)) * self.pax
        cost = (
            rules.passenger_cost(
                self.rules,
                involuntary=self.disruption.involuntary,
                passengers=self.pax,
                new_fare=new_fares,
                old_fare=replaced_fares,
            )
            if candidate.replaced_segment_ids
            else rules.Cost(Decimal(0), Decimal(0), Decimal(0))
        )
        candidate.change_fee, candidate.fare_difference = cost.change_fee, cost.fare_difference
        candidate.passenger_cost = cost.passenger_cost
        care = rules.money(ground_cost)
        if candidate.first_departure is None and candidate.steps:
            candidate.first_departure = candidate.steps[0].departure
        first_departure = candidate.first_departure
        if self.disruption.involuntary and first_departure is not None:
            nights = rules.hotel_nights(
                airport=self.origin, planned_departure=self.planned_departure, new_departure=first_departure
            )
            if nights:
                candidate.hotel = self._hotel(nights)
                if candidate.hotel is not None:
                    care += Decimal(candidate.hotel["cost"])
                    candidate.notes.append(
                        f"{len(nights)} night(s) at {candidate.hotel['name']} ({candidate.hotel['rooms']} room(s))"
                    )
                else:
                    candidate.notes.append("overnight wait but no hotel room available near the airport")
        if self.disruption.involuntary:
            candidate.care_cost = rules.money(care)
        else:
            candidate.passenger_cost += rules.money(care)
        change = self._change_minutes(candidate, first_departure)
        candidate.refund_eligible = self._refund_decision_for_change(change).eligible
        candidate.score, _ = rules.option_score(
            self.rules,
            delay_minutes=candidate.delay_minutes,
            total_cost=candidate.passenger_cost + candidate.care_cost,
            penalties=candidate.penalties + self._extra_connections(candidate) * rules.PENALTY_PER_EXTRA_CONNECTION,
        )
        return candidate

    def _extra_connections(self, candidate: Candidate) -> int:
        new_air = sum(1 for s in candidate.steps if s.mode == "air")
        replaced = len(candidate.replaced_segment_ids)
        return max(0, new_air - replaced)

    def _change_minutes(self, candidate: Candidate, first_departure: datetime | None) -> int:
        departure_change = (
            abs(int((first_departure - self.planned_departure).total_seconds() // 60)) if first_departure else 0
        )
        return max(departure_change, abs(candidate.delay_minutes or 0))

    def _hotel(self, nights: list[Any]) -> dict[str, Any] | None:
        rooms = rules.rooms_for(self.pax)
        offers = self.ctx.hotels(airport=self.origin, nights=tuple(nights), rooms=rooms)
        if not offers:
            return None
        hotel = offers[0]
        return {
            "provider": hotel.provider,
            "ref": hotel.ref,
            "name": hotel.name,
            "airport": hotel.airport,
            "distance_km": round(hotel.distance_km, 1),
            "nights": [n.isoformat() for n in nights],
            "rooms": rooms,
            "rate": str(hotel.rate),
            "cost": str(rules.money(hotel.rate * rooms * len(nights))),
        }

    def _refund_decision_for_change(self, change_minutes: int | None) -> rules.RefundDecision:
        if not self.disruption.involuntary:
            return rules.RefundDecision(False, "voluntary changes are not refundable")
        return rules.refund_eligibility(
            self.rules,
            cancelled=self.disruption.kind in {"cancelled", "diverted"},
            change_minutes=change_minutes,
            international=self.international,
        )

    def _refund_decision(self, ranked: list[Candidate]) -> rules.RefundDecision:
        """Eligible on cancellation/diversion, on a delay over the threshold, when there is
        no alternative, or when every alternative changes the trip by more than the threshold."""
        if not self.disruption.involuntary:
            return rules.RefundDecision(False, "voluntary changes are not refundable")
        delay = self.disruption.delay_minutes
        if self.disruption.estimated_departure is not None:
            delay = int((self.disruption.estimated_departure - self.planned_departure).total_seconds() // 60)
        decision = self._refund_decision_for_change(delay)
        if decision.eligible:
            return decision
        if not ranked:
            return rules.RefundDecision(True, "no alternative is available")
        smallest = min(self._change_minutes(c, c.first_departure) for c in ranked)
        return self._refund_decision_for_change(smallest)

    def _refund_candidate(self, decision: rules.RefundDecision) -> Candidate:
        unflown = self.segments[self.index :]
        fares = self.fares[self.index :]
        amount = rules.money(sum(fares, Decimal(0)) * self.pax)
        if self.index == 0:
            amount = rules.money(self.booking.total_paid)
        candidate = Candidate(
            kind=OptionKind.REFUND,
            replaced_segment_ids=[s.pk for s in unflown],
            refund_amount=amount,
            refund_eligible=True,
            notes=[f"refund eligible: {decision.reason}"],
        )
        candidate.score = float("inf")
        return candidate

    # -- explanation ----------------------------------------------------------------------

    def _local(self, airport: str, moment: datetime) -> str:
        return f"{moment.astimezone(airport_zone(airport)):%a %d %b %H:%M} local"

    def explain(self, ranked: list[Candidate]) -> None:
        """Fill ``why`` for each candidate, in rank order."""
        real = [c for c in ranked if c.kind != OptionKind.REFUND]
        best_arrival = min((c.final_arrival for c in real if c.final_arrival), default=None)
        cheapest = min((c.passenger_cost + c.care_cost for c in real), default=None)
        for rank, candidate in enumerate(ranked, start=1):
            if candidate.kind == OptionKind.REFUND:
                candidate.why = (
                    f"#{rank}: refund {candidate.refund_amount} {self.booking.currency} for the unflown part; "
                    f"{candidate.notes[0]}. Listed last: it ends the trip."
                )
                continue
            parts: list[str] = []
            if candidate.kind == OptionKind.KEEP:
                parts.append("stay on your flight")
            elif candidate.steps:
                first = next((s for s in candidate.steps if s.mode == "air"), candidate.steps[0])
                label = first.flight_number if first.mode == "air" else f"{first.mode} ({first.operator})"
                parts.append(
                    f"{label} {first.origin}→{first.destination} departing {self._local(first.origin, first.departure)}"
                )
            assert candidate.delay_minutes is not None
            if candidate.delay_minutes > 0:
                parts.append(f"arrives {rules.format_minutes(candidate.delay_minutes)} later than planned")
            else:
                parts.append("arrives on time or earlier than planned")
            total = candidate.passenger_cost + candidate.care_cost
            parts.append(
                "no cost to the passenger"
                if candidate.passenger_cost == 0
                else f"passenger pays {candidate.passenger_cost} {self.booking.currency}"
            )
            parts += candidate.notes
            reasons: list[str] = []
            if best_arrival is not None and candidate.final_arrival == best_arrival:
                reasons.append("earliest arrival")
            if cheapest is not None and total == cheapest:
                reasons.append("lowest cost")
            if candidate.penalties == 0 and candidate.kind != OptionKind.GROUND:
                reasons.append("same airports")
            ranking = (
                f"score {candidate.score:.0f} = delay + cost/{self.rules.cost_usd_per_minute} USD per min + penalties"
            )
            if reasons:
                ranking = f"{', '.join(reasons)}; {ranking}"
            candidate.why = f"#{rank}: " + "; ".join(parts) + f". Ranked by {ranking}."


def plan_for_booking(
    *,
    booking: Booking,
    disruption: Disruption,
    team_settings: TeamFallbackSettings,
    context: SearchContext | None = None,
    now: datetime | None = None,
    segments: list[BookingSegment] | None = None,
) -> Plan:
    active = segments if segments is not None else list(booking.segments.filter(superseded_at__isnull=True))
    planner = Planner(
        booking=booking, segments=active, disruption=disruption, team_settings=team_settings, context=context, now=now
    )
    plan = planner.plan()
    planner.explain(plan.candidates)
    return plan


__all__ = [
    "Candidate",
    "Disruption",
    "Plan",
    "SearchContext",
    "disruption_from_alert",
    "has_connection_at",
    "plan_for_booking",
]
