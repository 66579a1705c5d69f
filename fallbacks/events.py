"""Live event payloads for customers' trips, sent to ``user.<customer_id>``.

Schema (version 1)::

    {"type": "trip.disrupted" | "booking.created" | "booking.changed",
     "version": 1,
     "booking": {"id", "reference", "status", "team_id", "updated_at"},
     "data": {...}}   # trip.disrupted: alert_id, leg_key, kind, notice_id, message
                      # booking.changed: action_id, kind, summary, notice_id

Alert-side events (``alert.fallback_applied``) use ``alerts.events.publish_alert_event``.
"""

from __future__ import annotations

from typing import Any

from alertguardian.realtime import publish_on_commit, user_group
from fallbacks.models import Booking

EVENT_VERSION = 1
BOOKING_EVENT_TYPES = ("trip.disrupted", "booking.created", "booking.changed")
BOOKING_PUBLIC_FIELDS = ("id", "reference", "status", "team_id", "updated_at")


def booking_public(booking: Booking) -> dict[str, Any]:
    values = {field: getattr(booking, field) for field in BOOKING_PUBLIC_FIELDS}
    values["updated_at"] = booking.updated_at.isoformat()
    return values


def booking_event(event_type: str, booking: Booking, data: dict[str, Any] | None = None) -> dict[str, Any]:
    if event_type not in BOOKING_EVENT_TYPES:
        raise ValueError(f"unknown booking event type {event_type!r}")
    event: dict[str, Any] = {"type": event_type, "version": EVENT_VERSION, "booking": booking_public(booking)}
    if data:
        event["data"] = data
    return event


def publish_booking_event(event_type: str, booking: Booking, data: dict[str, Any] | None = None) -> None:
    """Queue the event for the booking's customer, sent on commit."""
    publish_on_commit(user_group(booking.customer_id), booking_event(event_type, booking, data))
