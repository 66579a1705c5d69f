"""A customer asks to change a booking: a ChangeRequest row and an alert for the agents."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from alertguardian.api import InvalidInput
from alerts.models import AlertSource, Severity
from alerts.services import alert_raise
from audit.services import audit_record
from fallbacks.exceptions import BookingStateConflict, ChangeRequestOpen
from fallbacks.models import ACTIVE_BOOKING_STATUSES, Booking, ChangeRequest, ChangeRequestStatus, FallbackOption


@transaction.atomic
def change_request_create(
    *, booking: Booking, by: User, message: str = "", preferred_option_id: int | None = None
) -> ChangeRequest:
    """Open a change request (one open per booking: a second is 409) and raise a
    ``change_requested`` alert on the booking's team. The alert's resource is
    ``booking:<reference>``, not a flight leg, so other passengers of the flight never see it."""
    booking = Booking.objects.select_for_update().get(pk=booking.pk)
    if booking.status not in ACTIVE_BOOKING_STATUSES:
        raise BookingStateConflict(f"The booking is {booking.status}.", details={"status": booking.status})
    existing = ChangeRequest.objects.filter(booking=booking, status=ChangeRequestStatus.OPEN).first()
    if existing is not None:
        raise ChangeRequestOpen(
            "A change request for this booking is already open.", details={"change_request_id": existing.pk}
        )
    preferred = None
    if preferred_option_id is not None:
        preferred = FallbackOption.objects.filter(pk=preferred_option_id, booking=booking).first()
        if preferred is None:
            raise InvalidInput(
                "The preferred option is not one of this booking's options.",
                details={"preferred_option_id": ["unknown option for this booking"]},
            )
    title = f"Change requested for booking {booking.reference}"
    raised = alert_raise(
        team=booking.team,
        type="change_requested",
        severity=Severity.MEDIUM,
        title=title,
        source=AlertSource.CUSTOMER_REPORT,
        message=message,
        resource=f"booking:{booking.reference}",
        dedup_key=f"booking:{booking.pk}:change_requested",
        metadata={
            "booking_id": booking.pk,
            "reference": booking.reference,
            "preferred_option_id": preferred.pk if preferred else None,
        },
        actor=by,
        reported_by=by,
    )
    request = ChangeRequest.objects.create(
        team_id=booking.team_id,
        booking=booking,
        requested_by=by,
        message=message,
        preferred_option=preferred,
        alert=raised.alert,
    )
    audit_record(
        actor=by,
        action="booking.change_requested",
        target=booking,
        data={"change_request_id": request.pk, "alert_id": raised.alert.pk, "preferred_option_id": preferred_option_id},
    )
    return request
