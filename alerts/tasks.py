"""Celery tasks of the alerts app: ids in, call a service, return quietly when gone."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="alerts.unread_counts_publish", ignore_result=True)
def unread_counts_publish(alert_id: int) -> None:
    """Tell everyone whose unread count moved because ``alert_id`` opened or closed."""
    from alerts.services.user_state import alert_unread_counts_publish

    alert_unread_counts_publish(alert_id=alert_id)
