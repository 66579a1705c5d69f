"""The sweeper: the safety net under the Celery timers.

Every ``ESCALATION_SWEEP_INTERVAL_SECONDS`` (a django-celery-beat job) and once at worker
start-up it
1. performs the steps of runs that are overdue — their wake-up message was lost with a
   killed worker or a restarted broker — through the same ``run_advance`` as the timers, so a
   step the timer performs concurrently is done once (the token decides);
2. starts runs that were never started or restarted (a lost message after an alert was
   raised, un-acknowledged or reopened);
3. re-enqueues notification deliveries whose message was lost.

Overdue runs are claimed with ``FOR UPDATE SKIP LOCKED`` and a ``swept_at`` mark, so the sweep
never waits behind a step being performed right now and sweeps running side by side (beat
starts one per interval; each works for at most one interval) take disjoint runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from alerts.models import Alert, AlertSource, AlertStatus
from escalation.models import EscalationPolicy, EscalationRun, RunStatus
from escalation.services.notifications import notifications_redeliver
from escalation.services.routing import policy_matches
from escalation.services.runs import run_advance, run_restart, run_start

# A triggered alert this long without a run lost its start message (the normal start takes ms).
START_GRACE = timedelta(seconds=10)
# A sweep's claim on an overdue run lapses after this (the sweep died holding it).
CLAIM_TTL = timedelta(seconds=60)


@dataclass
class SweepResult:
    overdue: int = 0
    advanced: int = 0
    started: int = 0
    redelivered: int = 0


def overdue_runs(*, now: datetime, limit: int) -> list[tuple[int, str]]:
    """Claim up to ``limit`` active runs due at ``now``: (run id, token), oldest first.

    Rows locked by a step being performed are skipped, and so are runs another sweep claimed
    less than ``CLAIM_TTL`` ago (``swept_at``), so sweeps running side by side take disjoint
    work. A claim ends when the run moves (``_advance`` clears it), when the sweep releases
    what it did not reach, or, if that sweep died, after ``CLAIM_TTL``.
    """
    with transaction.atomic():
        qs = EscalationRun.objects.filter(status=RunStatus.ACTIVE, next_run_at__lte=now).filter(
            Q(swept_at__isnull=True) | Q(swept_at__lte=now - CLAIM_TTL)
        )
        qs = qs.order_by("next_run_at")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        due = list(qs.values_list("pk", "active_token")[:limit])
        if due:
            EscalationRun.objects.filter(pk__in=[pk for pk, _ in due]).update(swept_at=now)
        return due


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
    """One sweep. Overdue steps are performed here, each through ``run_advance`` with the token
    read at claim time (a step its own timer message performed first is then stale and
    skipped). The sweep never sends messages for them: under a backlog, re-sent messages would
    only pile up behind the ones already queued. ``budget_seconds`` (the periodic job: one
    sweep interval) bounds the time spent; what was claimed but not reached is released for
    the next sweep, which beat starts while this one may still be running."""
    result = SweepResult()
    claimed_at = now or timezone.now()
    due = overdue_runs(now=claimed_at, limit=limit)
    result.overdue = len(due)
    deadline = time.monotonic() + budget_seconds if budget_seconds is not None else None
    for index, (run_id, token) in enumerate(due):
        if deadline is not None and time.monotonic() >= deadline:
            unreached = [pk for pk, _ in due[index:]]
            EscalationRun.objects.filter(pk__in=unreached, swept_at=claimed_at).update(swept_at=None)
            break
        if run_advance(run_id=run_id, token=token, now=now) == "advanced":
            result.advanced += 1
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
