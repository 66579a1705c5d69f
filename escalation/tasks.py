"""Celery tasks of the escalation app: ids in, one service call, idempotent by design.

Every task may be delivered twice or late (acks_late + visibility timeout, killed workers):
the services check tokens and row states, so a repeat does nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="escalation.wake_runs", ignore_result=True)
def wake_runs(runs: list[tuple[int, str]]) -> dict[int, str]:
    from escalation.services.timers import runs_wake

    return runs_wake([(run_id, token) for run_id, token in runs])


@shared_task(name="escalation.start_run", ignore_result=True)
def start_run(alert_id: int) -> None:
    from escalation.services.runs import run_start

    run_start(alert_id=alert_id)


@shared_task(name="escalation.start_runs", ignore_result=True)
def start_runs(alert_ids: list[int]) -> None:
    """``start_run`` for alerts raised together; one alert's failure does not stop the others
    (the sweeper starts what a failed or lost start left out)."""
    from escalation.services.runs import run_start

    for alert_id in alert_ids:
        try:
            run_start(alert_id=alert_id)
        except Exception:
            logger.exception("escalation: could not start the run of alert %s", alert_id)


@shared_task(name="escalation.stop_run", ignore_result=True)
def stop_run(alert_id: int, reason: str) -> None:
    from escalation.services.runs import run_stop

    run_stop(alert_id=alert_id, reason=reason)


@shared_task(name="escalation.restart_run", ignore_result=True)
def restart_run(alert_id: int, reason: str) -> None:
    from escalation.services.runs import run_restart

    run_restart(alert_id=alert_id, reason=reason)


@shared_task(name="escalation.sweep_runs", ignore_result=True)
def sweep_runs() -> dict[str, Any]:
    from django.conf import settings

    from escalation.services.sweep import runs_sweep

    return vars(runs_sweep(budget_seconds=settings.ESCALATION_SWEEP_INTERVAL_SECONDS))


@shared_task(name="escalation.drain_runs", ignore_result=True)
def drain_runs() -> int:
    """Help a sweep that found a backlog: perform due runs for one sweep interval."""
    from django.conf import settings

    from escalation.services.timers import runs_drain

    return runs_drain(budget_seconds=settings.ESCALATION_SWEEP_INTERVAL_SECONDS)[1]


@shared_task(name="escalation.deliver_notification", ignore_result=True)
def deliver_notification(notification_id: int) -> str:
    from escalation.services.notifications import notification_deliver

    return notification_deliver(notification_id=notification_id)


@shared_task(name="escalation.summary_notify", ignore_result=True)
def summary_notify(summary_id: int, recipient_ids: list[int]) -> int:
    from escalation.services.summaries import summary_notifications_create

    return summary_notifications_create(summary_id=summary_id, recipient_ids=recipient_ids)
