"""The sweeper: the safety net under the Celery timers.

Every ``ESCALATION_SWEEP_INTERVAL_SECONDS`` (a django-celery-beat job) and once at worker
start-up it
1. performs the steps of runs that are overdue — their wake-up message was lost with a
   killed worker or a restarted broker — in batches claimed exactly as the timers claim
   them (``escalation.services.timers``), for at most one interval; with a backlog larger
   than a batch it asks ``ESCALATION_SWEEP_FANOUT`` more workers to drain alongside it;
2. starts runs that were never started or restarted (a lost message after an alert was
   raised, un-acknowledged or reopened);
3. re-enqueues notification deliveries whose message was lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from alerts.models import Alert, AlertSource, AlertStatus
from escalation.models import EscalationPolicy, EscalationRun, RunStatus
from escalation.services.notifications import notifications_redeliver
from escalation.services.routing import policy_matches
from escalation.services.runs import run_restart, run_start
from escalation.services.timers import BATCH_SIZE, runs_drain

# A triggered alert this long without a run lost its start message (the normal start takes ms).
START_GRACE = timedelta(seconds=10)


@dataclass
class SweepResult:
    overdue: int = 0
    advanced: int = 0
    started: int = 0
    redelivered: int = 0


def alerts_missing_a_run(*, now: datetime, limit: int) -> list[tuple[int, bool]]:
    """Triggered alerts older than the grace period, without an active run, whose last run (if
    any) was stopped rather than completed, and for which a policy exists: (alert id, whether
    it had a run before — then it lost a restart, not a start).

    Cheap on a large backlog: ``NOT EXISTS`` an active run uses the one-active-run-per-alert
    index, and the (rare) remaining candidates are checked in Python — their last run in one
    query, routing against the teams' policies loaded once.
    """
    active_run = EscalationRun.objects.filter(alert=OuterRef("pk"), status=RunStatus.ACTIVE)
    candidates = list(
        Alert.objects.filter(status=AlertStatus.TRIGGERED, updated_at__lte=now - START_GRACE)
        .filter(team_id__in=EscalationPolicy.objects.filter(enabled=True).values("team_id"))
        .exclude(source=AlertSource.BROADCAST)
        # A missing key is SQL NULL, which a plain exclude() would drop too.
        .filter(Q(metadata__escalate__isnull=True) | ~Q(metadata__escalate=False))
        .filter(~Exists(active_run))
        .order_by("id")
        .only("pk", "team_id", "type", "severity")[:limit]
    )
    last_status: dict[int, str] = {}
    for alert_id, status in (
        EscalationRun.objects.filter(alert_id__in=[alert.pk for alert in candidates])
        .order_by("alert_id", "id")
        .values_list("alert_id", "status")
    ):
        last_status[alert_id] = status  # ordered by id: the last one wins
    policies: dict[int, list[EscalationPolicy]] = {}
    for policy in EscalationPolicy.objects.filter(team_id__in={a.team_id for a in candidates}, enabled=True):
        policies.setdefault(policy.team_id, []).append(policy)
    return [
        (alert.pk, alert.pk in last_status)
        for alert in candidates
        if last_status.get(alert.pk, RunStatus.STOPPED) == RunStatus.STOPPED
        and any(policy.is_default or policy_matches(policy, alert) for policy in policies.get(alert.team_id, []))
    ]


def runs_sweep(*, now: datetime | None = None, limit: int = 2000, budget_seconds: float | None = None) -> SweepResult:
    """One sweep. ``budget_seconds`` (the periodic job: one sweep interval) bounds the time
    spent performing overdue runs; beat starts the next sweep while this one may still run,
    and the claims keep them apart. ``now`` is for tests (controlled time): it also keeps
    the work in this process."""
    result = SweepResult()
    if now is None:
        _fan_out_if_backlogged(now=timezone.now())
    result.overdue, result.advanced = runs_drain(budget_seconds=budget_seconds, now=now)
    for alert_id, had_a_run in alerts_missing_a_run(now=now or timezone.now(), limit=limit):
        # run_restart does nothing unless the alert was retriggered after its last run began.
        if had_a_run:
            started = run_restart(alert_id=alert_id, reason="lost restart", now=now)
        else:
            started = run_start(alert_id=alert_id, now=now)
        if started is not None:
            result.started += 1
    result.redelivered = notifications_redeliver(now=now, limit=limit)
    return result


def _fan_out_if_backlogged(*, now: datetime) -> None:
    """More overdue runs than one batch: let other workers drain too (one thread cannot keep
    up with a broker that lost thousands of wake-ups)."""
    from escalation.tasks import drain_runs

    overdue = EscalationRun.objects.filter(status=RunStatus.ACTIVE, next_run_at__lte=now)[: BATCH_SIZE + 1].count()
    if overdue > BATCH_SIZE:
        for _ in range(settings.ESCALATION_SWEEP_FANOUT):
            drain_runs.delay()
