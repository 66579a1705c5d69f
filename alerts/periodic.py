"""Periodic jobs of the alerts app, synced into django-celery-beat (see alertguardian.periodic)."""

from __future__ import annotations

from alertguardian.periodic import PeriodicJob

PERIODIC_JOBS = [
    PeriodicJob(
        name="ops: SLA at risk / breached",
        task="alerts.ops.sla_check",
        every_seconds=60,
        description="Raise SLA at-risk and breached alerts from the teams' SLA policies.",
    ),
    PeriodicJob(
        name="ops: unassigned high/critical alerts",
        task="alerts.ops.unassigned_check",
        every_seconds=60,
        description="Alert when a high or critical alert stays unassigned longer than the team allows.",
    ),
    PeriodicJob(
        name="ops: agent workload",
        task="alerts.ops.workload_check",
        every_seconds=300,
        description="Alert team admins about agents holding more open alerts than the team threshold.",
    ),
    PeriodicJob(
        name="ops: threshold rules",
        task="alerts.ops.threshold_rules_evaluate",
        every_seconds=60,
        description="Evaluate custom threshold rules over newly raised alerts.",
    ),
    PeriodicJob(
        name="ops: time rules",
        task="alerts.ops.time_rules_dispatch",
        every_seconds=60,
        description="Run custom time rules whose next_run_at has come.",
    ),
    PeriodicJob(
        name="ops: daily summaries",
        task="alerts.ops.daily_summaries_dispatch",
        every_seconds=60,
        description="Build each team's daily summary once its local summary time has passed.",
    ),
    PeriodicJob(
        name="ops: retention",
        task="alerts.ops.retention_run",
        crontab="30 3 * * *",
        description="Remove resolved/expired alerts older than each team's retention days (audited).",
    ),
]
