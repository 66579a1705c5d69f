"""Writes of the alerts app. Import from here: ``from alerts.services import alert_raise``."""

from __future__ import annotations

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

__all__ = [
    "Actor",
    "RaiseResult",
    "actor_fields",
    "alert_acknowledge",
    "alert_assign",
    "alert_event_add",
    "alert_note_add",
    "alert_raise",
    "alert_reopen",
    "alert_resolve",
    "alert_unacknowledge",
]
