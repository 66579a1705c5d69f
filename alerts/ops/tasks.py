"""Celery tasks of the operations checks: thin wrappers that call the engine.

Periodic ones are declared in ``alerts/periodic.py`` (django-celery-beat); each is
idempotent and safe to run on several workers at once.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="alerts.ops.sla_check", ignore_result=True)
def sla_check() -> dict[str, int]:
    from alerts.ops.checks import sla_check as check

    return check()


@shared_task(name="alerts.ops.unassigned_check", ignore_result=True)
def unassigned_check() -> dict[str, int]:
    from alerts.ops.checks import unassigned_check as check

    return check()


@shared_task(name="alerts.ops.workload_check", ignore_result=True)
def workload_check() -> dict[str, int]:
    from alerts.ops.checks import workload_check as check

    return check()


@shared_task(name="alerts.ops.threshold_rules_evaluate", ignore_result=True)
def threshold_rules_evaluate() -> int:
    from alerts.ops.rules import threshold_rules_evaluate as evaluate

    return evaluate()


@shared_task(name="alerts.ops.time_rules_dispatch", ignore_result=True)
def time_rules_dispatch() -> int:
    from alerts.ops.rules import time_rules_dispatch as dispatch

    return dispatch()


@shared_task(name="alerts.ops.daily_summaries_dispatch", ignore_result=True)
def daily_summaries_dispatch() -> int:
    from alerts.ops.summaries import daily_summaries_dispatch as dispatch

    return dispatch()


@shared_task(name="alerts.ops.retention_run", ignore_result=True)
def retention_run() -> dict[str, Any]:
    from alerts.ops.retention import retention_run as run

    return run().targets


@shared_task(name="alerts.ops.event_alerts_raise", ignore_result=True)
def event_alerts_raise(
    *, team_id: int, event_type: str, data: dict[str, Any], source: str, rule_ids: list[int], payment_failed: bool
) -> int:
    from alerts.ops.services import ops_event_alerts_raise

    return ops_event_alerts_raise(
        team_id=team_id,
        event_type=event_type,
        data=data,
        source=source,
        rule_ids=rule_ids,
        payment_failed=payment_failed,
    )
