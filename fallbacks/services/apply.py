"""Applying an option: seats, rooms, the itinerary, the action record, timeline, audit, live.

One transaction per application. The booking row is locked first (one change per
booking at a time), then inventory rows are reserved in a fixed order (provider, ref)
through the provider's conditional UPDATE, then hotel nights, then the alert row for
the timeline: every applier takes locks in the same order, so parallel rebookings
queue instead of deadlocking, and a full flight makes the loser's whole transaction
roll back (409 with the next-best option).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from alertguardian.api import NotFound
from alerts.events import publish_alert_event
from alerts.models import Alert, AlertEventKind
from alerts.services import Actor, actor_fields, alert_event_add
from audit.services import audit_record
from fallbacks.airports import local_date
from fallbacks.engine import SearchContext
from fallbacks.events import publish_booking_event
from fallbacks.exceptions import BookingStateConflict, OptionUnavailable, RoomsUnavailable, SeatsUnavailable
from fallbacks.models import (
    ACTIVE_BOOKING_STATUSES,
    ActionMode,
    ActionOutcome,
    Booking,
    BookingSegment,
    BookingStatus,
    ChangeRequest,
    ChangeRequestStatus,
    FallbackAction,
    FallbackOption,
    HotelReservation,
    OptionKind,
    OptionStatus,
    SegmentMode,
    TripNotice,
)
from fallbacks.providers import get_provider
from fallbacks.rules import format_minutes
from fallbacks.services.suggestions import (
    alert_disruption_for_booking,
    booking_disruption,
    booking_options_compute,
)

AUTOMATIC_MODES = (ActionMode.AUTO, ActionMode.BULK)
POSITION_PARK = 1000


class AlreadyHandled(Exception):
    """An automatic action for (alert, booking) exists: automatic modes are idempotent."""

    def __init__(self, action: FallbackAction) -> None:
        self.action = action
        super().__init__(f"booking {action.booking_id} already handled by action {action.pk}")


def option_public(option: FallbackOption) -> dict[str, Any]:
    return {
        "id": option.pk,
        "booking_id": option.booking_id,
        "alert_id": option.alert_id,
        "kind": option.kind,
        "rank": option.rank,
        "arrival_delay_minutes": option.arrival_delay_minutes,
        "passenger_cost": str(option.passenger_cost),
        "care_cost": str(option.care_cost),
        "refund_eligible": option.refund_eligible,
        "refund_amount": str(option.refund_amount) if option.refund_amount is not None else None,
        "currency": option.currency,
        "why": option.why,
        "steps": option.plan.get("steps", []),
        "hotel": option.plan.get("hotel"),
        "expires_at": option.expires_at.isoformat(),
    }


def actor_label(by: Actor) -> str:
    return str(actor_fields(by)["actor_label"])


def segment_from_step(step: dict[str, Any], *, booking: Booking, position: int, cabin: str) -> BookingSegment:
    departure = datetime.fromisoformat(step["departure"])
    arrival = datetime.fromisoformat(step["arrival"])
    service_date = date.fromisoformat(step["service_date"]) if step.get("service_date") else None
    service_date = service_date or local_date(step["origin"], departure)
    is_air = step["mode"] == SegmentMode.AIR
    leg = step["leg_key"] if is_air else f"{step['flight_number']}-{service_date.isoformat()}-{step['origin']}"
    return BookingSegment(
        booking=booking,
        position=position,
        mode=step["mode"],
        flight_number=step["flight_number"][:12],
        carrier=step.get("carrier", "")[:3],
        origin=step["origin"],
        destination=step["destination"],
        service_date=service_date,
        scheduled_departure=departure,
        scheduled_arrival=arrival,
        leg_key=leg,
        cabin=cabin,
        fare=Decimal(step["price"]) if is_air else None,
        inventory_flight_id=int(step["ref"])
        if is_air and step["provider"] == "local" and step["ref"].isdigit()
        else None,
    )


def reserve_inventory(*, option: FallbackOption, replaced: list[BookingSegment], passengers: int) -> None:
    moves: list[tuple[str, str, int]] = [
        (step["provider"], step["ref"], passengers) for step in option.plan.get("steps", []) if step["mode"] == "air"
    ]
    moves += [("local", str(s.inventory_flight_id), -passengers) for s in replaced if s.inventory_flight_id]
    # A fixed lock order across all appliers: provider name, then numeric ref.
    for provider_name, ref, delta in sorted(moves, key=lambda m: (m[0], int(m[1]) if m[1].isdigit() else 0, m[1])):
        provider = get_provider(provider_name)
        if delta > 0:
            provider.reserve_seats(ref=ref, seats=delta)
        else:
            provider.release_seats(ref=ref, seats=-delta)
    hotel = option.plan.get("hotel")
    if hotel:
        get_provider(hotel["provider"]).reserve_rooms(
            ref=hotel["ref"], nights=[date.fromisoformat(n) for n in hotel["nights"]], rooms=hotel["rooms"]
        )


def _replace_segments(
    *, booking: Booking, option: FallbackOption, active: list[BookingSegment], action: FallbackAction, now: datetime
) -> list[BookingSegment]:
    replaced_ids = set(option.plan.get("replaced_segment_ids", []))
    replaced = [s for s in active if s.pk in replaced_ids]
    if not replaced:
        return []
    first_position = min(s.position for s in replaced)
    last_position = max(s.position for s in replaced)
    BookingSegment.objects.filter(pk__in=replaced_ids).update(superseded_at=now, superseded_by=action)
    steps = option.plan.get("steps", []) if option.kind != OptionKind.REFUND else []
    delta = len(steps) - len(replaced)
    later = BookingSegment.objects.filter(booking=booking, superseded_at__isnull=True, position__gt=last_position)
    if delta:
        # Park, then move: the partial unique index on (booking, position) never sees a clash.
        later_ids = list(later.values_list("pk", flat=True))
        if later_ids:
            BookingSegment.objects.filter(pk__in=later_ids).update(position=F("position") + POSITION_PARK)
            BookingSegment.objects.filter(pk__in=later_ids).update(position=F("position") + delta - POSITION_PARK)
    cabin = replaced[0].cabin
    created = [
        segment_from_step(step, booking=booking, position=first_position + index, cabin=cabin)
        for index, step in enumerate(steps)
    ]
    return BookingSegment.objects.bulk_create(created)


def action_summary(option: FallbackOption, booking: Booking) -> str:
    if option.kind == OptionKind.REFUND:
        return f"Refund {option.refund_amount} {booking.currency} for booking {booking.reference}"
    steps = option.plan.get("steps", [])
    if option.kind == OptionKind.KEEP and not steps:
        delay = option.arrival_delay_minutes or 0
        return f"Booking {booking.reference} stays on its delayed flight (+{format_minutes(delay)})"
    first = next((s for s in steps if s["mode"] == SegmentMode.AIR), steps[0])
    route = " → ".join([steps[0]["origin"], *(s["destination"] for s in steps)])
    departure = datetime.fromisoformat(first["departure"]).astimezone(UTC)
    return (
        f"Booking {booking.reference} rebooked on {first['flight_number']} {route}, "
        f"departing {departure:%Y-%m-%d %H:%M} UTC"
    )


def replaced_segments_check(option: FallbackOption, active: list[BookingSegment]) -> list[BookingSegment]:
    active_ids = {s.pk for s in active}
    replaced_ids = set(option.plan.get("replaced_segment_ids", []))
    if not (replaced_ids | set(option.plan.get("kept_segment_ids", []))) <= active_ids:
        raise OptionUnavailable("The booking changed since this option was computed.", reason="stale")
    return [s for s in active if s.pk in replaced_ids]


def _apply(
    *,
    booking: Booking,
    option: FallbackOption,
    active: list[BookingSegment],
    by: Actor,
    mode: str,
    now: datetime,
    alert: Alert | None = None,
    publish_alert: bool = True,
) -> FallbackAction:
    """The writes of one application. The caller holds the locks (alert, then booking) and
    checked the option; ``alert`` is the option's alert, locked, for the timeline entry."""
    if booking.status not in ACTIVE_BOOKING_STATUSES:
        raise BookingStateConflict(f"The booking is {booking.status}.", details={"status": booking.status})
    replaced = replaced_segments_check(option, active)
    reserve_inventory(option=option, replaced=replaced, passengers=booking.passengers)
    hotel = option.plan.get("hotel")
    summary = action_summary(option, booking)[:300]
    action = FallbackAction.objects.create(
        team_id=booking.team_id,
        booking=booking,
        alert_id=option.alert_id,
        option=option,
        kind=option.kind,
        mode=mode,
        outcome=ActionOutcome.APPLIED,
        actor=by if isinstance(by, User) else None,
        actor_label=actor_label(by),
        passenger_cost=option.passenger_cost,
        care_cost=option.care_cost,
        refund_amount=option.refund_amount,
        currency=option.currency,
        summary=summary,
        detail={
            "option_id": option.pk,
            "replaced": [
                {"id": s.pk, "leg_key": s.leg_key, "origin": s.origin, "destination": s.destination} for s in replaced
            ],
            "new": [
                {"leg_key": step["leg_key"] or f"{step['flight_number']}", "departure": step["departure"]}
                for step in (option.plan.get("steps", []) if option.kind != OptionKind.REFUND else [])
            ],
            "hotel": hotel,
            "arrival_delay_minutes": option.arrival_delay_minutes,
        },
        created_at=now,
    )
    new_segments = _replace_segments(booking=booking, option=option, active=active, action=action, now=now)
    if hotel:
        HotelReservation.objects.create(
            booking=booking,
            hotel_id=int(hotel["ref"]),
            action=action,
            check_in=date.fromisoformat(hotel["nights"][0]),
            nights=len(hotel["nights"]),
            rooms=hotel["rooms"],
            cost=Decimal(hotel["cost"]),
            created_at=now,
        )
    if option.kind == OptionKind.REFUND:
        booking.status = BookingStatus.REFUNDED
    elif new_segments or replaced:
        booking.status = BookingStatus.CHANGED
    booking.updated_at = now
    booking.save(update_fields=["status", "updated_at"])
    if option.status != OptionStatus.APPLIED:
        option.status = OptionStatus.APPLIED
        option.save(update_fields=["status"])
    FallbackOption.objects.filter(booking=booking, status=OptionStatus.OPEN).update(status=OptionStatus.SUPERSEDED)
    ChangeRequest.objects.filter(booking=booking, status=ChangeRequestStatus.OPEN).update(
        status=ChangeRequestStatus.DONE, closed_at=now
    )

    data = {
        "booking_id": booking.pk,
        "reference": booking.reference,
        "action_id": action.pk,
        "option_id": option.pk,
        "kind": option.kind,
        "mode": mode,
        "passenger_cost": str(option.passenger_cost),
        "care_cost": str(option.care_cost),
        "currency": option.currency,
    }
    if alert is not None:
        alert_event_add(alert=alert, kind=AlertEventKind.FALLBACK, actor=by, message=summary, data=data)
        if publish_alert:
            publish_alert_event("alert.fallback_applied", alert, data)
    audit_record(actor=by, action="fallback.applied", target=action, data={**data, "summary": summary})
    notice = TripNotice.objects.create(
        customer_id=booking.customer_id,
        booking=booking,
        alert_id=option.alert_id,
        kind="booking.changed",
        message=summary,
        data={"action_id": action.pk},
        created_at=now,
    )
    publish_booking_event(
        "booking.changed",
        booking,
        {"action_id": action.pk, "kind": option.kind, "summary": summary, "notice_id": notice.pk},
    )
    return action


@transaction.atomic
def option_apply_locked(
    *, option_id: int, by: Actor, mode: str, now: datetime | None = None, publish_alert: bool = True
) -> FallbackAction:
    """Apply without the 409 translation (auto-rebook uses it to try the next option).
    Raises ``SeatsUnavailable``/``RoomsUnavailable`` (rolled back), ``OptionUnavailable``
    when the option is stale, ``AlreadyHandled`` for an automatic repeat."""
    now = now or timezone.now()
    ids = FallbackOption.objects.filter(pk=option_id).values_list("booking_id", "alert_id").first()
    if ids is None:
        raise NotFound("Fallback option not found.")
    booking_id, alert_id = ids
    # Lock order everywhere (bulk included): alert, booking, inventory rows, audit chain.
    alert = Alert.objects.select_for_update().get(pk=alert_id) if alert_id else None
    booking = Booking.objects.select_for_update().get(pk=booking_id)
    option = FallbackOption.objects.get(pk=option_id)
    if option.alert_id and mode in AUTOMATIC_MODES:
        existing = FallbackAction.objects.filter(
            alert_id=option.alert_id, booking=booking, outcome=ActionOutcome.APPLIED, mode__in=AUTOMATIC_MODES
        ).first()
        if existing is not None:
            raise AlreadyHandled(existing)
    if option.status != OptionStatus.OPEN:
        raise OptionUnavailable(f"The option is {option.status}.", reason=str(option.status))
    if option.expires_at <= now:
        raise OptionUnavailable("The option has expired; ask for fresh suggestions.", reason="expired")
    active = list(BookingSegment.objects.filter(booking=booking, superseded_at__isnull=True).order_by("position"))
    return _apply(
        booking=booking,
        option=option,
        active=active,
        by=by,
        mode=mode,
        now=now,
        alert=alert,
        publish_alert=publish_alert,
    )


def _next_best(option: FallbackOption) -> dict[str, Any] | None:
    booking = Booking.objects.get(pk=option.booking_id)
    alert = Alert.objects.filter(pk=option.alert_id).first() if option.alert_id else None
    options = booking_options_compute(booking=booking, alert=alert)
    best = next((o for o in options if o.kind != OptionKind.REFUND), None) or (options[0] if options else None)
    return option_public(best) if best else None


def fallback_option_apply(*, option_id: int, by: Actor, mode: str = ActionMode.MANUAL) -> FallbackAction:
    """Apply one option. A sold-out seat or room is a 409 whose details carry the next-best option."""
    try:
        try:
            return option_apply_locked(option_id=option_id, by=by, mode=mode)
        except OperationalError as exc:
            # Lock order is fixed for appliers, but a bulk chunk holds many inventory rows at
            # once; if PostgreSQL picked this transaction as a deadlock victim, try once more.
            if not _is_deadlock(exc) or transaction.get_connection().in_atomic_block:
                raise
            return option_apply_locked(option_id=option_id, by=by, mode=mode)
    except (SeatsUnavailable, RoomsUnavailable) as exc:
        option = FallbackOption.objects.get(pk=option_id)
        what = "seats" if isinstance(exc, SeatsUnavailable) else "hotel rooms"
        raise OptionUnavailable(
            f"The {what} of this option were just taken.", reason="sold_out", next_best=_next_best(option)
        ) from exc


def _is_deadlock(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "40P01"


@dataclass(frozen=True)
class AutoRebookResult:
    action: FallbackAction
    already_applied: bool


def booking_auto_rebook(
    *, booking: Booking, by: Actor, alert: Alert | None = None, context: SearchContext | None = None
) -> AutoRebookResult:
    """Apply the best option that can still be booked (idempotent per alert and booking)."""
    if alert is not None:
        alert_disruption_for_booking(alert=alert, booking=booking)
    else:
        segments = list(booking.segments.filter(superseded_at__isnull=True).order_by("position"))
        _, alert = booking_disruption(booking=booking, segments=segments)
    if alert is not None:
        existing = FallbackAction.objects.filter(
            Q(alert=alert, booking=booking, outcome=ActionOutcome.APPLIED, mode__in=AUTOMATIC_MODES)
        ).first()
        if existing is not None:
            return AutoRebookResult(existing, True)
    options = booking_options_compute(booking=booking, alert=alert, context=context)
    refund = next((o for o in options if o.kind == OptionKind.REFUND), None)
    for option in options:
        if option.kind == OptionKind.REFUND:
            continue
        try:
            return AutoRebookResult(option_apply_locked(option_id=option.pk, by=by, mode=ActionMode.AUTO), False)
        except (SeatsUnavailable, RoomsUnavailable):
            continue
        except AlreadyHandled as handled:
            return AutoRebookResult(handled.action, True)
        except IntegrityError:
            # A concurrent automatic run for the same (alert, booking) won the unique slot.
            if alert is None:
                raise
            existing = FallbackAction.objects.filter(
                alert=alert, booking=booking, outcome=ActionOutcome.APPLIED, mode__in=AUTOMATIC_MODES
            ).first()
            if existing is None:
                raise
            return AutoRebookResult(existing, True)
    raise OptionUnavailable(
        "No alternative with free seats could be booked.",
        reason="no_options",
        next_best=option_public(refund) if refund else None,
    )
