"""Writes of the alerts app. Import from here: ``from alerts.services import alert_raise``."""

from __future__ import annotations

from alerts.services.broadcast import alert_broadcast
from alerts.services.deadlines import DeadlineChange, alert_set_ack_deadline, alerts_set_ack_deadlines
from alerts.services.flights import IngestResult, flight_events_ingest
from alerts.services.lifecycle import (
    Actor,
    RaiseResult,
    actor_fields,
    alert_acknowledge,
    alert_assign,
    alert_event_add,
    alert_note_add,
    alert_raise,
    alert_reopen,
    alert_resolve,
    alert_unacknowledge,
)
from alerts.services.outcomes import alert_outcome_record
from alerts.services.reports import alert_create_manual, alert_report_by_customer
from alerts.services.user_state import (
    alert_dismiss,
    alert_mark_read,
    alert_mark_unread,
    alert_undismiss,
    alert_unread_counts_publish,
)

__all__ = [
    "Actor",
    "DeadlineChange",
    "IngestResult",
    "RaiseResult",
    "actor_fields",
    "alert_acknowledge",
    "alert_assign",
    "alert_broadcast",
    "alert_create_manual",
    "alert_dismiss",
    "alert_event_add",
    "alert_mark_read",
    "alert_mark_unread",
    "alert_note_add",
    "alert_outcome_record",
    "alert_raise",
    "alert_reopen",
    "alert_report_by_customer",
    "alert_resolve",
    "alert_set_ack_deadline",
    "alert_unacknowledge",
    "alert_undismiss",
    "alert_unread_counts_publish",
    "alerts_set_ack_deadlines",
    "flight_events_ingest",
]
