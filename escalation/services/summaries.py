"""In-app notifications for the operations daily summary (the summary email is sent by ops)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from alerts.ops.models import DailySummary
from escalation.models import Channel
from escalation.services.notifications import notifications_create


@transaction.atomic
def summary_notifications_create(*, summary_id: int, recipient_ids: list[int]) -> int:
    """One in-app notification per recipient (idempotent: ``summary:<id>:user:<id>:in_app``)."""
    summary = DailySummary.objects.select_related("team").filter(pk=summary_id).first()
    if summary is None:
        return 0
    alerts = summary.data.get("alerts", {}) if isinstance(summary.data, dict) else {}
    body = f"{alerts.get('created', 0)} alerts created in the period; open the board's stats view for details."
    recipients = User.objects.filter(pk__in=recipient_ids, is_active=True)
    for user in recipients:
        notifications_create(
            recipient=user,
            channel=Channel.IN_APP,
            key=f"summary:{summary.pk}:user:{user.pk}:{Channel.IN_APP}",
            kind="summary",
            title=f"Daily summary for {summary.team.name}, {summary.date.isoformat()}",
            body=body,
            data={"summary_id": summary.pk, "team_id": summary.team_id},
        )
    return len(recipients)
