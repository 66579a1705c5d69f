"""Writes of operations data: alert rules, SLA policies, team ops settings, and the entry
point for incoming integration events (``ops_event_received``).

Every write is atomic and audited in the same transaction. Authorization is the
caller's job (``alerts.ops.selectors``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Team, User
from accounts.selectors import team_staff
from alertguardian.api import InvalidInput
from alertguardian.memo import ProcessMemo
from alerts.models import Alert
from alerts.ops.checks import PAYMENT_FAILED, payment_failed_raise
from alerts.ops.models import AlertRule, AlertRuleKind, SlaPolicy, TeamOpsSettings
from alerts.ops.rules import (
    event_context,
    event_rule_fire,
    event_rule_matches,
    rule_definition_validate,
    time_rule_next_run,
)
from alerts.services import Actor
from audit.services import audit_record

logger = logging.getLogger(__name__)


def _user_or_none(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


# --- alert rules -----------------------------------------------------------------------


def _rule_prepare(rule: AlertRule) -> None:
    """Engine bookkeeping after a create or a definition/enable change."""
    now = timezone.now()
    if rule.kind == AlertRuleKind.TIME:
        rule.next_run_at = (
            time_rule_next_run(definition=rule.definition, timezone_name=rule.team.timezone, after=now)
            if rule.enabled
            else None
        )
    if rule.kind == AlertRuleKind.THRESHOLD and "cursor" not in rule.state:
        # A new threshold rule watches alerts raised from now on, not the team's history.
        latest = Alert.objects.filter(team_id=rule.team_id).order_by("-pk").values_list("pk", flat=True).first()
        rule.state = {**rule.state, "cursor": latest or 0}


def _rule_audit_data(rule: AlertRule) -> dict[str, Any]:
    return {"name": rule.name, "kind": rule.kind, "enabled": rule.enabled, "definition": rule.definition}


def _name_taken() -> InvalidInput:
    return InvalidInput(
        "A rule with this name already exists in the team.",
        details={"name": ["a rule with this name already exists in the team"]},
        code="invalid_rule",
    )


@transaction.atomic
def alert_rule_create(
    *,
    team: Team,
    by: Actor,
    name: str,
    kind: str,
    definition: dict[str, Any],
    enabled: bool = True,
    description: str = "",
) -> AlertRule:
    if kind not in AlertRuleKind.values:
        raise InvalidInput(details={"kind": [f"unknown rule kind {kind!r}"]}, code="invalid_rule")
    rule_definition_validate(kind, definition)
    rule = AlertRule(
        team=team,
        name=name,
        description=description,
        kind=kind,
        enabled=enabled,
        definition=definition,
        created_by=_user_or_none(by),
    )
    _rule_prepare(rule)
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise _name_taken() from None
    audit_record(actor=by, action="alert_rule.created", target=rule, data=_rule_audit_data(rule))
    return rule


RULE_EDITABLE = ("name", "description", "enabled", "definition")


@transaction.atomic
def alert_rule_update(*, rule_id: int, by: Actor, **changes: Any) -> AlertRule:
    """Change name, description, enabled or definition (the kind is fixed). Changing a
    threshold rule does not replay alerts it already looked at."""
    unknown = set(changes) - set(RULE_EDITABLE)
    if unknown:
        raise InvalidInput(details={name: ["cannot be changed"] for name in sorted(unknown)}, code="invalid_rule")
    rule = AlertRule.objects.select_for_update(of=("self",)).select_related("team").get(pk=rule_id)
    if "definition" in changes:
        rule_definition_validate(rule.kind, changes["definition"])
    changed = {name: value for name, value in changes.items() if getattr(rule, name) != value}
    for name, value in changed.items():
        setattr(rule, name, value)
    if "definition" in changed or "enabled" in changed:
        _rule_prepare(rule)
    rule.updated_at = timezone.now()
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise _name_taken() from None
    audit_record(actor=by, action="alert_rule.updated", target=rule, data={"changed": changed})
    return rule


@transaction.atomic
def alert_rule_delete(*, rule_id: int, by: Actor) -> None:
    rule = AlertRule.objects.select_for_update().get(pk=rule_id)
    audit_record(
        actor=by, action="alert_rule.deleted", target=("alerts.alertrule", rule.pk), team_id=rule.team_id,
        data=_rule_audit_data(rule),
    )  # fmt: skip
    rule.delete()


# --- SLA policies ----------------------------------------------------------------------

SLA_EDITABLE = ("ack_within_minutes", "resolve_within_minutes", "at_risk_buffer_minutes", "enabled")


def sla_policy_validate(policy: SlaPolicy) -> None:
    errors: dict[str, list[str]] = {}
    if policy.ack_within_minutes is None and policy.resolve_within_minutes is None:
        errors["non_field_errors"] = ["set ack_within_minutes, resolve_within_minutes or both"]
    for name in ("ack_within_minutes", "resolve_within_minutes"):
        within = getattr(policy, name)
        if within is not None and policy.at_risk_buffer_minutes >= within:
            errors.setdefault("at_risk_buffer_minutes", []).append(f"must be shorter than {name} ({within})")
    if errors:
        raise InvalidInput("The SLA policy is invalid.", details=errors)


@transaction.atomic
def sla_policy_create(
    *,
    team: Team,
    by: Actor,
    severity: str,
    ack_within_minutes: int | None = None,
    resolve_within_minutes: int | None = None,
    at_risk_buffer_minutes: int = 15,
    enabled: bool = True,
) -> SlaPolicy:
    policy = SlaPolicy(
        team=team,
        severity=severity,
        ack_within_minutes=ack_within_minutes,
        resolve_within_minutes=resolve_within_minutes,
        at_risk_buffer_minutes=at_risk_buffer_minutes,
        enabled=enabled,
    )
    sla_policy_validate(policy)
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError:
        raise InvalidInput(
            details={"severity": [f"the team already has a {severity} SLA policy"]}, code="invalid"
        ) from None
    audit_record(
        actor=by,
        action="sla_policy.created",
        target=policy,
        data={"severity": severity, **{n: getattr(policy, n) for n in SLA_EDITABLE}},
    )
    return policy


@transaction.atomic
def sla_policy_update(*, policy_id: int, by: Actor, **changes: Any) -> SlaPolicy:
    """Edits apply to the next check: deadlines already recorded as SLA events stay as fired."""
    policy = SlaPolicy.objects.select_for_update().get(pk=policy_id)
    changed = {
        name: value for name, value in changes.items() if name in SLA_EDITABLE and getattr(policy, name) != value
    }
    for name, value in changed.items():
        setattr(policy, name, value)
    sla_policy_validate(policy)
    policy.updated_at = timezone.now()
    policy.save()
    audit_record(actor=by, action="sla_policy.updated", target=policy, data={"changed": changed})
    return policy


@transaction.atomic
def sla_policy_delete(*, policy_id: int, by: Actor) -> None:
    policy = SlaPolicy.objects.select_for_update().get(pk=policy_id)
    audit_record(
        actor=by, action="sla_policy.deleted", target=("alerts.slapolicy", policy.pk), team_id=policy.team_id,
        data={"severity": policy.severity},
    )  # fmt: skip
    policy.delete()


# --- team ops settings -----------------------------------------------------------------

SETTINGS_EDITABLE = (
    "summary_enabled",
    "summary_time",
    "workload_threshold",
    "unassigned_minutes",
    "retention_days",
    "payment_failed_severity",
)


@transaction.atomic
def team_ops_settings_update(
    *, team: Team, by: Actor, summary_subscriber_ids: Sequence[int] | None = None, **changes: Any
) -> TeamOpsSettings:
    """Create or change the team's settings; subscribers must be active staff of the team."""
    settings_row, _ = TeamOpsSettings.objects.select_for_update().get_or_create(team=team)
    changed: dict[str, Any] = {}
    for name, value in changes.items():
        if name in SETTINGS_EDITABLE and getattr(settings_row, name) != value:
            setattr(settings_row, name, value)
            changed[name] = value
    settings_row.updated_at = timezone.now()
    settings_row.save()
    if summary_subscriber_ids is not None:
        wanted = set(summary_subscriber_ids)
        staff = set(team_staff(team_id=team.pk).filter(pk__in=wanted).values_list("pk", flat=True))
        if wanted - staff:
            raise InvalidInput(details={"summary_subscribers": [f"not staff of this team: {sorted(wanted - staff)}"]})
        settings_row.summary_subscribers.set(sorted(staff))
        changed["summary_subscribers"] = sorted(staff)
    audit_record(actor=by, action="ops_settings.updated", target=team, data={"changed": changed})
    return settings_row


# --- incoming events -------------------------------------------------------------------


@dataclass(frozen=True)
class EventMatch:
    rule_ids: list[int] = field(default_factory=list)
    payment_failed: bool = False

    @property
    def matched(self) -> bool:
        return bool(self.rule_ids) or self.payment_failed


def _json_safe(data: Any) -> dict[str, Any]:
    """What a task message can carry: datetimes as ISO strings, other objects as text."""

    def default(value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    payload = json.loads(json.dumps(data, default=default))
    return payload if isinstance(payload, dict) else {"value": payload}


def ops_event_received(*, team: Team, event_type: str, data: Mapping[str, Any], source: str) -> EventMatch:
    """Call for each incoming integration event (generic ingestion, flight events).

    Matching is in-process and O(rules x conditions) with one query for the team's event
    rules and no writes; the alerts of matching rules (and of the built-in
    ``payment_failed`` rule) are raised by a Celery task enqueued after the caller's
    transaction commits, so rule evaluation never blocks or breaks ingestion.
    """
    return ops_events_received(team_id=team.pk, events=[(event_type, data)], source=source)[0]


_team_event_rules: ProcessMemo[list[AlertRule]] = ProcessMemo("event_rules")
_team_event_rules.clear_on_change(AlertRule)


def _event_rules(team_id: int) -> list[AlertRule]:
    """The team's enabled event rules, memoized per process (``alertguardian.memo``): every
    ingest asks. Treat them as read-only."""
    return _team_event_rules.get(
        team_id,
        lambda: list(
            AlertRule.objects.filter(team_id=team_id, kind=AlertRuleKind.EVENT, enabled=True).only("pk", "definition")
        ),
    )


def ops_events_received(
    *, team_id: int, events: Sequence[tuple[str, Mapping[str, Any]]], source: str
) -> list[EventMatch]:
    """``ops_event_received`` for a batch (one rules lookup for the whole batch)."""
    rules = _event_rules(team_id)
    outcomes: list[EventMatch] = []
    for event_type, data in events:
        if not rules and event_type != PAYMENT_FAILED:
            outcomes.append(EventMatch())  # nothing can match: skip the per-event work (hot in batches)
            continue
        try:
            payload = _json_safe(data)
        except (TypeError, ValueError):
            logger.warning("ops: event of type %s is not JSON-serialisable; rules skipped", event_type)
            outcomes.append(EventMatch())
            continue
        context = event_context(event_type=event_type, source=source, data=payload)
        matched = [
            rule.pk for rule in rules if _matches_safely(rule, event_type=event_type, source=source, context=context)
        ]
        outcome = EventMatch(rule_ids=matched, payment_failed=event_type == PAYMENT_FAILED)
        if outcome.matched:
            _enqueue_event_alerts(team_id=team_id, event_type=event_type, data=payload, source=source, match=outcome)
        outcomes.append(outcome)
    return outcomes


def _matches_safely(rule: AlertRule, *, event_type: str, source: str, context: dict[str, Any]) -> bool:
    """A rule whose stored definition is broken (written around the service) is skipped,
    never allowed to fail the ingestion that called us."""
    try:
        return event_rule_matches(rule.definition, event_type=event_type, source=source, context=context)
    except Exception:
        logger.exception("event rule %s could not be evaluated; skipped", rule.pk)
        return False


def _enqueue_event_alerts(
    *, team_id: int, event_type: str, data: dict[str, Any], source: str, match: EventMatch
) -> None:
    from alerts.ops.tasks import event_alerts_raise  # tasks import this module

    kwargs = {
        "team_id": team_id,
        "event_type": event_type,
        "data": data,
        "source": source,
        "rule_ids": match.rule_ids,
        "payment_failed": match.payment_failed,
    }
    transaction.on_commit(lambda: event_alerts_raise.apply_async(kwargs=kwargs))


def ops_event_alerts_raise(
    *, team_id: int, event_type: str, data: dict[str, Any], source: str, rule_ids: Sequence[int], payment_failed: bool
) -> int:
    """Raise the alerts of one matched event (the task's body). Rules are re-read and
    re-checked: a rule disabled or changed since the event matched does not fire."""
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        return 0
    raised = 0
    if payment_failed:
        payment_failed_raise(team=team, data=data, source=source)
        raised += 1
    context = event_context(event_type=event_type, source=source, data=data)
    rules = AlertRule.objects.filter(pk__in=list(rule_ids), team=team, kind=AlertRuleKind.EVENT, enabled=True)
    for rule in rules.select_related("team").order_by("pk"):
        if not _matches_safely(rule, event_type=event_type, source=source, context=context):
            continue
        try:
            event_rule_fire(rule=rule, context=context)
            raised += 1
        except Exception as exc:  # one broken rule must not stop the others
            logger.exception("event rule %s failed", rule.pk)
            AlertRule.objects.filter(pk=rule.pk).update(last_error=f"{type(exc).__name__}: {exc}"[:2000])
    return raised
