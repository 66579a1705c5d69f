"""The domain rules, as pure functions (no queries), so each can be tested on its own.

- Minimum connection time (IATA defaults, per team): 30 min domestic→domestic,
  60 min domestic→international, 90 min after an international arrival.
- Two legs connect when the next one leaves less than 24 h after the previous arrives
  (a longer gap is a stopover: the trip continues later and is not at risk).
- Refund eligibility (US DOT): a cancellation, or a change of more than 3 h
  (domestic) / 6 h (international) to the departure or arrival.
- Hotel: when the new departure is on a later local day than the planned one.
- Cost to the passenger: change fee + fare difference, per passenger (team settings;
  involuntary changes waive the fare difference by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from fallbacks.airports import is_domestic, local_date

CONNECTION_WINDOW = timedelta(hours=24)
CENT = Decimal("0.01")


class RuleSettings(Protocol):
    change_fee_voluntary: Decimal
    change_fee_involuntary: Decimal
    charge_fare_difference_involuntary: bool
    refund_threshold_domestic_minutes: int
    refund_threshold_international_minutes: int
    mct_domestic_minutes: int
    mct_domestic_to_international_minutes: int
    mct_international_arrival_minutes: int
    cost_usd_per_minute: Decimal


def money(value: Decimal | float | int) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def is_connection(arrival: datetime, next_departure: datetime) -> bool:
    return next_departure - arrival < CONNECTION_WINDOW


def minimum_connection_minutes(rules: RuleSettings, *, inbound_origin: str, hub: str, outbound_destination: str) -> int:
    if not is_domestic(inbound_origin, hub):
        return rules.mct_international_arrival_minutes
    if not is_domestic(hub, outbound_destination):
        return rules.mct_domestic_to_international_minutes
    return rules.mct_domestic_minutes


@dataclass(frozen=True)
class RefundDecision:
    eligible: bool
    reason: str


def refund_eligibility(
    rules: RuleSettings, *, cancelled: bool, change_minutes: int | None, international: bool
) -> RefundDecision:
    """US DOT: refund on cancellation or a significant change (strictly over the threshold)."""
    if cancelled:
        return RefundDecision(True, "the flight is cancelled")
    threshold = (
        rules.refund_threshold_international_minutes if international else rules.refund_threshold_domestic_minutes
    )
    scope = "international" if international else "domestic"
    if change_minutes is not None and change_minutes > threshold:
        return RefundDecision(
            True,
            f"the schedule changes by {format_minutes(change_minutes)}, over the {threshold // 60} h {scope} limit",
        )
    return RefundDecision(False, f"changes up to {threshold // 60} h ({scope}) do not qualify for a refund")


def hotel_nights(*, airport: str, planned_departure: datetime, new_departure: datetime) -> list[date]:
    """Nights to cover when the new departure falls on a later local day than planned."""
    planned_day = local_date(airport, planned_departure)
    new_day = local_date(airport, new_departure)
    return [planned_day + timedelta(days=i) for i in range((new_day - planned_day).days)]


def rooms_for(passengers: int) -> int:
    return (passengers + 1) // 2


@dataclass(frozen=True)
class Cost:
    change_fee: Decimal
    fare_difference: Decimal
    passenger_cost: Decimal


def passenger_cost(
    rules: RuleSettings, *, involuntary: bool, passengers: int, new_fare: Decimal, old_fare: Decimal
) -> Cost:
    """Per-booking cost to the passenger: (change fee + positive fare difference) * passengers."""
    fee = rules.change_fee_involuntary if involuntary else rules.change_fee_voluntary
    difference = max(Decimal(0), new_fare - old_fare)
    if involuntary and not rules.charge_fare_difference_involuntary:
        difference = Decimal(0)
    change_fee = money(fee * passengers)
    fare_difference = money(difference * passengers)
    return Cost(change_fee=change_fee, fare_difference=fare_difference, passenger_cost=change_fee + fare_difference)


# Ranking penalties, in minutes of delay they are "worth".
PENALTY_NEARBY_AIRPORT = 30
PENALTY_PER_EXTRA_CONNECTION = 30
PENALTY_GROUND = 20


def option_score(
    rules: RuleSettings, *, delay_minutes: int, total_cost: Decimal, penalties: int
) -> tuple[float, float]:
    """Score (lower is better) = arrival delay + cost expressed in minutes + penalties."""
    per_minute = rules.cost_usd_per_minute if rules.cost_usd_per_minute > 0 else Decimal(1)
    cost_minutes = float(total_cost / per_minute)
    return max(delay_minutes, 0) + cost_minutes + penalties, cost_minutes


def format_minutes(minutes: int) -> str:
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{sign}{hours} h {rest:02d} min"
    if hours:
        return f"{sign}{hours} h"
    return f"{sign}{rest} min"
