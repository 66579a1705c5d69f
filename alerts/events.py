"""Live event payloads for alerts. Small JSON documents: ``type``, ``version``, ``alert``.

Schema (version 1), sent to ``team.<id>`` and ``alert.<id>``::

    {"type": "alert.created" | "alert.updated" | "alert.acknowledged" | "alert.unacknowledged"
             | "alert.resolved" | "alert.reopened" | "alert.assigned" | "alert.escalated"
             | "alert.fallback_applied",
     "version": 1,
     "alert": {<ALERT_PUBLIC_FIELDS>},
     "data": {...}}          # optional, event-specific (e.g. the escalation step)
"""

from __future__ import annotations

from typing import Any

from alertguardian.realtime import alert_group, publish_on_commit, team_group
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
    event = alert_event(event_type, alert, data)
    publish_on_commit(team_group(alert.team_id), event)
    publish_on_commit(alert_group(alert.pk), event)
