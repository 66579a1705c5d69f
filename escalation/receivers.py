"""Reactions to other apps' domain signals. Receivers only enqueue work.

The alerts signals are sent after the alert's transaction commits. Each enqueues one task;
the task re-reads the alert, so the order in which they arrive does not matter (an
acknowledge followed quickly by an un-acknowledge ends with a running escalation either way).
A lost message is made good by the sweeper's reconciliation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

RETENTION_NAME = "read_notifications"


def on_alert_raised(sender: Any, alert_id: int, **kwargs: Any) -> None:
    from escalation.tasks import start_run

    start_run.delay(alert_id=alert_id)


def on_alerts_raised(sender: Any, alert_ids: list[int], **kwargs: Any) -> None:
    from alerts.signals import in_chunks
    from escalation.tasks import start_runs

    for chunk in in_chunks(alert_ids):
        start_runs.delay(alert_ids=chunk)


def on_alert_updated(sender: Any, alert_id: int, severity_raised: bool = False, **kwargs: Any) -> None:
    # A raised severity may now match a policy (e.g. one for critical alerts only); start is idempotent.
    if severity_raised:
        on_alert_raised(sender, alert_id=alert_id)


def on_alert_stopped(sender: Any, alert_id: int, signal: Any, **kwargs: Any) -> None:
    from alerts import signals
    from escalation.tasks import stop_run

    reason = "acknowledged" if signal is signals.alert_acknowledged else "resolved"
    stop_run.delay(alert_id=alert_id, reason=reason)


def on_alert_retriggered(sender: Any, alert_id: int, signal: Any, **kwargs: Any) -> None:
    from alerts import signals
    from escalation.tasks import restart_run

    reason = "unacknowledged" if signal is signals.alert_unacknowledged else "reopened"
    restart_run.delay(alert_id=alert_id, reason=reason)


def on_summary_ready(sender: Any, summary_id: int, recipient_ids: list[int], **kwargs: Any) -> None:
    from escalation.tasks import summary_notify

    if recipient_ids:
        summary_notify.delay(summary_id=summary_id, recipient_ids=list(recipient_ids))


def on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    """A (re)started worker first makes good what happened while no worker was running."""
    from escalation.tasks import sweep_runs

    sweep_runs.delay()


def register_retention() -> None:
    from alerts.ops.retention import RetentionTarget, retention_target_register
    from escalation.models import Notification

    def read_notifications(now: Any) -> Any:
        cutoff = now - timedelta(days=settings.NOTIFICATION_RETENTION_DAYS)
        return Notification.objects.filter(read_at__lt=cutoff)

    retention_target_register(RetentionTarget(name=RETENTION_NAME, candidates=read_notifications))


def connect() -> None:
    from celery.signals import worker_ready

    from alerts import signals
    from alerts.ops.signals import summary_ready

    signals.alert_raised.connect(on_alert_raised, dispatch_uid="escalation.on_alert_raised")
    signals.alerts_raised.connect(on_alerts_raised, dispatch_uid="escalation.on_alerts_raised")
    signals.alert_updated.connect(on_alert_updated, dispatch_uid="escalation.on_alert_updated")
    signals.alert_acknowledged.connect(on_alert_stopped, dispatch_uid="escalation.on_alert_acknowledged")
    signals.alert_resolved.connect(on_alert_stopped, dispatch_uid="escalation.on_alert_resolved")
    signals.alert_unacknowledged.connect(on_alert_retriggered, dispatch_uid="escalation.on_alert_unacknowledged")
    signals.alert_reopened.connect(on_alert_retriggered, dispatch_uid="escalation.on_alert_reopened")
    summary_ready.connect(on_summary_ready, dispatch_uid="escalation.on_summary_ready")
    worker_ready.connect(on_worker_ready, dispatch_uid="escalation.on_worker_ready", weak=False)
    register_retention()
