"""Costing and refund rules applied to each candidate (a mixin of ``Planner``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fallbacks import rules
from fallbacks.engine.context import SearchContext
from fallbacks.engine.model import Candidate, Disruption
from fallbacks.models import Booking, BookingSegment, OptionKind, TeamFallbackSettings
from fallbacks.rules import RefundDecision


class Costing:
    booking: Booking
    segments: list[BookingSegment]
    disruption: Disruption
    rules: TeamFallbackSettings
    ctx: SearchContext
    pax: int
    index: int
    origin: str
    planned_departure: datetime
    planned_arrival: datetime
    international: bool
    fares: list[Decimal]

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

    def _refund_decision_for_change(self, change_minutes: int | None) -> RefundDecision:
        if not self.disruption.involuntary:
            return rules.RefundDecision(False, "voluntary changes are not refundable")
        return rules.refund_eligibility(
            self.rules,
            cancelled=self.disruption.kind in {"cancelled", "diverted"},
            change_minutes=change_minutes,
            international=self.international,
        )

    def _refund_decision(self, ranked: list[Candidate]) -> RefundDecision:
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

    def _refund_candidate(self, decision: RefundDecision) -> Candidate:
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
