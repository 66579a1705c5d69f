"""Who performs a due step: the run's own timer message, or whoever gets there first.

A ``wake_runs`` message (``eta`` = the runs' ``next_run_at``; one per batch and due time,
carrying each run's id and token) is a wake-up call. The worker that receives it does not
perform just those runs: it claims every run that is due by now (oldest first, up to
``BATCH_SIZE`` at a time) and performs them in one transaction each (``runs_perform``). With
10,000 runs due over a minute that turns 167 transactions a second into a few, and under a
backlog the batches grow by themselves. Messages of runs that a batch already performed find
their token stale and cost one indexed read.

Claims: ``FOR UPDATE SKIP LOCKED`` plus a ``swept_at`` mark, in a short transaction of their
own, so two workers (or a worker and the sweeper) take disjoint runs and nobody waits behind
a batch in progress. A claim ends when the run moves (the step clears it) or, if the
claimer died, after ``CLAIM_TTL``; correctness never depends on it — the token, checked
under the row locks, is what makes a step happen once.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from escalation.models import EscalationRun, RunStatus
from escalation.services.runs import Claim, runs_perform

logger = logging.getLogger(__name__)

# Runs performed in one transaction: large enough to amortise, small enough that a batch
# holds its row locks well under a second.
BATCH_SIZE = 100
# A claim lapses after this: its claimer died (a batch takes well under a second). It bounds
# how late a killed worker's runs are; a claim that lapses under a live but slow batch only
# costs a second worker a wasted try (the token decides who performs a step).
CLAIM_TTL = timedelta(seconds=5)


def runs_claim_due(*, now: datetime, limit: int = BATCH_SIZE) -> list[Claim]:
    """Claim up to ``limit`` active runs due at ``now``, oldest first.

    Rows locked by a step being performed are skipped, and so are runs claimed less than
    ``CLAIM_TTL`` ago.
    """
    if connection.vendor == "postgresql":
        return _claim_in_one_statement(now=now, limit=limit)
    with transaction.atomic():  # SQLite (embedded mode): one writer at a time anyway
        qs = EscalationRun.objects.filter(status=RunStatus.ACTIVE, next_run_at__lte=now).filter(
            Q(swept_at__isnull=True) | Q(swept_at__lte=now - CLAIM_TTL)
        )
        due = [Claim(*row) for row in qs.order_by("next_run_at").values_list("pk", "active_token", "alert_id")[:limit]]
        if due:
            EscalationRun.objects.filter(pk__in=[claim.run_id for claim in due]).update(swept_at=now)
        return due


def _claim_in_one_statement(*, now: datetime, limit: int) -> list[Claim]:
    """The claim as one autocommitted statement: it runs twice per wake-up (the second time
    to find nothing left), so round trips count."""
    table = EscalationRun._meta.db_table
    sql = (
        f"UPDATE {table} SET swept_at = %s WHERE id IN ("  # noqa: S608 (model identifiers only)
        f"  SELECT id FROM {table} WHERE status = %s AND next_run_at <= %s"
        "   AND (swept_at IS NULL OR swept_at <= %s)"
        "   ORDER BY next_run_at LIMIT %s FOR UPDATE SKIP LOCKED"
        ") RETURNING id, active_token, alert_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, RunStatus.ACTIVE.value, now, now - CLAIM_TTL, limit])
        return sorted((Claim(*row) for row in cursor.fetchall()), key=lambda claim: claim.run_id)


def runs_perform_due(*, now: datetime | None = None, limit: int = BATCH_SIZE) -> dict[int, str]:
    """Claim one batch of due runs and perform it; the outcome per run.

    If the batch fails (one run whose step raises, say), it is rolled back and its runs are
    performed one by one, so one bad run cannot hold up the others: it alone is ``failed``,
    keeps its claim and is tried again by a sweep once the claim lapses.
    """
    now = now or timezone.now()
    claims = runs_claim_due(now=now, limit=limit)
    try:
        return runs_perform(claims, now=now)
    except Exception:
        if len(claims) == 1:
            logger.exception("escalation run %s failed", claims[0].run_id)
            return {claims[0].run_id: "failed"}
        logger.exception("a batch of %d escalation runs failed; performing them one by one", len(claims))
    outcomes: dict[int, str] = {}
    for claim in claims:
        try:
            outcomes.update(runs_perform([claim], now=now))
        except Exception:
            logger.exception("escalation run %s failed", claim.run_id)
            outcomes[claim.run_id] = "failed"
    return outcomes


def runs_drain(*, budget_seconds: float | None, now: datetime | None = None) -> tuple[int, int]:
    """Perform due runs batch after batch until none is left or ``budget_seconds`` is spent.

    Returns (runs claimed, runs advanced or stopped). ``now`` is for tests (controlled time).
    """
    outcomes = _drain(budget_seconds=budget_seconds, now=now)
    return len(outcomes), sum(1 for outcome in outcomes.values() if outcome in ("advanced", "stopped"))


def _drain(*, budget_seconds: float | None, now: datetime | None = None) -> dict[int, str]:
    deadline = time.monotonic() + budget_seconds if budget_seconds is not None else None
    outcomes: dict[int, str] = {}
    while deadline is None or time.monotonic() < deadline:
        batch = runs_perform_due(now=now)
        outcomes.update(batch)
        if len(batch) < BATCH_SIZE:  # nothing else was due (what falls due now has its own wake-up)
            break
    return outcomes


def runs_wake(runs: list[tuple[int, str]]) -> dict[int, str]:
    """Timer messages: wake-ups for (run id, token) pairs due at the same time. Performs
    every run that is due now — these and any other — batch after batch.

    Returns the outcome per listed run: ``stale`` (the token moved on: a batch, the sweeper
    or a stop got there first), ``early`` (rescheduled for its due time), else its outcome
    in a batch performed here (``claimed`` when another worker's batch has it).
    """
    tokens = dict(runs)
    current = {
        pk: due_at
        for pk, token, due_at in EscalationRun.objects.filter(pk__in=tokens, status=RunStatus.ACTIVE).values_list(
            "pk", "active_token", "next_run_at"
        )
        if token == tokens[pk]
    }
    outcomes = {pk: "stale" for pk in tokens if pk not in current}
    now = timezone.now()
    early = [(pk, tokens[pk], due_at) for pk, due_at in current.items() if due_at is not None and due_at > now]
    if early:
        from escalation.tasks import wake_runs

        # Early (clock skew between hosts): another wake-up at the due time; a spare one is harmless.
        for pk, token, due_at in early:
            wake_runs.apply_async(kwargs={"runs": [(pk, token)]}, eta=due_at)
            outcomes[pk] = "early"
    if len(early) < len(current):
        # Bounded like a sweep: a backlog beyond one interval is shared with the sweeper.
        performed = _drain(budget_seconds=settings.ESCALATION_SWEEP_INTERVAL_SECONDS)
        outcomes.update({pk: performed.get(pk, "claimed") for pk in current if pk not in outcomes})
    return outcomes
