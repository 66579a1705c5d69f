"""Computing and persisting ranked fallback options (``FallbackOption`` rows, with an expiry)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from alertguardian.api import InvalidInput
from alerts.models import OPEN_STATUSES, Alert
from fallbacks.engine import Candidate, Disruption, SearchContext, disruption_from_alert, plan_for_booking
from fallbacks.models import Booking, BookingSegment, FallbackOption, OptionStatus, TeamFallbackSettings
from fallbacks.selectors import team_fallback_settings

KIND_PRIORITY = {"cancelled": 0, "diverted": 1, "delay": 2}


def booking_disruption(*, booking: Booking, segments: list[BookingSegment]) -> tuple[Disruption, Alert | None]:
    """The open flight alert of the booking's team on one of its legs (cancellations
    first, then the earliest leg); without one, a voluntary change of the next leg."""
    air = [s for s in segments if s.mode == "air"] or segments
    if not air:
        raise InvalidInput("The booking has no active segment to change.", details={"segments": ["none active"]})
    keys = [s.leg_key for s in air]
    found: list[tuple[int, int, Disruption, Alert]] = []
    for alert in Alert.objects.filter(team_id=booking.team_id, resource__in=keys, status__in=OPEN_STATUSES):
        disruption = disruption_from_alert(alert)
        if disruption is not None:
            found.append((KIND_PRIORITY.get(disruption.kind, 9), keys.index(alert.resource), disruption, alert))
    if found:
        found.sort(key=lambda item: (item[0], item[1]))
        return found[0][2], found[0][3]
    now = timezone.now()
    upcoming = next((s for s in air if s.scheduled_departure > now), air[0])
    return Disruption(leg_key=upcoming.leg_key, kind="voluntary"), None


def alert_disruption_for_booking(*, alert: Alert, booking: Booking) -> Disruption:
    disruption = disruption_from_alert(alert)
    if disruption is None or alert.team_id != booking.team_id:
        raise InvalidInput(
            "The alert is not a flight disruption of this booking's team.", details={"alert_id": [alert.pk]}
        )
    return disruption


def option_from_candidate(
    *,
    booking: Booking,
    alert_id: int | None,
    disruption: Disruption,
    candidate: Candidate,
    rank: int,
    expires_at: datetime,
    currency: str,
    created_at: datetime,
) -> FallbackOption:
    plan: dict[str, Any] = {
        "disruption": {"leg_key": disruption.leg_key, "kind": disruption.kind},
        "steps": [step.as_json() for step in candidate.steps],
        "replaced_segment_ids": candidate.replaced_segment_ids,
        "kept_segment_ids": candidate.kept_segment_ids,
        "final_arrival": candidate.final_arrival.isoformat() if candidate.final_arrival else None,
        "first_departure": candidate.first_departure.isoformat() if candidate.first_departure else None,
        "hotel": candidate.hotel,
        "passengers": booking.passengers,
        "notes": candidate.notes,
    }
    return FallbackOption(
        team_id=booking.team_id,
        booking=booking,
        alert_id=alert_id,
        kind=candidate.kind,
        rank=rank,
        score=candidate.score if candidate.score != float("inf") else 1e9,
        involuntary=disruption.involuntary,
        arrival_delay_minutes=candidate.delay_minutes,
        change_fee=candidate.change_fee,
        fare_difference=candidate.fare_difference,
        passenger_cost=candidate.passenger_cost,
        care_cost=candidate.care_cost,
        refund_amount=candidate.refund_amount,
        refund_eligible=candidate.refund_eligible,
        currency=currency,
        why=candidate.why,
        plan=plan,
        created_at=created_at,
        expires_at=expires_at,
    )


def booking_options_compute(
    *,
    booking: Booking,
    alert: Alert | None = None,
    context: SearchContext | None = None,
    team_settings: TeamFallbackSettings | None = None,
    now: datetime | None = None,
) -> list[FallbackOption]:
    """Rank the options for a booking now and store them; earlier open options are superseded."""
    now = now or timezone.now()
    segments = getattr(booking, "active_segments", None)
    if segments is None:
        segments = list(booking.segments.filter(superseded_at__isnull=True).order_by("position", "id"))
    if not segments:
        raise InvalidInput("The booking has no active segment to change.", details={"segments": ["none active"]})
    if alert is not None:
        disruption = alert_disruption_for_booking(alert=alert, booking=booking)
        if disruption.leg_key not in {s.leg_key for s in segments}:
            return []  # already re-accommodated off the disrupted leg
    else:
        disruption, alert = booking_disruption(booking=booking, segments=segments)
    team_settings = team_settings or team_fallback_settings(team_id=booking.team_id)
    plan = plan_for_booking(
        booking=booking,
        disruption=disruption,
        team_settings=team_settings,
        context=context,
        now=now,
        segments=segments,
    )
    expires_at = now + timedelta(minutes=team_settings.option_ttl_minutes)
    rows = [
        option_from_candidate(
            booking=booking,
            alert_id=alert.pk if alert else None,
            disruption=disruption,
            candidate=candidate,
            rank=rank,
            expires_at=expires_at,
            currency=booking.currency,
            created_at=now,
        )
        for rank, candidate in enumerate(plan.candidates, start=1)
    ]
    with transaction.atomic():
        _relax_durability()
        FallbackOption.objects.filter(booking=booking, status=OptionStatus.OPEN).update(status=OptionStatus.SUPERSEDED)
        return FallbackOption.objects.bulk_create(rows)


def _relax_durability() -> None:
    """Options are a cache (recomputed on demand, expiring in minutes): their commit need
    not wait for the WAL flush. Only when this is the outermost transaction, so that a
    caller's real changes in the same transaction keep full durability."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def booking_options_current(
    *, booking: Booking, alert: Alert | None = None, refresh: bool = False, now: datetime | None = None
) -> list[FallbackOption]:
    """The booking's open, unexpired options, computed when there are none (or on refresh)."""
    now = now or timezone.now()
    if not refresh:
        current = FallbackOption.objects.filter(booking=booking, status=OptionStatus.OPEN, expires_at__gt=now)
        if alert is not None:
            current = current.filter(alert=alert)
        options = list(current.order_by("rank", "id"))
        if options:
            return options
    return booking_options_compute(booking=booking, alert=alert, now=now)
