"""Celery tasks of the alerts app: ids in, call a service, return quietly when gone.

Celery discovers ``alerts.tasks``; the operations tasks live in ``alerts.ops.tasks``.
"""

from __future__ import annotations

from celery import shared_task

from alerts.ops.tasks import (  # noqa: F401
    daily_summaries_dispatch,
    event_alerts_raise,
    retention_run,
    sla_check,
    threshold_rules_evaluate,
    time_rules_dispatch,
    unassigned_check,
    workload_check,
)


@shared_task(name="alerts.unread_counts_publish", ignore_result=True)
def unread_counts_publish(alert_id: int) -> None:
    """Tell everyone whose unread count moved because ``alert_id`` opened or closed."""
    from alerts.services.user_state import alert_unread_counts_publish

    alert_unread_counts_publish(alert_id=alert_id)


@shared_task(name="alerts.unread_counts_publish_many", ignore_result=True)
def unread_counts_publish_many(alert_ids: list[int]) -> None:
    """``unread_counts_publish`` for alerts raised together: each user is told once."""
    from alerts.services.user_state import alerts_unread_counts_publish

    alerts_unread_counts_publish(alert_ids=alert_ids)
