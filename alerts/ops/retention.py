"""Data retention: a registry of ``RetentionTarget``s and one run over all of them.

A target says which rows are due for removal at a given instant; the run deletes them in
small batches (short transactions, no long locks) or, with ``dry_run``, only counts them.
A real run writes one audit row with the counts. The audit log itself is never a target.

Registered here: ``alerts`` (resolved more than the team's ``retention_days`` ago, or
expired — ``expires_at`` — that long ago; their timeline, user states and SLA records go
with them) and ``rule_firings``. Other apps register theirs in ``AppConfig.ready``, e.g.::

    from alerts.ops.retention import RetentionTarget, retention_target_register
    retention_target_register(RetentionTarget(
        name="notifications",
        candidates=lambda now: Notification.objects.filter(read_at__lt=now - timedelta(days=30)),
    ))
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from alerts.models import Alert, AlertEvent, AlertStatus, AlertUserState
from alerts.ops.models import RuleFiring, SlaEvent
from alerts.ops.selectors import team_setting_groups
from audit.services import AuditActor, audit_record

logger = logging.getLogger(__name__)

RETENTION_ACTOR = AuditActor(label="retention")


@dataclass(frozen=True)
class RetentionTarget:
    name: str
    candidates: Callable[[datetime], QuerySet[Any]]
    # Rows removed along with the candidates (cascades), counted for a dry run.
    related: Callable[[QuerySet[Any]], dict[str, int]] = field(default=lambda rows: {})
    batch_size: int = 500


RETENTION_TARGETS: dict[str, RetentionTarget] = {}


def retention_target_register(target: RetentionTarget) -> None:
    RETENTION_TARGETS[target.name] = target


def alerts_due_for_removal(now: datetime) -> QuerySet[Alert]:
    condition = Q(pk__in=[])
    for team_filter, days in team_setting_groups("retention_days"):
        cutoff = now - timedelta(days=days)
        condition |= team_filter & (Q(status=AlertStatus.RESOLVED, resolved_at__lt=cutoff) | Q(expires_at__lt=cutoff))
    return Alert.objects.filter(condition)


def _alert_related(alerts: QuerySet[Alert]) -> dict[str, int]:
    ids = alerts.values("pk")
    return {
        AlertEvent._meta.label: AlertEvent.objects.filter(alert_id__in=ids).count(),
        AlertUserState._meta.label: AlertUserState.objects.filter(alert_id__in=ids).count(),
        SlaEvent._meta.label: SlaEvent.objects.filter(alert_id__in=ids).count(),
    }


def rule_firings_due_for_removal(now: datetime) -> QuerySet[RuleFiring]:
    condition = Q(pk__in=[])
    for team_filter, days in team_setting_groups("retention_days", team_field="rule__team_id"):
        condition |= team_filter & Q(created_at__lt=now - timedelta(days=days))
    return RuleFiring.objects.filter(condition)


retention_target_register(RetentionTarget(name="alerts", candidates=alerts_due_for_removal, related=_alert_related))
retention_target_register(RetentionTarget(name="rule_firings", candidates=rule_firings_due_for_removal))


def _label(model: type[Model]) -> str:
    return model._meta.label


def _delete_in_batches(rows: QuerySet[Any], batch_size: int, removed: Counter[str]) -> Counter[str]:
    """Delete ``rows`` a batch at a time, each batch its own transaction; counts go into
    ``removed`` as they happen (so a failure still reports what was removed before it)."""
    model = rows.model
    while True:
        ids = list(rows.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return removed
        with transaction.atomic():
            total, per_model = model.objects.filter(pk__in=ids).delete()
        removed.update(per_model)
        if total == 0:  # nothing could be removed; don't loop forever
            return removed


@dataclass
class RetentionReport:
    dry_run: bool
    at: datetime
    targets: dict[str, dict[str, int]]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(sum(counts.values()) for counts in self.targets.values())


def retention_run(*, dry_run: bool = False, now: datetime | None = None, actor: Any = None) -> RetentionReport:
    """Remove (or, dry, count) every registered target's due rows; audit a real run once."""
    now = now or timezone.now()
    report: dict[str, dict[str, int]] = {}
    errors: dict[str, str] = {}
    for name, target in RETENTION_TARGETS.items():
        removed: Counter[str] = Counter()
        try:
            rows = target.candidates(now)
            if dry_run:
                report[name] = {_label(rows.model): rows.count(), **target.related(rows)}
            else:
                report[name] = dict(_delete_in_batches(rows, target.batch_size, removed))
        except Exception as exc:  # e.g. a PROTECT foreign key: report it, go on with the others
            logger.exception("retention target %s failed", name)
            report[name] = dict(removed)
            errors[name] = f"{type(exc).__name__}: {exc}"[:500]
    if not dry_run:
        audit_record(
            actor=actor or RETENTION_ACTOR,
            action="retention.run",
            target=("retention", now.date().isoformat()),
            data={"at": now.isoformat(), "removed": report, "errors": errors},
        )
        logger.info("retention removed %s", report)
    return RetentionReport(dry_run=dry_run, at=now, targets=report, errors=errors)
