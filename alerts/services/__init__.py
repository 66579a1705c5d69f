"""Writes of the alerts app. Import from here: ``from alerts.services import alert_raise``."""

from __future__ import annotations

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

__all__ = [
    "Actor",
    "IngestResult",
    "RaiseResult",
    "actor_fields",
    "alert_acknowledge",
    "alert_assign",
    "alert_event_add",
    "alert_note_add",
    "alert_outcome_record",
    "alert_raise",
    "alert_reopen",
    "alert_resolve",
    "alert_unacknowledge",
    "flight_events_ingest",
]
