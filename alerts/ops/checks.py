"""Built-in operational alerts: SLA at risk / breached, agents overloaded, important alerts
left unassigned, failed payments.

Each check is idempotent: a deadline crossing is recorded once as an ``SlaEvent`` (unique
per alert, kind and stage) before its alert is raised, and every raised alert carries a
dedup key, so running a check twice (or on two workers at once) raises nothing new. When
the condition clears (the original alert is acknowledged, assigned or resolved, the
agent's load drops) the check resolves its own alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Team, TeamRole, User
from accounts.selectors import team_staff
from alerts.exceptions import AlertStateConflict, InvalidAssignee
from alerts.models import OPEN_STATUSES, Alert, AlertSource, AlertStatus, Severity
from alerts.ops.models import SlaEvent, SlaKind, SlaPolicy, SlaStage, TeamOpsSettings
from alerts.ops.schedule import zone
from alerts.ops.selectors import ops_settings_value, team_setting_groups
from alerts.services import RaiseResult, alert_assign, alert_raise, alert_resolve
from audit.services import AuditActor

logger = logging.getLogger(__name__)

OPS_ACTOR = AuditActor(label="ops")

SLA_AT_RISK = "sla_at_risk"
SLA_BREACHED = "sla_breached"
AGENT_OVERLOADED = "agent_overloaded"
ALERT_UNASSIGNED = "alert_unassigned"
PAYMENT_FAILED = "payment_failed"
# Alerts about alerts: never themselves subject to SLA, workload or unassigned checks.
OPS_ALERT_TYPES = (SLA_AT_RISK, SLA_BREACHED, AGENT_OVERLOADED, ALERT_UNASSIGNED)


@dataclass(frozen=True)
class StageAlert:
    type: str
    severity: str
    label: str


STAGE_ALERTS: dict[tuple[str, str], StageAlert] = {
    # "warning" on PagerDuty's scale is medium on ours.
    (SlaKind.ACK, SlaStage.AT_RISK): StageAlert(SLA_AT_RISK, Severity.MEDIUM, "SLA at risk: acknowledge"),
    (SlaKind.ACK, SlaStage.BREACHED): StageAlert(SLA_BREACHED, Severity.CRITICAL, "SLA breached: acknowledge"),
    (SlaKind.RESOLVE, SlaStage.AT_RISK): StageAlert(SLA_AT_RISK, Severity.MEDIUM, "SLA at risk: resolve"),
    (SlaKind.RESOLVE, SlaStage.BREACHED): StageAlert(SLA_BREACHED, Severity.CRITICAL, "SLA breached: resolve"),
    (SlaKind.ASSIGN, SlaStage.BREACHED): StageAlert(ALERT_UNASSIGNED, Severity.HIGH, "Unassigned"),
}

# Statuses in which a deadline of each kind still runs.
KIND_STATUSES: dict[str, tuple[str, ...]] = {
    SlaKind.ACK: (AlertStatus.TRIGGERED,),
    SlaKind.RESOLVE: tuple(OPEN_STATUSES),
    SlaKind.ASSIGN: (AlertStatus.TRIGGERED,),
}


def _local(moment: datetime, team: Team) -> str:
    return moment.astimezone(zone(team.timezone)).strftime("%Y-%m-%d %H:%M %Z")


def _still_applies(alert: Alert, kind: str) -> bool:
    if alert.status not in KIND_STATUSES[kind]:
        return False
    return not (kind == SlaKind.ASSIGN and alert.assignee_id is not None)


@transaction.atomic
def sla_event_fire(*, alert_id: int, kind: str, stage: str, within: timedelta) -> SlaEvent | None:
    """Record one deadline crossing and raise its alert; None when it already fired or no
    longer applies. The alert goes to the original's assignee, else to the whole team."""
    alert = Alert.objects.select_for_update(of=("self",)).select_related("team").filter(pk=alert_id).first()
    if alert is None or not _still_applies(alert, kind):
        return None
    deadline = alert.created_at + within
    try:
        with transaction.atomic():
            event = SlaEvent.objects.create(
                alert=alert, team_id=alert.team_id, kind=kind, stage=stage, deadline=deadline
            )
    except IntegrityError:
        return None
    spec = STAGE_ALERTS[(kind, stage)]
    owner = alert.assignee_id if kind != SlaKind.ASSIGN else None
    when = "was due" if stage == SlaStage.BREACHED else "is due"
    if kind == SlaKind.ASSIGN:
        title = f"Unassigned for {int(within.total_seconds() // 60)} min: #{alert.pk} {alert.title}"
    else:
        title = f"{spec.label} #{alert.pk} by {_local(deadline, alert.team)}: {alert.title}"
    result = alert_raise(
        team=alert.team,
        type=spec.type,
        severity=spec.severity,
        title=title,
        message=f"Alert #{alert.pk} ({alert.severity}, {alert.type}) {when} for {kind} at {deadline.isoformat()}.",
        source=AlertSource.SYSTEM,
        resource=f"alert:{alert.pk}",
        dedup_key=f"sla:{alert.pk}:{kind}:{stage}",
        metadata={
            "alert_id": alert.pk,
            "alert_type": alert.type,
            "alert_severity": alert.severity,
            "sla_kind": kind,
            "sla_stage": stage,
            "deadline": deadline.isoformat(),
            "audience": "assignee" if owner else "team",
            "assignee_id": owner,
        },
        actor=OPS_ACTOR,
    )
    event.raised_alert = result.alert
    event.save(update_fields=["raised_alert"])
    if owner is not None and result.created:
        try:
            alert_assign(alert_id=result.alert.pk, by=OPS_ACTOR, assignee=User.objects.get(pk=owner))
        except InvalidAssignee:
            logger.info("SLA alert #%s stays with the team: #%s's assignee left it", result.alert.pk, alert.pk)
    if stage == SlaStage.BREACHED:
        _resolve_raised(
            SlaEvent.objects.filter(alert=alert, kind=kind, stage=SlaStage.AT_RISK),
            note="Superseded by the breach alert.",
        )
    return event


def _resolve_raised(events: QuerySet[SlaEvent], *, note: str) -> int:
    resolved = 0
    for raised_id in events.filter(raised_alert__status__in=OPEN_STATUSES).values_list("raised_alert_id", flat=True):
        try:
            alert_resolve(alert_id=raised_id, by=OPS_ACTOR, note=note, data={"cleared_by": "ops"})
            resolved += 1
        except AlertStateConflict:
            pass
    return resolved


def _pending(alerts: QuerySet[Alert], kind: str, stage: str, limit: int) -> list[int]:
    fired = SlaEvent.objects.filter(alert=OuterRef("pk"), kind=kind, stage=stage)
    return list(alerts.exclude(Exists(fired)).order_by("created_at").values_list("pk", flat=True)[:limit])


def _work_alerts() -> QuerySet[Alert]:
    return Alert.objects.exclude(type__in=OPS_ALERT_TYPES)


def sla_check(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Fire at-risk and breached alerts for every enabled SLA policy, then clear stale ones."""
    now = now or timezone.now()
    fired = 0
    for policy in SlaPolicy.objects.filter(enabled=True):
        buffer = timedelta(minutes=policy.at_risk_buffer_minutes)
        for kind, minutes in (
            (SlaKind.ACK, policy.ack_within_minutes),
            (SlaKind.RESOLVE, policy.resolve_within_minutes),
        ):
            if not minutes:
                continue
            within = timedelta(minutes=minutes)
            base = _work_alerts().filter(
                team_id=policy.team_id, severity=policy.severity, status__in=KIND_STATUSES[kind]
            )
            # Breached: the deadline (created_at + within) has passed.
            for alert_id in _pending(base.filter(created_at__lte=now - within), kind, SlaStage.BREACHED, limit):
                fired += (
                    sla_event_fire(alert_id=alert_id, kind=kind, stage=SlaStage.BREACHED, within=within) is not None
                )
            if buffer:
                at_risk = base.filter(created_at__gt=now - within, created_at__lte=now - within + buffer)
                for alert_id in _pending(at_risk, kind, SlaStage.AT_RISK, limit):
                    fired += (
                        sla_event_fire(alert_id=alert_id, kind=kind, stage=SlaStage.AT_RISK, within=within) is not None
                    )
    return {"fired": fired, "cleared": sla_alerts_clear(limit=limit)}


def sla_alerts_clear(*, limit: int = 500) -> int:
    """Resolve SLA/unassigned alerts whose original was since acknowledged, assigned or resolved."""
    stale = SlaEvent.objects.filter(raised_alert__status__in=OPEN_STATUSES).filter(
        (Q(kind=SlaKind.ACK) & ~Q(alert__status=AlertStatus.TRIGGERED))
        | Q(kind=SlaKind.RESOLVE, alert__status=AlertStatus.RESOLVED)
        | (Q(kind=SlaKind.ASSIGN) & (Q(alert__assignee__isnull=False) | ~Q(alert__status=AlertStatus.TRIGGERED)))
    )
    return _resolve_raised(
        SlaEvent.objects.filter(pk__in=list(stale.values_list("pk", flat=True)[:limit])),
        note="Condition cleared: the original alert was acknowledged, assigned or resolved.",
    )


def unassigned_check(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """High/critical alerts still triggered and unassigned after the team's threshold."""
    now = now or timezone.now()
    fired = 0
    for team_filter, minutes in team_setting_groups("unassigned_minutes"):
        within = timedelta(minutes=minutes)
        waiting = _work_alerts().filter(
            team_filter,
            status=AlertStatus.TRIGGERED,
            assignee__isnull=True,
            severity__in=[Severity.HIGH, Severity.CRITICAL],
            created_at__lte=now - within,
        )
        for alert_id in _pending(waiting, SlaKind.ASSIGN, SlaStage.BREACHED, limit):
            fired += (
                sla_event_fire(alert_id=alert_id, kind=SlaKind.ASSIGN, stage=SlaStage.BREACHED, within=within)
                is not None
            )
    return {"fired": fired, "cleared": sla_alerts_clear(limit=limit)}


def _workload_key(agent_id: int) -> str:
    return f"workload:{agent_id}"


def workload_check(*, now: datetime | None = None) -> dict[str, int]:
    """Alert a team's admins about each agent holding more open assigned alerts than the
    team's threshold; one open alert per agent and team, resolved when the load drops."""
    thresholds = dict(TeamOpsSettings.objects.values_list("team_id", "workload_threshold"))
    default = ops_settings_value(None, "workload_threshold")
    loads = (
        _work_alerts()
        .filter(status__in=OPEN_STATUSES, assignee__isnull=False)
        .values_list("team_id", "assignee_id")
        .annotate(open_count=Count("id"))
    )
    overloaded = {
        (team_id, agent_id): count for team_id, agent_id, count in loads if count > thresholds.get(team_id, default)
    }
    open_alerts = {
        (team_id, key): pk
        for pk, team_id, key in Alert.objects.filter(type=AGENT_OVERLOADED, status__in=OPEN_STATUSES).values_list(
            "pk", "team_id", "dedup_key"
        )
    }
    raised = 0
    for (team_id, agent_id), count in sorted(overloaded.items()):
        if (team_id, _workload_key(agent_id)) not in open_alerts:
            _overloaded_raise(
                team_id=team_id, agent_id=agent_id, count=count, threshold=thresholds.get(team_id, default)
            )
            raised += 1
    wanted = {(team_id, _workload_key(agent_id)) for team_id, agent_id in overloaded}
    resolved = 0
    for key, pk in open_alerts.items():
        if key not in wanted:
            try:
                alert_resolve(alert_id=pk, by=OPS_ACTOR, note="The agent's open alerts are back under the threshold.")
                resolved += 1
            except AlertStateConflict:
                pass
    return {"fired": raised, "cleared": resolved}


def _overloaded_raise(*, team_id: int, agent_id: int, count: int, threshold: int) -> RaiseResult:
    team = Team.objects.get(pk=team_id)
    agent = User.objects.get(pk=agent_id)
    admins = list(team_staff(team_id=team_id, roles=[TeamRole.OWNER, TeamRole.ADMIN]).values_list("pk", flat=True))
    return alert_raise(
        team=team,
        type=AGENT_OVERLOADED,
        severity=Severity.MEDIUM,
        title=f"Agent overloaded: {agent.email} has {count} open alerts (threshold {threshold})",
        message="Consider reassigning some of this agent's alerts.",
        source=AlertSource.SYSTEM,
        resource=f"user:{agent_id}",
        dedup_key=_workload_key(agent_id),
        metadata={
            "audience": "team_admins",
            "team_admin_ids": admins,
            "agent_id": agent_id,
            "agent_email": agent.email,
            "open_assigned": count,
            "threshold": threshold,
        },
        actor=OPS_ACTOR,
    )


def _scalar(data: dict[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value) != "":
            return str(value)[:120]
    return ""


def payment_failed_raise(*, team: Team, data: dict[str, Any], source: str) -> RaiseResult:
    """The built-in rule for a ``payment_failed`` event: one alert per payment (or booking)."""
    booking = _scalar(data, "booking_reference", "booking_ref", "booking_id", "booking")
    payment = _scalar(data, "payment_id", "transaction_id", "charge_id", "event_id")
    amount = _scalar(data, "amount")
    currency = _scalar(data, "currency")
    reason = _scalar(data, "reason", "failure_reason", "error", "message")
    what = f"booking {booking}" if booking else f"payment {payment or 'unknown'}"
    money = f" ({' '.join(part for part in (amount, currency) if part)})" if amount else ""
    title = f"Payment failed for {what}{money}" + (f": {reason}" if reason else "")
    key = payment or booking
    return alert_raise(
        team=team,
        type=PAYMENT_FAILED,
        severity=ops_settings_value(team.pk, "payment_failed_severity"),
        title=title,
        message=reason,
        source=source if source in AlertSource.values else AlertSource.GENERIC,
        resource=f"booking:{booking}" if booking else "",
        dedup_key=f"payment_failed:{key}" if key else "",
        metadata={
            "booking_reference": booking,
            "payment_id": payment,
            "amount": amount,
            "currency": currency,
            "reason": reason,
            "event_source": source,
        },
        actor=OPS_ACTOR,
    )
