"""The sweeper: the safety net under the Celery timers.

Every ``ESCALATION_SWEEP_INTERVAL_SECONDS`` (a django-celery-beat job) and once at worker
start-up it
1. performs the steps of runs that are overdue — their wake-up message was lost with a
   killed worker or a restarted broker — through the same ``run_advance`` as the timers, so a
   step the timer performs concurrently is done once (the token decides);
2. starts runs that were never started or restarted (a lost message after an alert was
   raised, un-acknowledged or reopened);
3. re-enqueues notification deliveries whose message was lost.

Overdue runs are selected with ``FOR UPDATE SKIP LOCKED`` so the sweep never waits behind a
step being performed right now and several sweepers can run side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from alerts.models import Alert, AlertSource, AlertStatus
from escalation.models import EscalationPolicy, EscalationRun, RunStatus
from escalation.services.notifications import notifications_redeliver
from escalation.services.routing import policy_matches
from escalation.services.runs import run_advance, run_start

# A triggered alert this long without a run lost its start message (the normal start takes ms).
START_GRACE = timedelta(seconds=10)
# A run the sweeper re-sent and that is still overdue this much later gets re-sent again.
RESEND_AFTER = timedelta(seconds=30)


@dataclass
class SweepResult:
    overdue: int = 0
    advanced: int = 0
    started: int = 0
    redelivered: int = 0


def overdue_runs(*, now: datetime, limit: int, claim: bool = False) -> list[tuple[int, str]]:
    """(run id, token) of active runs due at ``now``, skipping rows locked by a running step.

    With ``claim``, only runs the sweeper has not re-sent within ``RESEND_AFTER`` are taken,
    and they are marked: a backlog (messages merely waiting in the queue) is re-sent once,
    not at every sweep, while a message that was really lost is re-sent again after a while.
    """
    with transaction.atomic():
        qs = EscalationRun.objects.filter(status=RunStatus.ACTIVE, next_run_at__lte=now)
        if claim:
            qs = qs.filter(Q(swept_at__isnull=True) | Q(swept_at__lte=now - RESEND_AFTER))
        qs = qs.order_by("next_run_at")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        due = list(qs.values_list("pk", "active_token")[:limit])
        if claim and due:
            EscalationRun.objects.filter(pk__in=[pk for pk, _ in due]).update(swept_at=now)
        return due


def alerts_missing_a_run(*, now: datetime, limit: int) -> list[int]:
    """Triggered alerts older than the grace period, without an active run, whose last run (if
    any) was stopped rather than completed, and for which a policy exists (routing is checked
    here against the teams' policies, loaded once, so alerts without a policy cost nothing)."""
    latest_run_status = EscalationRun.objects.filter(alert=OuterRef("pk")).order_by("-id").values("status")[:1]
    candidates = list(
        Alert.objects.filter(status=AlertStatus.TRIGGERED, updated_at__lte=now - START_GRACE)
        .filter(team__escalation_policies__enabled=True)
        .exclude(source=AlertSource.BROADCAST)
        # A missing key is SQL NULL, which a plain exclude() would drop too.
        .filter(Q(metadata__escalate__isnull=True) | ~Q(metadata__escalate=False))
        .annotate(latest_run_status=Subquery(latest_run_status))
        .filter(Q(latest_run_status__isnull=True) | Q(latest_run_status=RunStatus.STOPPED))
        .distinct()
        .order_by("id")
        .only("pk", "team_id", "type", "severity")[:limit]
    )
    policies: dict[int, list[EscalationPolicy]] = {}
    for policy in EscalationPolicy.objects.filter(team_id__in={a.team_id for a in candidates}, enabled=True):
        policies.setdefault(policy.team_id, []).append(policy)
    return [
        alert.pk
        for alert in candidates
        if any(policy.is_default or policy_matches(policy, alert) for policy in policies.get(alert.team_id, []))
    ]


def runs_sweep(*, now: datetime | None = None, limit: int = 2000, fan_out: bool = False) -> SweepResult:
    """One sweep. ``fan_out`` (the periodic job): overdue steps are handed to the workers as
    ``run_step`` messages, so every worker thread recovers a backlog in parallel; a message
    for a run some other path advanced first is stale and does nothing. Otherwise (tests,
    ``manage.py`` use) they are performed here, one by one."""
    from escalation.tasks import run_step

    result = SweepResult()
    due = overdue_runs(now=now or timezone.now(), limit=limit, claim=fan_out)
    result.overdue = len(due)
    for run_id, token in due:
        if fan_out:
            run_step.delay(run_id=run_id, token=token)
        elif run_advance(run_id=run_id, token=token, now=now) == "advanced":
            result.advanced += 1
    for alert_id in alerts_missing_a_run(now=now or timezone.now(), limit=limit):
        if run_start(alert_id=alert_id, now=now) is not None:
            result.started += 1
    result.redelivered = notifications_redeliver(now=now, limit=limit)
    return result
