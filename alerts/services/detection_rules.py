"""Writes of detection rules (API and admin both come here): validated, audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Team, User
from alertguardian.api import InvalidInput
from alerts.models import DetectionCondition, DetectionRule, Severity
from audit.services import audit_record

EDITABLE_FIELDS = (
    "name",
    "condition",
    "threshold_minutes",
    "severity",
    "creates_alert",
    "escalate",
    "notify_customers",
    "suggestions",
    "enabled",
    "ordering",
)


def _validate(rule: DetectionRule) -> None:
    errors: dict[str, list[str]] = {}
    if rule.condition not in DetectionCondition.values:
        errors["condition"] = [f"One of: {', '.join(DetectionCondition.values)}."]
    if rule.severity not in Severity.values:
        errors["severity"] = [f"One of: {', '.join(Severity.values)}."]
    if rule.condition == DetectionCondition.DELAY_MINUTES and rule.threshold_minutes is None:
        errors["threshold_minutes"] = ["Required for a delay_minutes rule."]
    if rule.condition != DetectionCondition.DELAY_MINUTES and rule.threshold_minutes is not None:
        errors["threshold_minutes"] = ["Only a delay_minutes rule has a threshold."]
    if not isinstance(rule.suggestions, list) or not all(isinstance(item, str) for item in rule.suggestions):
        errors["suggestions"] = ["Must be a list of strings."]
    if errors:
        raise InvalidInput("The detection rule is invalid.", details=errors)


def _snapshot(rule: DetectionRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in EDITABLE_FIELDS}


@transaction.atomic
def detection_rule_create(*, team: Team | None, by: User | None, **fields: Any) -> DetectionRule:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown detection rule fields: {sorted(unknown)}")
    rule = DetectionRule(team=team, **fields)
    _validate(rule)
    rule.save()
    audit_data = {"team_id": team.pk if team else None, **_snapshot(rule)}
    _audit(by=by, action="detection_rule.created", rule=rule, data=audit_data)
    return rule


@transaction.atomic
def detection_rule_update(*, rule_id: int, by: User | None, **changes: Any) -> DetectionRule:
    rule = DetectionRule.objects.select_for_update().get(pk=rule_id)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown detection rule fields: {sorted(unknown)}")
    before = _snapshot(rule)
    for name, value in changes.items():
        setattr(rule, name, value)
    _validate(rule)
    diff = {name: [before[name], value] for name, value in _snapshot(rule).items() if before[name] != value}
    if diff:
        rule.updated_at = timezone.now()
        rule.save(update_fields=[*diff, "updated_at"])
        _audit(by=by, action="detection_rule.updated", rule=rule, data=diff)
    return rule


@transaction.atomic
def detection_rule_delete(*, rule_id: int, by: User | None) -> None:
    rule = DetectionRule.objects.select_for_update().get(pk=rule_id)
    _audit(by=by, action="detection_rule.deleted", rule=rule, data=_snapshot(rule))
    rule.delete()


def _audit(*, by: User | None, action: str, rule: DetectionRule, data: dict[str, Any]) -> None:
    audit_record(actor=by, action=action, target=("alerts.detectionrule", rule.pk), data=data, team_id=rule.team_id)
