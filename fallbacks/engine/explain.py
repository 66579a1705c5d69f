"""The human-readable ``why`` of each ranked option."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from fallbacks import rules
from fallbacks.airports import airport_zone
from fallbacks.engine.model import Candidate
from fallbacks.models import OptionKind

if TYPE_CHECKING:
    from fallbacks.engine.planner import Planner


def local_time(airport: str, moment: datetime) -> str:
    return f"{moment.astimezone(airport_zone(airport)):%a %d %b %H:%M} local"


def explain(planner: Planner, ranked: list[Candidate]) -> None:
    """Fill ``why`` for each candidate, in rank order."""
    real = [c for c in ranked if c.kind != OptionKind.REFUND]
    best_arrival = min((c.final_arrival for c in real if c.final_arrival), default=None)
    cheapest = min((c.passenger_cost + c.care_cost for c in real), default=None)
    for rank, candidate in enumerate(ranked, start=1):
        if candidate.kind == OptionKind.REFUND:
            candidate.why = (
                f"#{rank}: refund {candidate.refund_amount} {planner.booking.currency} for the unflown part; "
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
                f"{label} {first.origin}→{first.destination} departing {local_time(first.origin, first.departure)}"
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
            else f"passenger pays {candidate.passenger_cost} {planner.booking.currency}"
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
            f"score {candidate.score:.0f} = delay + cost/{planner.rules.cost_usd_per_minute} USD per min + penalties"
        )
        if reasons:
            ranking = f"{', '.join(reasons)}; {ranking}"
        candidate.why = f"#{rank}: " + "; ".join(parts) + f". Ranked by {ranking}."
