"""The acknowledge deadline: set by escalation when it notifies, shown as the board's countdown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alertguardian.realtime import publish_many_on_commit
from alerts.events import alert_event_messages
from alerts.models import Alert


@dataclass(frozen=True)
class DeadlineChange:
    alert: Alert  # locked by the caller
    deadline: datetime | None
    data: dict[str, Any] | None = None


def alert_set_ack_deadline(*, alert: Alert, deadline: datetime | None, data: dict[str, Any] | None = None) -> Alert:
    """Move the countdown of ``alert`` (locked by the caller) and publish ``alert.escalated``.

    Not audited by itself: the caller (an escalation step) audits the step that moved it.
    """
    alerts_set_ack_deadlines([DeadlineChange(alert=alert, deadline=deadline, data=data)])
    return alert


def alerts_set_ack_deadlines(changes: list[DeadlineChange]) -> None:
    """``alert_set_ack_deadline`` for many alerts: one UPDATE, the live events sent together."""
    if not changes:
        return
    # A batch of steps mostly sets one deadline (same instant, same window): one UPDATE each.
    by_deadline: dict[datetime | None, list[int]] = {}
    messages = []
    for change in changes:
        change.alert.ack_deadline = change.deadline
        by_deadline.setdefault(change.deadline, []).append(change.alert.pk)
        messages += alert_event_messages("alert.escalated", change.alert, change.data)
    for deadline, alert_ids in by_deadline.items():
        Alert.objects.filter(pk__in=alert_ids).update(ack_deadline=deadline)
    publish_many_on_commit(messages)
