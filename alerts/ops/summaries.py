"""Operations summaries: what happened to a team's alerts in a period.

The daily summary is built for each team at ``TeamOpsSettings.summary_time`` (team time
zone) and covers the local day before that moment; time rules with ``"action": "summary"``
build one for their own period. Each is stored (``DailySummary``), announced live to
``team.<id>`` as ``summary.ready``, emailed to the team's subscribed staff, and signalled
(``alerts.ops.signals.summary_ready``) for in-app notifications.

``data`` (version 1)::

    {"version": 1, "period_start": iso, "period_end": iso, "timezone": "Europe/Paris",
     "alerts": {"created": n, "resolved": n, "open_now": n,
                "by_severity": {"critical": n, "high": n, "medium": n, "low": n},
                "by_type": {"flight_cancelled": n, ...}},             # 20 most frequent
     "acknowledged": n, "mean_time_to_acknowledge_seconds": float | null,
     "mean_time_to_resolve_seconds": float | null,                   # ops alerts excluded
     "sla_breaches": {"total": n, "ack": n, "resolve": n, "assign": n},
     "top_disrupted_airports": [{"airport": "EWR", "alerts": n}, ...]}  # metadata.origin, top 5
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from statistics import fmean
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.db.models.fields.json import KT
from django.utils import timezone

from accounts.models import Team, User
from accounts.selectors import team_staff
from alertguardian.realtime import publish_on_commit, team_group
from alerts.models import OPEN_STATUSES, SEVERITY_RANK, Alert
from alerts.ops import signals
from alerts.ops.checks import OPS_ALERT_TYPES
from alerts.ops.models import AlertRule, DailySummary, SlaEvent, SlaKind, SlaStage, SummaryKind, TeamOpsSettings
from alerts.ops.schedule import zone
from audit.services import AuditActor, audit_record

logger = logging.getLogger(__name__)

SUMMARY_VERSION = 1
SUMMARY_ACTOR = AuditActor(label="ops:summary")


def _mean_seconds(pairs: Iterable[tuple[datetime, datetime | None]]) -> float | None:
    durations = [(end - start).total_seconds() for start, end in pairs if end is not None and end >= start]
    return round(fmean(durations), 1) if durations else None


def summary_data(*, team: Team, period_start: datetime, period_end: datetime) -> dict[str, Any]:
    """The summary of ``team`` for [period_start, period_end) — reads only."""
    alerts = Alert.objects.filter(team=team)
    created = alerts.filter(created_at__gte=period_start, created_at__lt=period_end)
    severities = dict(created.values_list("severity").annotate(n=Count("id")).order_by())
    by_type = created.values_list("type").annotate(n=Count("id")).order_by("-n", "type")[:20]
    work = alerts.exclude(type__in=OPS_ALERT_TYPES)
    acknowledged = list(
        work.filter(acknowledged_at__gte=period_start, acknowledged_at__lt=period_end).values_list(
            "created_at", "acknowledged_at"
        )
    )
    resolved_pairs = list(
        work.filter(resolved_at__gte=period_start, resolved_at__lt=period_end).values_list("created_at", "resolved_at")
    )
    breaches = dict(
        SlaEvent.objects.filter(
            team=team, stage=SlaStage.BREACHED, created_at__gte=period_start, created_at__lt=period_end
        )
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    airports = (
        created.filter(metadata__has_key="origin")
        .annotate(airport=KT("metadata__origin"))
        .values_list("airport")
        .annotate(n=Count("id"))
        .order_by("-n", "airport")[:5]
    )
    return {
        "version": SUMMARY_VERSION,
        "period_start": period_start.isoformat(),
        "period_end": period_end.isoformat(),
        "timezone": team.timezone,
        "alerts": {
            "created": sum(severities.values()),
            "resolved": alerts.filter(resolved_at__gte=period_start, resolved_at__lt=period_end).count(),
            "open_now": alerts.filter(status__in=OPEN_STATUSES).count(),
            "by_severity": {
                name: severities.get(name, 0)
                for name in sorted(SEVERITY_RANK, key=lambda s: SEVERITY_RANK[s], reverse=True)
            },
            "by_type": dict(by_type),
        },
        "acknowledged": len(acknowledged),
        "mean_time_to_acknowledge_seconds": _mean_seconds(acknowledged),
        "mean_time_to_resolve_seconds": _mean_seconds(resolved_pairs),
        "sla_breaches": {"total": sum(breaches.values()), **{kind: breaches.get(kind, 0) for kind in SlaKind.values}},
        "top_disrupted_airports": [{"airport": airport, "alerts": n} for airport, n in airports if airport],
    }


def summary_ready_event(summary: DailySummary) -> dict[str, Any]:
    """Live event for ``team.<id>`` (schema version 1)."""
    return {
        "type": "summary.ready",
        "version": 1,
        "summary": {
            "id": summary.pk,
            "team_id": summary.team_id,
            "kind": summary.kind,
            "rule_id": summary.rule_id,
            "date": summary.date.isoformat(),
            "period_start": summary.period_start.isoformat(),
            "period_end": summary.period_end.isoformat(),
        },
    }


@transaction.atomic
def summary_generate(
    *, team: Team, date: date, period_start: datetime, period_end: datetime, rule: AlertRule | None = None
) -> DailySummary | None:
    """Store a summary, audit it, announce it on commit and email it after commit. Returns
    None when the team's daily summary for ``date`` already exists."""
    data = summary_data(team=team, period_start=period_start, period_end=period_end)
    try:
        with transaction.atomic():
            summary = DailySummary.objects.create(
                team=team,
                kind=SummaryKind.RULE if rule else SummaryKind.DAILY,
                rule=rule,
                date=date,
                period_start=period_start,
                period_end=period_end,
                data=data,
            )
    except IntegrityError:
        return None
    audit_record(
        actor=SUMMARY_ACTOR,
        action="ops.summary_generated",
        target=summary,
        data={
            "date": date.isoformat(),
            "kind": summary.kind,
            "rule_id": summary.rule_id,
            "created": data["alerts"]["created"],
        },
    )
    publish_on_commit(team_group(team.pk), summary_ready_event(summary))
    summary_id = summary.pk
    recipient_ids = summary_recipient_ids(team)
    transaction.on_commit(lambda: summary_email_send(summary_id=summary_id))
    transaction.on_commit(
        lambda: signals.summary_ready.send(
            sender=None, summary_id=summary_id, team_id=team.pk, recipient_ids=recipient_ids
        )
    )
    return summary


def _subscribed_staff(team: Team) -> QuerySet[User]:
    """Subscribed users who are still active staff of the team."""
    subscribed = TeamOpsSettings.summary_subscribers.through.objects.filter(teamopssettings__team=team)
    return team_staff(team_id=team.pk).filter(pk__in=subscribed.values("user_id"))


def summary_recipient_ids(team: Team) -> list[int]:
    return list(_subscribed_staff(team).values_list("pk", flat=True))


def summary_recipients(team: Team) -> list[str]:
    return list(_subscribed_staff(team).values_list("email", flat=True))


def summary_text(summary: DailySummary) -> str:
    data = summary.data
    alerts = data.get("alerts", {})

    def minutes(seconds: float | None) -> str:
        return "n/a" if seconds is None else f"{seconds / 60:.1f} min"

    lines = [
        f"Operations summary for {summary.team.name}, {summary.date.isoformat()}",
        f"Period: {data.get('period_start')} to {data.get('period_end')} ({data.get('timezone')})",
        "",
        f"Alerts created: {alerts.get('created', 0)}  resolved: {alerts.get('resolved', 0)}  open now: {alerts.get('open_now', 0)}",
        "By severity: " + ", ".join(f"{k} {v}" for k, v in alerts.get("by_severity", {}).items()),
        "By type: " + (", ".join(f"{k} {v}" for k, v in alerts.get("by_type", {}).items()) or "none"),
        f"Mean time to acknowledge: {minutes(data.get('mean_time_to_acknowledge_seconds'))}",
        f"Mean time to resolve: {minutes(data.get('mean_time_to_resolve_seconds'))}",
        f"SLA breaches: {data.get('sla_breaches', {}).get('total', 0)}",
        "Top disrupted airports: "
        + (", ".join(f"{a['airport']} {a['alerts']}" for a in data.get("top_disrupted_airports", [])) or "none"),
        "",
        f"{settings.PUBLIC_BASE_URL}/api/v1/teams/{summary.team_id}/summaries/{summary.pk}",
    ]
    return "\n".join(lines)


def summary_email_send(*, summary_id: int) -> int:
    """Email the summary to each subscriber (one message each, one SMTP connection)."""
    summary = DailySummary.objects.select_related("team").filter(pk=summary_id).first()
    if summary is None:
        return 0
    recipients = summary_recipients(summary.team)
    if not recipients:
        return 0
    subject = f"[Alert Guardian] {summary.team.name} summary for {summary.date.isoformat()}"
    body = summary_text(summary)
    try:
        with get_connection() as connection:
            sent = connection.send_messages([EmailMessage(subject, body, to=[address]) for address in recipients]) or 0
    except Exception:
        logger.exception("summary %s: email delivery failed", summary_id)
        return 0
    DailySummary.objects.filter(pk=summary_id).update(emailed_to=sent)
    return sent


def daily_summaries_dispatch(*, now: datetime | None = None) -> int:
    """Build today's summary for every team whose local summary time has passed."""
    now = now or timezone.now()
    recent = now.date() - timedelta(days=2)
    done = set(DailySummary.objects.filter(kind=SummaryKind.DAILY, date__gte=recent).values_list("team_id", "date"))
    configured = {row.team_id: row for row in TeamOpsSettings.objects.all()}
    built = 0
    for team in Team.objects.order_by("pk"):
        team_settings = configured.get(team.pk) or TeamOpsSettings(team=team)
        if not team_settings.summary_enabled:
            continue
        tz = zone(team.timezone)
        local_now = now.astimezone(tz)
        today = local_now.date()
        scheduled = datetime.combine(today, team_settings.summary_time, tzinfo=tz)
        if local_now < scheduled or (team.pk, today) in done:
            continue
        start = datetime.combine(today - timedelta(days=1), team_settings.summary_time, tzinfo=tz)
        try:
            built += summary_generate(team=team, date=today, period_start=start, period_end=scheduled) is not None
        except Exception:
            logger.exception("daily summary for team %s failed", team.pk)
    return built
