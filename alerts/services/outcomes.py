"""Record what finally happened to a disrupted flight on its alert (a lifecycle extension)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from alerts.events import publish_alert_event
from alerts.models import Alert, AlertEventKind
from alerts.services.lifecycle import Actor, alert_event_add
from audit.services import audit_record


@transaction.atomic
def alert_outcome_record(*, alert_id: int, by: Actor, outcome: dict[str, Any], message: str) -> Alert:
    """Add an "outcome" timeline entry and keep the latest outcome in ``metadata["outcome"]``.

    Works on open and resolved alerts alike (an outcome can arrive after an agent resolved).
    """
    alert = Alert.objects.select_for_update().get(pk=alert_id)
    alert.metadata = {**alert.metadata, "outcome": outcome}
    alert.updated_at = timezone.now()
    alert.save(update_fields=["metadata", "updated_at"])
    alert_event_add(alert=alert, kind=AlertEventKind.OUTCOME, actor=by, message=message, data=outcome)
    audit_record(actor=by, action="alert.outcome_recorded", target=alert, data=outcome)
    publish_alert_event("alert.updated", alert, {"outcome": outcome})
    return alert
