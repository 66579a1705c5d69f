"""The search: which journeys can replace the disrupted one (see the package docstring)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from fallbacks import rules
from fallbacks.airports import is_domestic
from fallbacks.engine.context import SearchContext
from fallbacks.engine.costing import Costing
from fallbacks.engine.explain import explain, local_time
from fallbacks.engine.model import (
    DEPLANE_MINUTES,
    FIRST_HOPS_PER_GROUP,
    LIVE_LEAD,
    Candidate,
    Disruption,
    Plan,
    Step,
    air_step,
    ground_step,
    journey_bounds,
    segment_fares,
)
from fallbacks.models import Booking, BookingSegment, OptionKind, TeamFallbackSettings
from fallbacks.providers import FlightOffer, GroundOffer


class Planner(Costing):
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
                steps.append(ground_step(transfer))
                penalties += rules.PENALTY_NEARBY_AIRPORT
                notes.append(
                    f"{transfer.mode} from {self.origin} to {offer.origin} "
                    f"({nearby_origins[offer.origin]:.0f} km) at {local_time(self.origin, transfer.departure)}"
                )
            steps.append(air_step(offer))
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
                    [ground_step(offer)],
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
            f"{segment.flight_number} now departs {local_time(segment.origin, segment.scheduled_departure + shift)}"
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
            steps = [*steps, ground_step(transfers[0])]
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
            step = air_step(offers[0])
            notes.append(f"onward {step.flight_number} from {current_hub} (connection ≥ {mct} min)")
            steps.append(step)
            current_arrival, current_hub, previous_origin = step.arrival, step.destination, step.origin
        return steps, [], current_arrival, notes

    # -- costing and ranking -------------------------------------------------------------


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
    explain(planner, plan.candidates)
    return plan
