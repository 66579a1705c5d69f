"""Celery discovers ``alerts.tasks``; the operations tasks live in ``alerts.ops.tasks``."""

from __future__ import annotations

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
