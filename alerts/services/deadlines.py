"""The acknowledge deadline: set by escalation when it notifies, shown as the board's countdown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alerts.events import publish_alert_event
from alerts.models import Alert


def alert_set_ack_deadline(*, alert: Alert, deadline: datetime | None, data: dict[str, Any] | None = None) -> Alert:
    """Move the countdown of ``alert`` (locked by the caller) and publish ``alert.escalated``.

    Not audited by itself: the caller (an escalation step) audits the step that moved it.
    """
    alert.ack_deadline = deadline
    alert.save(update_fields=["ack_deadline"])
    publish_alert_event("alert.escalated", alert, data)
    return alert
