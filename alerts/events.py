"""Live event payloads for alerts. Small JSON documents: ``type``, ``version``, ``alert``.

Schema (version 1), sent to ``team.<id>`` and ``alert.<id>``::

    {"type": "alert.created" | "alert.updated" | "alert.acknowledged" | "alert.unacknowledged"
             | "alert.resolved" | "alert.reopened" | "alert.assigned" | "alert.escalated"
             | "alert.fallback_applied",
     "version": 1,
     "alert": {<ALERT_PUBLIC_FIELDS>},
     "data": {...}}          # optional, event-specific (e.g. the escalation step)

Personal events (version 1), sent to ``user.<id>``::

    {"type": "unread.count", "version": 1, "count": <int>}
        # the user's unread count changed (see alerts.selectors.alert_unread_count)
    {"type": "alert.broadcast", "version": 1, "alert": {<ALERT_PUBLIC_FIELDS>}, "message": "<text>"}
        # a team admin broadcast a message to every staff member of the team
"""

from __future__ import annotations

from typing import Any

from alertguardian.realtime import alert_group, publish_many_on_commit, publish_on_commit, team_group, user_group
from alerts.models import Alert

EVENT_VERSION = 1

ALERT_EVENT_TYPES = (
    "alert.created",
    "alert.updated",
    "alert.acknowledged",
    "alert.unacknowledged",
    "alert.resolved",
    "alert.reopened",
    "alert.assigned",
    "alert.escalated",
    "alert.fallback_applied",
)

ALERT_PUBLIC_FIELDS = (
    "id",
    "team_id",
    "type",
    "severity",
    "status",
    "title",
    "resource",
    "assignee_id",
    "ack_deadline",
    "created_at",
    "updated_at",
    "acknowledged_at",
    "resolved_at",
    "occurrences",
    "affected_bookings_count",
)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def alert_public(alert: Alert) -> dict[str, Any]:
    return {field: _iso(getattr(alert, field)) for field in ALERT_PUBLIC_FIELDS}


def alert_event(event_type: str, alert: Alert, data: dict[str, Any] | None = None) -> dict[str, Any]:
    if event_type not in ALERT_EVENT_TYPES:
        raise ValueError(f"unknown alert event type {event_type!r}")
    event: dict[str, Any] = {"type": event_type, "version": EVENT_VERSION, "alert": alert_public(alert)}
    if data:
        event["data"] = data
    return event


def publish_alert_event(event_type: str, alert: Alert, data: dict[str, Any] | None = None) -> None:
    """Queue the event for the team board and the alert's detail page, sent on commit."""
    publish_many_on_commit(alert_event_messages(event_type, alert, data))


def alert_event_messages(
    event_type: str, alert: Alert, data: dict[str, Any] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """The (group, event) pairs of one alert event: the team board and the alert's page."""
    event = alert_event(event_type, alert, data)
    return [(team_group(alert.team_id), event), (alert_group(alert.pk), event)]


USER_EVENT_TYPES = ("unread.count", "alert.broadcast")


def unread_count_event(count: int) -> dict[str, Any]:
    return {"type": "unread.count", "version": EVENT_VERSION, "count": count}


def broadcast_event(alert: Alert) -> dict[str, Any]:
    return {"type": "alert.broadcast", "version": EVENT_VERSION, "alert": alert_public(alert), "message": alert.message}


def publish_unread_count(user_id: int, count: int) -> None:
    """Queue the user's new unread count for their personal group, sent on commit."""
    publish_on_commit(user_group(user_id), unread_count_event(count))
