"""Telling customers about their trip: ``TripNotice`` rows plus a live event to ``user.<id>``.

Escalation owns the Notification model (email/SMS/in-app delivery); until it is merged
the customer-facing in-app message lives here and is read at ``/api/v1/bookings/notices``.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from alertguardian.api import NotFound
from alerts.models import Alert
from audit.services import audit_record
from fallbacks.airports import airport_zone
from fallbacks.engine import disruption_from_alert
from fallbacks.events import publish_booking_event
from fallbacks.models import TripNotice
from fallbacks.selectors import active_segments_prefetch, affected_bookings

KIND_WORDS = {"cancelled": "is cancelled", "delay": "is delayed", "diverted": "was diverted"}


def alert_customers_notify(*, alert_id: int) -> int:
    """One ``trip.disrupted`` notice per affected booking (idempotent: the (alert, booking)
    unique index makes a redelivered task a no-op). Returns how many were created."""
    alert = Alert.objects.filter(pk=alert_id).first()
    if alert is None:
        return 0
    disruption = disruption_from_alert(alert)
    if disruption is None:
        return 0
    already = set(TripNotice.objects.filter(alert=alert, kind="trip.disrupted").values_list("booking_id", flat=True))
    created = 0
    bookings = (
        affected_bookings(team_id=alert.team_id, leg_key=disruption.leg_key)
        .exclude(pk__in=already)
        .prefetch_related(active_segments_prefetch())
    )
    for booking in bookings:
        segment = next(s for s in booking.active_segments if s.leg_key == disruption.leg_key)  # type: ignore[attr-defined]
        local = segment.scheduled_departure.astimezone(airport_zone(segment.origin))
        message = (
            f"Your flight {segment.flight_number} {segment.origin}→{segment.destination} on "
            f"{local:%a %d %b %H:%M} {KIND_WORDS.get(disruption.kind, 'is disrupted')}. "
            f"We are working on alternatives for booking {booking.reference}."
        )
        try:
            with transaction.atomic():
                notice = TripNotice.objects.create(
                    customer_id=booking.customer_id,
                    booking=booking,
                    alert=alert,
                    kind="trip.disrupted",
                    message=message,
                    data={"leg_key": disruption.leg_key, "kind": disruption.kind},
                )
                audit_record(
                    actor=None,
                    action="trip.customer_notified",
                    target=booking,
                    data={"alert_id": alert.pk, "notice_id": notice.pk, "leg_key": disruption.leg_key},
                )
                publish_booking_event(
                    "trip.disrupted",
                    booking,
                    {
                        "alert_id": alert.pk,
                        "leg_key": disruption.leg_key,
                        "kind": disruption.kind,
                        "notice_id": notice.pk,
                        "message": message,
                    },
                )
        except IntegrityError:
            continue  # a concurrent delivery of the same task created it
        created += 1
    return created


@transaction.atomic
def notice_mark_read(*, notice_id: int, user: User) -> TripNotice:
    notice = TripNotice.objects.select_for_update().filter(pk=notice_id, customer_id=user.pk).first()
    if notice is None:
        raise NotFound("Notice not found.")
    if notice.read_at is None:
        notice.read_at = timezone.now()
        notice.save(update_fields=["read_at"])
        audit_record(actor=user, action="trip.notice_read", target=notice, data={"booking_id": notice.booking_id})
    return notice
