"""The alert lifecycle: raise (with dedup), acknowledge, undo, resolve, reopen, assign, note.

Every function here is one atomic action: it locks the alert row, checks the
transition, writes the change, its timeline entry and its audit row in the same
transaction, and publishes the live event and the domain signal only on commit.
Authorization is the caller's job (``alerts.selectors`` fetch-and-check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Team, User
from accounts.selectors import team_staff
from alertguardian.realtime import publish_many_on_commit
from alerts import signals
from alerts.events import alert_event_messages, publish_alert_event
from alerts.exceptions import AlertStateConflict, InvalidAssignee
from alerts.models import (
    SEVERITY_RANK,
    Alert,
    AlertEvent,
    AlertEventKind,
    AlertSource,
    AlertStatus,
    Integration,
)
from audit.services import AuditActor, AuditRecord, audit_record, audit_record_many

Actor = User | AuditActor | None


def actor_fields(actor: Actor) -> dict[str, Any]:
    """Timeline attribution for a user, an integration/system actor, or nobody."""
    if isinstance(actor, User):
        return {"actor": actor, "actor_label": actor.email}
    if isinstance(actor, AuditActor):
        return {"actor": None, "actor_label": actor.label}
    return {"actor": None, "actor_label": "system"}


def _user_id(actor: Actor) -> int | None:
    return actor.pk if isinstance(actor, User) else None


def alert_event_add(
    *, alert: Alert, kind: str, actor: Actor = None, message: str = "", data: dict[str, Any] | None = None
) -> AlertEvent:
    """Append a timeline entry (callers are inside the action's transaction)."""
    return AlertEvent.objects.create(alert=alert, kind=kind, message=message, data=data or {}, **actor_fields(actor))


def _lock(alert_id: int) -> Alert:
    return Alert.objects.select_for_update().get(pk=alert_id)


@dataclass(frozen=True)
class RaiseResult:
    alert: Alert
    created: bool
    severity_raised: bool = False


@transaction.atomic
def alert_raise(
    *,
    team: Team,
    type: str,
    severity: str,
    title: str,
    source: str = AlertSource.SYSTEM,
    message: str = "",
    resource: str = "",
    dedup_key: str = "",
    integration: Integration | None = None,
    metadata: dict[str, Any] | None = None,
    actor: Actor = None,
    reported_by: User | None = None,
    expires_at: datetime | None = None,
    affected_bookings_count: int = 0,
    occurred_at: datetime | None = None,
) -> RaiseResult:
    """Raise an alert, or fold it into the open alert with the same ``dedup_key``.

    A repeat raises the open alert's severity when the new one is higher (never lowers
    it), refreshes title/message/metadata and counts the occurrence; it never spawns
    a second alert, even under concurrent raises (a partial unique index backs this).
    """
    fold = partial(
        _alert_fold,
        severity=severity,
        title=title,
        message=message,
        metadata=metadata,
        actor=actor,
        occurred_at=occurred_at,
    )
    if dedup_key:
        existing = _open_alert_for_update(team_id=team.pk, dedup_key=dedup_key)
        if existing is not None:
            return fold(existing)
    spec = NewAlert(
        type=type,
        severity=severity,
        title=title,
        message=message,
        resource=resource,
        dedup_key=dedup_key,
        metadata=metadata,
        affected_bookings_count=affected_bookings_count,
        occurred_at=occurred_at,
    )
    alert = _new_alert(
        spec, team=team, source=source, integration=integration, reported_by=reported_by, expires_at=expires_at
    )
    try:
        with transaction.atomic():
            alert.save(force_insert=True)
    except IntegrityError:
        # Lost a race with a concurrent raise of the same key: fold into the winner.
        existing = _open_alert_for_update(team_id=team.pk, dedup_key=dedup_key)
        if existing is None:
            raise
        return fold(existing)
    _announce_raised([alert], actor=actor)
    return RaiseResult(alert=alert, created=True)


@dataclass(frozen=True)
class NewAlert:
    """One alert for ``alerts_raise_many``: the per-alert arguments of ``alert_raise``."""

    type: str
    severity: str
    title: str
    message: str = ""
    resource: str = ""
    dedup_key: str = ""
    metadata: dict[str, Any] | None = None
    affected_bookings_count: int = 0
    occurred_at: datetime | None = None


@transaction.atomic
def alerts_raise_many(
    *,
    team: Team,
    source: str,
    alerts: list[NewAlert],
    integration: Integration | None = None,
    actor: Actor = None,
) -> list[RaiseResult]:
    """``alert_raise`` for each of ``alerts`` (same team and source), in order, with the same
    outcome: the new ones are written together (one INSERT each for the alerts, their
    timeline entries and their audit entries); one whose ``dedup_key`` has an open alert,
    or repeats an earlier one of the list, folds into it through ``alert_raise``.

    If the INSERT meets an open alert created meanwhile (the unique index), nothing of it
    stays and every alert goes through ``alert_raise`` instead.
    """
    if not alerts:
        return []
    keys = {spec.dedup_key for spec in alerts if spec.dedup_key}
    open_keys = set(
        Alert.objects.select_for_update()
        .filter(team_id=team.pk, dedup_key__in=keys)
        .exclude(status=AlertStatus.RESOLVED)
        .values_list("dedup_key", flat=True)
    )
    new: dict[int, Alert] = {}  # position in ``alerts`` -> the alert to create
    for position, spec in enumerate(alerts):
        if spec.dedup_key in open_keys:
            continue
        new[position] = _new_alert(spec, team=team, source=source, integration=integration)
        if spec.dedup_key:
            open_keys.add(spec.dedup_key)  # a repeat later in the list folds into this one
    try:
        with transaction.atomic():
            Alert.objects.bulk_create(list(new.values()))
    except IntegrityError:
        new = {}
    _announce_raised(list(new.values()), actor=actor)
    results = []
    for position, spec in enumerate(alerts):
        if position in new:
            results.append(RaiseResult(alert=new[position], created=True))
        else:
            results.append(
                alert_raise(
                    team=team,
                    source=source,
                    integration=integration,
                    actor=actor,
                    **{name: getattr(spec, name) for name in NewAlert.__dataclass_fields__},
                )
            )
    return results


def _new_alert(
    spec: NewAlert,
    *,
    team: Team,
    source: str,
    integration: Integration | None,
    reported_by: User | None = None,
    expires_at: datetime | None = None,
) -> Alert:
    now = timezone.now()
    return Alert(
        team=team,
        integration=integration,
        source=source,
        type=spec.type,
        severity=spec.severity,
        title=spec.title[:300],
        message=spec.message,
        resource=spec.resource,
        dedup_key=spec.dedup_key,
        metadata=spec.metadata or {},
        reported_by=reported_by,
        expires_at=expires_at,
        affected_bookings_count=spec.affected_bookings_count,
        created_at=now,
        updated_at=now,
        last_occurred_at=spec.occurred_at or now,
    )


def _announce_raised(alerts: list[Alert], *, actor: Actor) -> None:
    """Timeline, audit, live event and domain signal (one for all) of newly created alerts."""
    if not alerts:
        return
    AlertEvent.objects.bulk_create(
        [
            AlertEvent(
                alert=alert,
                kind=AlertEventKind.TRIGGERED,
                message=alert.title,
                data={"severity": alert.severity, "source": alert.source},
                **actor_fields(actor),
            )
            for alert in alerts
        ]
    )
    audit_record_many(
        [
            AuditRecord(
                actor=actor,
                action="alert.raised",
                target=alert,
                data={
                    "type": alert.type,
                    "severity": alert.severity,
                    "dedup_key": alert.dedup_key,
                    "source": alert.source,
                },
            )
            for alert in alerts
        ]
    )
    publish_many_on_commit([message for alert in alerts for message in alert_event_messages("alert.created", alert)])
    if len(alerts) == 1:
        signals.send_on_commit(signals.alert_raised, alert_id=alerts[0].pk)
    else:
        signals.send_on_commit(signals.alerts_raised, alert_ids=[alert.pk for alert in alerts])


def _open_alert_for_update(*, team_id: int, dedup_key: str) -> Alert | None:
    return (
        Alert.objects.select_for_update()
        .filter(team_id=team_id, dedup_key=dedup_key)
        .exclude(status=AlertStatus.RESOLVED)
        .first()
    )


def _alert_fold(
    alert: Alert,
    *,
    severity: str,
    title: str,
    message: str,
    metadata: dict[str, Any] | None,
    actor: Actor,
    occurred_at: datetime | None,
) -> RaiseResult:
    previous_severity = alert.severity
    severity_raised = SEVERITY_RANK[severity] > SEVERITY_RANK[previous_severity]
    now = timezone.now()
    alert.occurrences += 1
    alert.updated_at = now
    alert.last_occurred_at = occurred_at or now
    if severity_raised:
        alert.severity = severity
    if title:
        alert.title = title[:300]
    if message:
        alert.message = message
    if metadata:
        alert.metadata = {**alert.metadata, **metadata}
    alert.save(
        update_fields=["occurrences", "updated_at", "last_occurred_at", "severity", "title", "message", "metadata"]
    )
    kind = AlertEventKind.SEVERITY_RAISED if severity_raised else AlertEventKind.UPDATED
    data = {"occurrences": alert.occurrences, "severity": alert.severity, "previous_severity": previous_severity}
    alert_event_add(alert=alert, kind=kind, actor=actor, message=title, data=data)
    audit_record(actor=actor, action="alert.updated", target=alert, data=data)
    publish_alert_event("alert.updated", alert, {"severity_raised": severity_raised})
    signals.send_on_commit(signals.alert_updated, alert_id=alert.pk, severity_raised=severity_raised)
    return RaiseResult(alert=alert, created=False, severity_raised=severity_raised)


@transaction.atomic
def alert_acknowledge(*, alert_id: int, by: Actor, note: str = "") -> Alert:
    alert = _lock(alert_id)
    if alert.status != AlertStatus.TRIGGERED:
        raise AlertStateConflict(f"Alert is {alert.status}; only a triggered alert can be acknowledged.", alert=alert)
    now = timezone.now()
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = now
    alert.acknowledged_by = by if isinstance(by, User) else None
    alert.ack_deadline = None
    alert.updated_at = now
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "ack_deadline", "updated_at"])
    alert_event_add(alert=alert, kind=AlertEventKind.ACKNOWLEDGED, actor=by, message=note)
    audit_record(actor=by, action="alert.acknowledged", target=alert, data={"note": note})
    publish_alert_event("alert.acknowledged", alert)
    signals.send_on_commit(signals.alert_acknowledged, alert_id=alert.pk, user_id=_user_id(by))
    return alert


@transaction.atomic
def alert_unacknowledge(*, alert_id: int, by: Actor) -> Alert:
    """Undo an acknowledge: the alert is triggered again and escalation restarts."""
    alert = _lock(alert_id)
    if alert.status != AlertStatus.ACKNOWLEDGED:
        raise AlertStateConflict(
            f"Alert is {alert.status}; only an acknowledged alert can be un-acknowledged.", alert=alert
        )
    alert.status = AlertStatus.TRIGGERED
    alert.acknowledged_at = None
    alert.acknowledged_by = None
    alert.updated_at = timezone.now()
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "updated_at"])
    alert_event_add(alert=alert, kind=AlertEventKind.UNACKNOWLEDGED, actor=by)
    audit_record(actor=by, action="alert.unacknowledged", target=alert)
    publish_alert_event("alert.unacknowledged", alert)
    signals.send_on_commit(signals.alert_unacknowledged, alert_id=alert.pk, user_id=_user_id(by))
    return alert


@transaction.atomic
def alert_resolve(*, alert_id: int, by: Actor, note: str = "", data: dict[str, Any] | None = None) -> Alert:
    alert = _lock(alert_id)
    if alert.status == AlertStatus.RESOLVED:
        raise AlertStateConflict("Alert is already resolved.", alert=alert)
    now = timezone.now()
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = now
    alert.resolved_by = by if isinstance(by, User) else None
    alert.resolution_note = note
    alert.ack_deadline = None
    alert.updated_at = now
    alert.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_note", "ack_deadline", "updated_at"])
    alert_event_add(alert=alert, kind=AlertEventKind.RESOLVED, actor=by, message=note, data=data)
    audit_record(actor=by, action="alert.resolved", target=alert, data={"note": note, **(data or {})})
    publish_alert_event("alert.resolved", alert)
    signals.send_on_commit(signals.alert_resolved, alert_id=alert.pk, user_id=_user_id(by))
    return alert


@transaction.atomic
def alert_reopen(*, alert_id: int, by: Actor, note: str = "") -> Alert:
    """Reopen a resolved alert (admins). Refused while another open alert holds its dedup key."""
    alert = _lock(alert_id)
    if alert.status != AlertStatus.RESOLVED:
        raise AlertStateConflict(f"Alert is {alert.status}; only a resolved alert can be reopened.", alert=alert)
    if (
        alert.dedup_key
        and Alert.objects.filter(team_id=alert.team_id, dedup_key=alert.dedup_key)
        .exclude(status=AlertStatus.RESOLVED)
        .exists()
    ):
        raise AlertStateConflict("A newer open alert already tracks this problem.", alert=alert)
    alert.status = AlertStatus.TRIGGERED
    alert.resolved_at = None
    alert.resolved_by = None
    alert.acknowledged_at = None
    alert.acknowledged_by = None
    alert.updated_at = timezone.now()
    alert.save(
        update_fields=["status", "resolved_at", "resolved_by", "acknowledged_at", "acknowledged_by", "updated_at"]
    )
    alert_event_add(alert=alert, kind=AlertEventKind.REOPENED, actor=by, message=note)
    audit_record(actor=by, action="alert.reopened", target=alert, data={"note": note})
    publish_alert_event("alert.reopened", alert)
    signals.send_on_commit(signals.alert_reopened, alert_id=alert.pk, user_id=_user_id(by))
    return alert


@transaction.atomic
def alert_assign(*, alert_id: int, by: Actor, assignee: User | None) -> Alert:
    """Assign to a staff member of the alert's team, or unassign with ``None``."""
    alert = _lock(alert_id)
    if assignee is not None and not team_staff(team_id=alert.team_id).filter(pk=assignee.pk).exists():
        raise InvalidAssignee(
            "The assignee must be an active agent or admin of the alert's team.",
            details={"assignee": ["not a staff member of this team"]},
        )
    previous = alert.assignee_id
    alert.assignee = assignee
    alert.updated_at = timezone.now()
    alert.save(update_fields=["assignee", "updated_at"])
    data = {"assignee_id": assignee.pk if assignee else None, "previous_assignee_id": previous}
    alert_event_add(
        alert=alert,
        kind=AlertEventKind.ASSIGNED,
        actor=by,
        message=f"Assigned to {assignee.email}" if assignee else "Unassigned",
        data=data,
    )
    audit_record(actor=by, action="alert.assigned", target=alert, data=data)
    publish_alert_event("alert.assigned", alert)
    signals.send_on_commit(signals.alert_assigned, alert_id=alert.pk, assignee_id=data["assignee_id"])
    return alert


@transaction.atomic
def alert_note_add(*, alert_id: int, by: Actor, note: str) -> AlertEvent:
    alert = _lock(alert_id)
    event = alert_event_add(alert=alert, kind=AlertEventKind.NOTE, actor=by, message=note)
    alert.updated_at = timezone.now()
    alert.save(update_fields=["updated_at"])
    audit_record(actor=by, action="alert.note_added", target=alert, data={"note": note})
    publish_alert_event("alert.updated", alert, {"note_id": event.pk})
    return event
