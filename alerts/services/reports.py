"""Alerts filed by people: a customer reporting a problem with their booking, and staff
raising a manual alert for a team they manage (ops)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.models import Team, User
from alerts.exceptions import UnknownBooking
from alerts.hooks import booking_resolve
from alerts.models import Alert, AlertSource, Severity
from alerts.services.lifecycle import RaiseResult, alert_raise


@dataclass(frozen=True)
class ReportKind:
    alert_type: str
    severity: str
    label: str


# What a customer may report, and the alert it becomes.
CUSTOMER_REPORT_KINDS: dict[str, ReportKind] = {
    "hotel_overbooked": ReportKind("hotel_overbooked", Severity.HIGH, "Hotel overbooked"),
    "route_blocked": ReportKind("route_blocked", Severity.HIGH, "Route blocked"),
    "other": ReportKind("customer_report", Severity.MEDIUM, "Problem reported"),
}


@transaction.atomic
def alert_report_by_customer(*, customer: User, kind: str, booking: str, message: str = "") -> RaiseResult:
    """Raise an alert for the team that handles ``customer``'s booking.

    The booking (reference or id as typed) is resolved through ``alerts.hooks.BOOKING_RESOLVERS``,
    which only answer for bookings the customer owns; otherwise ``UnknownBooking`` (400 on
    ``booking``). Reporting the same kind of problem on the same booking again while the
    first report is open folds into it (``created`` is false) instead of opening another.
    """
    spec = CUSTOMER_REPORT_KINDS[kind]
    ref = booking_resolve(user=customer, booking=booking.strip())
    if ref is None:
        raise UnknownBooking(
            "No booking of yours matches this reference.",
            details={"booking": ["No booking of yours matches this reference or id."]},
        )
    team = Team.objects.get(pk=ref.team_id)
    return alert_raise(
        team=team,
        type=spec.alert_type,
        severity=spec.severity,
        title=f"{spec.label}: booking {ref.reference}",
        message=message,
        source=AlertSource.CUSTOMER_REPORT,
        resource=ref.resource or f"booking:{ref.booking_id}",
        dedup_key=f"customer_report:booking:{ref.booking_id}:{kind}",
        metadata={"booking_id": ref.booking_id, "booking_reference": ref.reference, "report_kind": kind},
        actor=customer,
        reported_by=customer,
        affected_bookings_count=1,
    )


def alert_create_manual(
    *, team: Team, by: User, type: str, severity: str, title: str, message: str = "", resource: str = ""
) -> Alert:
    """A staff member raises an alert by hand (authorization is the caller's: alerts.manage)."""
    return alert_raise(
        team=team,
        type=type,
        severity=severity,
        title=title,
        message=message,
        resource=resource,
        source=AlertSource.SYSTEM,
        metadata={"origin": "manual", "created_by": by.pk},
        actor=by,
    ).alert
