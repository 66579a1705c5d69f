"""Escalation runs: a durable timer per alert that performs its policy's steps in order.

How a run survives time and failure (architecture.md, reliability rules):
- The database row is the truth: the policy snapshot, the next step (``current_step``), when
  it is due (``next_run_at``) and ``active_token``. Celery messages are only wake-up calls.
- Every move of the run sets a new token and, after commit, schedules a wake-up with
  ``eta=next_run_at`` carrying that token (``wake_runs``: one message per batch and due
  time). A token that is stale (the run moved, stopped or restarted), or a wake-up that
  arrives before the step is due, changes nothing.
- Steps run in transactions that hold the alert rows and then the run rows
  (``select_for_update``, always in that order, ids ascending), many due runs per
  transaction (``runs_perform``, claimed by ``escalation.services.timers``), so two
  deliveries of one message, or a message and the sweeper, cannot perform a step twice.
- Lost messages (broker restart, killed worker) are covered by the sweeper
  (``escalation.services.sweep``), which runs overdue runs every few seconds and at worker
  start-up; lost starts/restarts by its reconciliation of triggered alerts without a run.
- Acknowledge/resolve stop the run; un-acknowledge/reopen restart it from the first step.
  The run also re-checks the alert before each step, so a lost stop message is harmless.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from alerts.models import Alert, AlertEventKind, AlertSource, AlertStatus, Severity
from escalation import signals
from escalation.models import (
    DEFAULT_ACK_WINDOW_SECONDS,
    NOTIFY_KINDS,
    Channel,
    EscalationRun,
    RunStatus,
    StepKind,
)
from escalation.services.notifications import NotificationSpec, notifications_create
from escalation.services.routing import policy_for_alert
from escalation.services.step_batch import StepBatch

# Steps without a delay (repeat, fallback, webhook, nobody to notify) run back to back in one
# transaction; this bounds a pathological policy. Repeats are bounded by their own limit anyway.
MAX_STEPS_PER_ADVANCE = 100
DEFAULT_WEBHOOK_MAX_ATTEMPTS = 5


def new_token() -> str:
    return secrets.token_hex(16)


def alert_needs_escalation(alert: Alert) -> bool:
    """Triggered (not acknowledged or resolved), not a broadcast, not opted out in metadata."""
    metadata = alert.metadata if isinstance(alert.metadata, dict) else {}
    return (
        alert.status == AlertStatus.TRIGGERED
        and alert.source != AlertSource.BROADCAST
        and metadata.get("escalate") is not False
    )


# --- start, stop, restart -------------------------------------------------------------------


@transaction.atomic
def run_start(*, alert_id: int, now: datetime | None = None) -> EscalationRun | None:
    """Start escalating ``alert_id`` once: the first run of an alert starts here, every later
    one only through ``run_restart`` (an un-acknowledge or reopen).

    Idempotent: a redelivered start message, or a severity raise after the run completed,
    finds a run (active or finished) and changes nothing. The first step is performed at
    once, in this transaction. ``None`` when nothing was started.
    """
    alert = _lock_alert(alert_id)
    if alert is None:
        return None
    run = _lock_active_run(alert.pk)
    if run is not None:
        return run
    if EscalationRun.objects.filter(alert_id=alert.pk).exists():
        return None
    return _start_alone(alert, now=now or timezone.now())


@transaction.atomic
def run_stop(*, alert_id: int, reason: str, now: datetime | None = None) -> EscalationRun | None:
    """Stop the active run, unless the alert needs escalating again (a later un-acknowledge
    won the race; its restart message handles it)."""
    alert = _lock_alert(alert_id)
    if alert is None or alert_needs_escalation(alert):
        return None
    run = _lock_active_run(alert.pk)
    if run is None:
        return None
    batch = StepBatch(now=now or timezone.now())
    _finish(run, alert, batch, status=RunStatus.STOPPED, reason=reason)
    batch.flush()
    return run


@transaction.atomic
def run_restart(*, alert_id: int, reason: str, now: datetime | None = None) -> EscalationRun | None:
    """Un-acknowledge or reopen: stop the current run (if any) and start again from step one.

    A restart answers one un-acknowledge/reopen: when the newest run already started after
    the alert's latest one (a duplicated or redelivered restart message, or the sweeper
    catching up with a restart that did happen), the active run is returned untouched.
    """
    alert = _lock_alert(alert_id)
    if alert is None:
        return None
    now = now or timezone.now()
    run = _lock_active_run(alert.pk)
    if not _retriggered_since_last_start(alert):
        return run
    if run is not None:
        # Written before the new run is created: only one run per alert may be active.
        batch = StepBatch(now=now)
        _finish(run, alert, batch, status=RunStatus.STOPPED, reason=f"restarted ({reason})")
        batch.flush()
    return _start_alone(alert, now=now)


def _retriggered_since_last_start(alert: Alert) -> bool:
    """Was the alert un-acknowledged or reopened after its newest run started?

    Compared by position in the alert's timeline (ids, under the alert's row lock), not by
    clock: every start writes a "started" escalation entry in the same transaction.
    """
    events = alert.events.order_by("-id").values_list("id", flat=True)
    last_retrigger = events.filter(kind__in=[AlertEventKind.UNACKNOWLEDGED, AlertEventKind.REOPENED]).first()
    if last_retrigger is None:
        return not EscalationRun.objects.filter(alert_id=alert.pk).exists()
    last_start = events.filter(kind=AlertEventKind.ESCALATION, data__event="started").first()
    return last_start is None or last_retrigger > last_start


def _start_alone(alert: Alert, *, now: datetime) -> EscalationRun | None:
    batch = StepBatch(now=now)
    run = _start(alert, batch)
    batch.flush()
    return run


def _start(alert: Alert, batch: StepBatch) -> EscalationRun | None:
    if not alert_needs_escalation(alert):
        return None
    policy = policy_for_alert(alert)
    if policy is None:
        return None
    snapshot = policy.snapshot()
    if not snapshot["steps"]:
        return None
    try:
        with transaction.atomic():
            run = EscalationRun.objects.create(
                alert=alert,
                policy=policy,
                policy_snapshot=snapshot,
                next_run_at=batch.now,
                active_token=new_token(),
                started_at=batch.now,
            )
    except IntegrityError:  # another start won; we hold the alert lock, so this is rare
        return _lock_active_run(alert.pk)
    batch.timeline(
        alert,
        f"Escalation started with policy “{policy.name}”",
        {"run_id": run.pk, "event": "started", "policy_id": policy.pk, "steps": len(snapshot["steps"])},
    )
    _advance(run, alert, batch, started=True)
    return run


# --- the step executor ----------------------------------------------------------------------


def run_advance(*, run_id: int, token: str, now: datetime | None = None) -> str:
    """Perform the run's due step(s) if ``token`` is current; returns what happened:
    ``advanced``, ``stale`` (old token / not active / gone), ``early`` (not due yet:
    rescheduled) or ``stopped`` (the alert no longer needs escalation)."""
    alert_id = EscalationRun.objects.filter(pk=run_id).values_list("alert_id", flat=True).first()
    if alert_id is None:
        return "stale"
    return runs_perform([Claim(run_id, token, alert_id)], now=now).get(run_id, "stale")


class Claim(NamedTuple):
    """A run to perform if its token is still ``token`` (read when it was claimed)."""

    run_id: int
    token: str
    alert_id: int


def runs_perform(claims: list[Claim], *, now: datetime | None = None) -> dict[int, str]:
    """``run_advance`` for many claimed runs in one transaction; the outcome per run.

    The alerts are locked first, then the runs, each set in id order — the order every
    writer of runs follows, so batches and single starts/stops never deadlock. A run whose
    token moved on since it was claimed is ``stale`` and left alone.
    """
    tokens = {claim.run_id: claim.token for claim in claims}
    if not tokens:
        return {}
    alert_ids = [claim.alert_id for claim in claims]
    with transaction.atomic():
        alerts = {
            alert.pk: alert for alert in Alert.objects.select_for_update().filter(pk__in=alert_ids).order_by("pk")
        }
        runs = list(EscalationRun.objects.select_for_update().filter(pk__in=tokens).order_by("pk"))
        batch = StepBatch(now=now or timezone.now())
        outcomes = {run.pk: _perform_due(run, alerts.get(run.alert_id), tokens[run.pk], batch) for run in runs}
        batch.flush()
    return outcomes


def _perform_due(run: EscalationRun, alert: Alert | None, token: str, batch: StepBatch) -> str:
    if alert is None or run.status != RunStatus.ACTIVE or run.active_token != token:
        return "stale"
    if run.next_run_at is not None and run.next_run_at > batch.now:
        batch.wake(run)  # the message came early (clock skew): wake up again when it is due
        if run.swept_at is not None:  # a claim would hide it from that wake-up
            run.swept_at = None
            batch.save(run)
        return "early"
    if not alert_needs_escalation(alert):
        _finish(run, alert, batch, status=RunStatus.STOPPED, reason=f"alert {alert.status}")
        return "stopped"
    _advance(run, alert, batch)
    return "advanced"


@dataclass
class StepOutcome:
    message: str
    delay: timedelta = timedelta(0)
    next_position: int | None = None  # None: the step after this one
    details: dict[str, Any] = field(default_factory=dict)


def _advance(run: EscalationRun, alert: Alert, batch: StepBatch, *, started: bool = False) -> None:
    """Perform every step due at ``batch.now`` (alert and run rows locked by the caller)."""
    now = batch.now
    steps: list[dict[str, Any]] = run.policy_snapshot.get("steps", [])
    performed: list[dict[str, Any]] = []
    for _ in range(MAX_STEPS_PER_ADVANCE):
        if run.current_step >= len(steps):
            break
        if run.next_run_at is not None and run.next_run_at > now:
            break
        step = steps[run.current_step]
        due_at = run.next_run_at or now
        run.step_seq += 1
        outcome = _perform(step, run=run, alert=alert, batch=batch)
        lateness_ms = max(0, int((now - due_at).total_seconds() * 1000))
        details = {
            "run_id": run.pk,
            "event": "step",
            "step_seq": run.step_seq,
            "position": run.current_step,
            "kind": step.get("kind"),
            "due_at": due_at.isoformat(),
            "executed_at": now.isoformat(),
            "lateness_ms": lateness_ms,
            **outcome.details,
        }
        batch.timeline(alert, outcome.message, details)
        performed.append(details)
        run.current_step = outcome.next_position if outcome.next_position is not None else run.current_step + 1
        run.next_run_at = now + outcome.delay
    if run.current_step >= len(steps) and (run.next_run_at is None or run.next_run_at <= now):
        _finish(run, alert, batch, status=RunStatus.COMPLETED, reason="all steps done", performed=performed)
        return
    run.active_token = new_token()
    run.swept_at = None
    batch.save(run)
    last = performed[-1] if performed else {}
    batch.deadline(
        alert,
        run.next_run_at,
        {"run_id": run.pk, "step_seq": run.step_seq, "kind": last.get("kind"), "next_step_at": _iso(run.next_run_at)},
    )
    batch.audit(
        "escalation.run_started" if started else "escalation.steps_performed",
        run,
        {"alert_id": alert.pk, "steps": performed, "next_run_at": _iso(run.next_run_at)},
    )
    batch.wake(run)


def _finish(
    run: EscalationRun,
    alert: Alert,
    batch: StepBatch,
    *,
    status: str,
    reason: str,
    performed: list[dict[str, Any]] | None = None,
) -> None:
    run.status = status
    run.stop_reason = reason[:40]
    run.finished_at = batch.now
    run.next_run_at = None
    run.active_token = ""
    run.swept_at = None
    batch.save(run)
    verb = "completed: every step was taken" if status == RunStatus.COMPLETED else f"stopped: {reason}"
    batch.timeline(
        alert,
        f"Escalation {verb}",
        {"run_id": run.pk, "event": status, "reason": reason, "step_seq": run.step_seq},
    )
    if alert.ack_deadline is not None or alert.pk in batch.deadlines:
        batch.deadline(alert, None, {"run_id": run.pk, "event": status})
    batch.audit(f"escalation.run_{status}", run, {"alert_id": alert.pk, "reason": reason, "steps": performed or []})


def _lock_alert(alert_id: int) -> Alert | None:
    return Alert.objects.select_for_update().filter(pk=alert_id).first()


def _lock_active_run(alert_id: int) -> EscalationRun | None:
    return EscalationRun.objects.select_for_update().filter(alert_id=alert_id, status=RunStatus.ACTIVE).first()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- the step kinds -------------------------------------------------------------------------


def _perform(step: dict[str, Any], *, run: EscalationRun, alert: Alert, batch: StepBatch) -> StepOutcome:
    kind = step.get("kind")
    if kind in NOTIFY_KINDS:
        return _notify(step, run=run, alert=alert, batch=batch)
    if kind == StepKind.WAIT:
        seconds = int(step.get("wait_seconds") or 0)
        return StepOutcome(message=f"Waiting {_duration(seconds)}", delay=timedelta(seconds=seconds))
    if kind == StepKind.REPEAT:
        return _repeat(step, run=run)
    if kind == StepKind.FALLBACK:
        return _fallback(step, run=run, alert=alert)
    if kind == StepKind.WEBHOOK:
        return _webhook(step, run=run, alert=alert)
    return StepOutcome(message=f"Skipped a step of unknown kind {kind!r}", details={"skipped": True})


def _recipients(step: dict[str, Any], *, alert: Alert, batch: StepBatch) -> list[User]:
    kind = step["kind"]
    if kind == StepKind.NOTIFY_ON_DUTY:
        return batch.on_duty(alert.team_id)
    if kind == StepKind.NOTIFY_USER:
        return batch.staff(alert.team_id, user_id=step.get("target_user_id") or -1)
    return batch.staff(alert.team_id, role=step.get("target_role") or "-")


def _notify(step: dict[str, Any], *, run: EscalationRun, alert: Alert, batch: StepBatch) -> StepOutcome:
    recipients = _recipients(step, alert=alert, batch=batch)
    if not recipients:
        return StepOutcome(
            message="Nobody to notify for this step; moving on", details={"recipients": [], "nobody": True}
        )
    window = int(step.get("ack_window_seconds") or DEFAULT_ACK_WINDOW_SECONDS)
    explicit = [channel for channel in step.get("channels") or [] if channel in Channel.values]
    # Explicit step channels replace the subscriptions (no need to read them).
    subscribed = {} if explicit else batch.channels(recipients, alert_type=alert.type, severity=alert.severity)
    title = f"[{_severity_label(alert.severity)}] {alert.title}"
    body = f"{alert.message}\n\nAcknowledge within {_duration(window)} or the alert escalates.".strip()
    sent: list[dict[str, Any]] = []
    specs = batch.notifications
    for user in recipients:
        channels = (
            [Channel.IN_APP.value, *[c for c in explicit if c != Channel.IN_APP]] if explicit else subscribed[user.pk]
        )
        specs += [
            NotificationSpec(
                recipient=user,
                channel=channel,
                key=f"run:{run.pk}:step:{run.step_seq}:user:{user.pk}:{channel}",
                title=title,
                body=body,
                alert=alert,
                run=run,
                step_seq=run.step_seq,
                data={"step_position": run.current_step, "ack_window_seconds": window},
            )
            for channel in channels
        ]
        sent.append({"user_id": user.pk, "email": user.email, "channels": channels})
    who = ", ".join(f"{entry['email']} ({'/'.join(entry['channels'])})" for entry in sent)
    return StepOutcome(
        message=f"Notified {who}; {_duration(window)} to acknowledge",
        delay=timedelta(seconds=window),
        details={"recipients": sent, "ack_window_seconds": window},
    )


def _repeat(step: dict[str, Any], *, run: EscalationRun) -> StepOutcome:
    position = str(run.current_step)
    done = int(run.repeat_counts.get(position, 0))
    limit = int(step.get("repeat_times") or 0)
    target = step.get("repeat_to_position")
    if done >= limit or not isinstance(target, int) or target >= run.current_step:
        return StepOutcome(message=f"Repeated {done} of {limit} times; moving on", details={"repeated": done})
    run.repeat_counts = {**run.repeat_counts, position: done + 1}
    return StepOutcome(
        message=f"Repeating from step {target + 1} ({done + 1} of {limit})",
        next_position=target,
        details={"repeat": done + 1, "of": limit, "to_position": target},
    )


def _fallback(step: dict[str, Any], *, run: EscalationRun, alert: Alert) -> StepOutcome:
    mode = step.get("fallback_mode") or "suggest"
    alert_id, run_id = alert.pk, run.pk
    transaction.on_commit(
        lambda: signals.fallback_requested.send(sender=None, alert_id=alert_id, run_id=run_id, mode=mode),
        robust=True,
    )
    return StepOutcome(message=f"Asked for fallbacks ({mode}) for the affected bookings", details={"mode": mode})


def _webhook(step: dict[str, Any], *, run: EscalationRun, alert: Alert) -> StepOutcome:
    from alerts.events import alert_public

    notification = notifications_create(
        recipient=None,
        channel=Channel.WEBHOOK,
        key=f"run:{run.pk}:step:{run.step_seq}:webhook",
        title=f"Webhook for alert #{alert.pk}",
        alert=alert,
        run=run,
        step_seq=run.step_seq,
        target=step.get("webhook_url") or "",
        max_attempts=step.get("webhook_max_attempts") or DEFAULT_WEBHOOK_MAX_ATTEMPTS,
        data={
            "step_position": run.current_step,
            "payload": {
                "event": "alert.escalated",
                "alert": alert_public(alert),
                "run_id": run.pk,
                "step_seq": run.step_seq,
            },
        },
    )
    return StepOutcome(message=f"Webhook queued to {notification.target}", details={"notification_id": notification.pk})


def _severity_label(value: str) -> str:
    # Not get_severity_display(): it rebuilds the choices mapping on every call (50 µs).
    return Severity(value).label if value in Severity.values else value


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"
