"""The bulk re-accommodation write path: the same changes as ``apply._apply``, batched.

A chunk of bookings shares one transaction that holds the alert row lock (taken first,
like every other applier: alert → booking → inventory → audit chain). Per booking only
what must be per booking happens at once: the booking/segment lock, the conditional
seat (and room) reservations, the action row and its audit entry. Everything else —
superseding and inserting segments, booking statuses, seat releases on the disrupted
flight, timeline entries, notices — is written with a handful of set-based statements
when the chunk is flushed, inside the same transaction.

A reservation that fails is compensated (the seats this attempt already took are
released) so the next option can be tried without a savepoint.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Case, F, IntegerField, Value, When

from accounts.models import User
from alerts.models import Alert, AlertEvent, AlertEventKind
from alerts.services import Actor, actor_fields
from audit.services import audit_record
from fallbacks.events import publish_booking_event
from fallbacks.exceptions import OptionUnavailable, RoomsUnavailable, SeatsUnavailable
from fallbacks.models import (
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
    InventoryFlight,
    OptionKind,
    OptionStatus,
    TripNotice,
)
from fallbacks.providers import get_provider
from fallbacks.services.apply import (
    action_summary,
    actor_label,
    replaced_segments_check,
    segment_from_step,
)


@dataclass
class BulkBatch:
    alert: Alert  # locked by the caller for the whole chunk
    by: Actor
    now: datetime
    bookings_with_open_options: set[int] = field(default_factory=set)
    bookings_with_open_requests: set[int] = field(default_factory=set)
    changed_bookings: list[Booking] = field(default_factory=list)
    superseded: dict[int, int] = field(default_factory=dict)  # segment id -> action id
    new_segments: list[BookingSegment] = field(default_factory=list)
    seat_releases: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # inventory id -> seats
    reservations: list[HotelReservation] = field(default_factory=list)
    events: list[AlertEvent] = field(default_factory=list)
    notices: list[tuple[TripNotice, Booking, dict[str, Any]]] = field(default_factory=list)

    def flush(self) -> None:
        """The deferred writes, in an order the partial unique index on active segment
        positions accepts: supersede the old segments before inserting the new ones."""
        if self.superseded:
            BookingSegment.objects.filter(pk__in=list(self.superseded)).update(
                superseded_at=self.now,
                superseded_by_id=Case(
                    *[When(pk=segment_id, then=Value(action_id)) for segment_id, action_id in self.superseded.items()],
                    output_field=IntegerField(),
                ),
            )
        BookingSegment.objects.bulk_create(self.new_segments)
        for flight_id, seats in sorted(self.seat_releases.items()):
            InventoryFlight.objects.filter(pk=flight_id, seats_sold__gte=seats).update(
                seats_sold=F("seats_sold") - seats, updated_at=self.now
            )
        changed = [b.pk for b in self.changed_bookings]
        if changed:
            Booking.objects.filter(pk__in=changed).update(status=BookingStatus.CHANGED, updated_at=self.now)
        with_options = [pk for pk in changed if pk in self.bookings_with_open_options]
        if with_options:
            FallbackOption.objects.filter(booking_id__in=with_options, status=OptionStatus.OPEN).update(
                status=OptionStatus.SUPERSEDED
            )
        with_requests = [pk for pk in changed if pk in self.bookings_with_open_requests]
        if with_requests:
            ChangeRequest.objects.filter(booking_id__in=with_requests, status=ChangeRequestStatus.OPEN).update(
                status=ChangeRequestStatus.DONE, closed_at=self.now
            )
        HotelReservation.objects.bulk_create(self.reservations)
        AlertEvent.objects.bulk_create(self.events)
        created = TripNotice.objects.bulk_create([notice for notice, _, _ in self.notices])
        for notice, (_, booking, data) in zip(created, self.notices, strict=True):
            booking.status = BookingStatus.CHANGED
            booking.updated_at = self.now
            publish_booking_event("booking.changed", booking, {**data, "notice_id": notice.pk})


def _reserve_or_compensate(option: FallbackOption, passengers: int) -> None:
    """Take the option's seats and rooms; on failure give back what this attempt took."""
    taken: list[tuple[str, str]] = []
    steps = [s for s in option.plan.get("steps", []) if s["mode"] == "air"]
    try:
        for step in sorted(steps, key=lambda s: (s["provider"], int(s["ref"]) if s["ref"].isdigit() else 0)):
            get_provider(step["provider"]).reserve_seats(ref=step["ref"], seats=passengers)
            taken.append((step["provider"], step["ref"]))
        hotel = option.plan.get("hotel")
        if hotel:
            get_provider(hotel["provider"]).reserve_rooms(
                ref=hotel["ref"], nights=[date.fromisoformat(n) for n in hotel["nights"]], rooms=hotel["rooms"]
            )
    except (SeatsUnavailable, RoomsUnavailable):
        for provider_name, ref in taken:
            get_provider(provider_name).release_seats(ref=ref, seats=passengers)
        raise


def bulk_apply_one(*, booking: Booking, option: FallbackOption, batch: BulkBatch) -> FallbackAction | None:
    """Apply a freshly computed option to one booking of the chunk. Returns ``None`` when
    the booking changed under us (it is reported, not rebooked); raises
    ``SeatsUnavailable``/``RoomsUnavailable`` after compensating, so the caller can try the next option."""
    active = list(
        BookingSegment.objects.select_for_update(of=("self", "booking"))
        .select_related("booking")
        .filter(booking_id=booking.pk, superseded_at__isnull=True)
        .order_by("position")
    )
    if not active or active[0].booking.status not in (BookingStatus.CONFIRMED, BookingStatus.CHANGED):
        return None
    try:
        replaced = replaced_segments_check(option, active)
    except OptionUnavailable:  # stale: a manual apply moved it since the run started
        return None
    _reserve_or_compensate(option, booking.passengers)
    for segment in replaced:
        if segment.inventory_flight_id:
            batch.seat_releases[segment.inventory_flight_id] += booking.passengers
    summary = action_summary(option, booking)[:300]
    steps = option.plan.get("steps", [])
    hotel = option.plan.get("hotel")
    action = FallbackAction.objects.create(
        team_id=booking.team_id,
        booking=booking,
        alert_id=batch.alert.pk,
        option=option if option.pk else None,
        kind=option.kind,
        mode=ActionMode.BULK,
        outcome=ActionOutcome.APPLIED,
        actor=batch.by if isinstance(batch.by, User) else None,
        actor_label=actor_label(batch.by),
        passenger_cost=option.passenger_cost,
        care_cost=option.care_cost,
        currency=option.currency,
        summary=summary,
        detail={
            "option_id": option.pk,
            "replaced": [
                {"id": s.pk, "leg_key": s.leg_key, "origin": s.origin, "destination": s.destination} for s in replaced
            ],
            "new": [{"leg_key": s["leg_key"] or s["flight_number"], "departure": s["departure"]} for s in steps],
            "hotel": hotel,
            "arrival_delay_minutes": option.arrival_delay_minutes,
        },
        created_at=batch.now,
    )
    _stage_segments(booking=booking, active=active, replaced=replaced, steps=steps, action=action, batch=batch)
    if hotel:
        batch.reservations.append(
            HotelReservation(
                booking=booking,
                hotel_id=int(hotel["ref"]),
                action=action,
                check_in=date.fromisoformat(hotel["nights"][0]),
                nights=len(hotel["nights"]),
                rooms=hotel["rooms"],
                cost=Decimal(hotel["cost"]),
                created_at=batch.now,
            )
        )
    batch.changed_bookings.append(booking)
    data = {
        "booking_id": booking.pk,
        "reference": booking.reference,
        "action_id": action.pk,
        "option_id": option.pk,
        "kind": option.kind,
        "mode": ActionMode.BULK,
        "passenger_cost": str(option.passenger_cost),
        "care_cost": str(option.care_cost),
        "currency": option.currency,
    }
    batch.events.append(
        AlertEvent(
            alert=batch.alert,
            kind=AlertEventKind.FALLBACK,
            message=summary,
            data=data,
            created_at=batch.now,
            **actor_fields(batch.by),
        )
    )
    audit_record(actor=batch.by, action="fallback.applied", target=action, data={**data, "summary": summary})
    batch.notices.append(
        (
            TripNotice(
                customer_id=booking.customer_id,
                booking=booking,
                alert_id=batch.alert.pk,
                kind="booking.changed",
                message=summary,
                data={"action_id": action.pk},
                created_at=batch.now,
            ),
            booking,
            {"action_id": action.pk, "kind": option.kind, "summary": summary},
        )
    )
    return action


def _stage_segments(
    *,
    booking: Booking,
    active: list[BookingSegment],
    replaced: list[BookingSegment],
    steps: list[dict[str, Any]],
    action: FallbackAction,
    batch: BulkBatch,
) -> None:
    if not replaced or action.kind == OptionKind.REFUND:
        return
    first = min(s.position for s in replaced)
    last = max(s.position for s in replaced)
    delta = len(steps) - len(replaced)
    later = [s for s in active if s.position > last]
    if delta and later:
        # A connection that changes the number of legs: renumber now (rare; park then move,
        # so that the partial unique index on active positions never sees a clash).
        BookingSegment.objects.filter(pk__in=[s.pk for s in replaced]).update(
            superseded_at=batch.now, superseded_by=action
        )
        ids = [s.pk for s in later]
        BookingSegment.objects.filter(pk__in=ids).update(position=F("position") + 1000)
        BookingSegment.objects.filter(pk__in=ids).update(position=F("position") + delta - 1000)
        BookingSegment.objects.bulk_create(
            [
                segment_from_step(step, booking=booking, position=first + i, cabin=replaced[0].cabin)
                for i, step in enumerate(steps)
            ]
        )
        return
    for segment in replaced:
        batch.superseded[segment.pk] = action.pk
    batch.new_segments += [
        segment_from_step(step, booking=booking, position=first + i, cabin=replaced[0].cabin)
        for i, step in enumerate(steps)
    ]
