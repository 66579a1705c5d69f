"""Reads of operations data. Those taking a ``user`` also authorize: another team's
objects are not found (404); a team member lacking the write capability gets 403."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from django.db.models import Field, Q, QuerySet

from accounts import capabilities as caps
from accounts.models import Team, User
from accounts.selectors import team_get_for_user, team_ids_with_capability, user_has_capability
from alertguardian.api import Forbidden, NotFound
from alerts.ops.models import AlertRule, DailySummary, SlaPolicy, TeamOpsSettings


def _setting_default(name: str) -> Any:
    model_field = TeamOpsSettings._meta.get_field(name)
    assert isinstance(model_field, Field)
    return model_field.get_default()


def ops_settings_for_team(team: Team) -> TeamOpsSettings:
    """The team's settings row, or an unsaved one holding the defaults."""
    found = TeamOpsSettings.objects.filter(team=team).first()
    return found if found is not None else TeamOpsSettings(team=team)


def ops_settings_value(team_id: int | None, name: str) -> Any:
    """One setting of a team (the field default when the team has no row or ``team_id`` is None)."""
    if team_id is not None:
        values = TeamOpsSettings.objects.filter(team_id=team_id).values_list(name, flat=True)
        for value in values:
            return value
    return _setting_default(name)


def team_setting_groups(name: str, *, team_field: str = "team_id") -> list[tuple[Q, Any]]:
    """Teams grouped by the value of one setting, as ``(Q(team filter), value)`` pairs —
    one query per distinct value instead of one per team. Teams without a row get the default."""
    by_value: dict[Any, list[int]] = defaultdict(list)
    for team_id, value in TeamOpsSettings.objects.values_list("team_id", name):
        by_value[value].append(team_id)
    configured = [team_id for team_ids in by_value.values() for team_id in team_ids]
    groups = [(Q(**{f"{team_field}__in": team_ids}), value) for value, team_ids in by_value.items()]
    default = _setting_default(name)
    groups.append((~Q(**{f"{team_field}__in": configured}) if configured else Q(), default))
    return groups


def team_for_ops(*, user: User, team_id: int, manage: bool = False) -> Team:
    """The team if ``user`` can read its alerts (else 404); with ``manage``, also 403 unless
    the user may manage the team."""
    team = team_get_for_user(user=user, team_id=team_id, capability=caps.ALERTS_READ)
    if manage and not user_has_capability(user=user, capability=caps.TEAM_MANAGE, team_id=team.pk):
        raise Forbidden(f"You need the {caps.TEAM_MANAGE} permission on this team.")
    return team


def alert_rules_for_user(
    *, user: User, team_id: int | None = None, kind: str | None = None, enabled: bool | None = None
) -> QuerySet[AlertRule]:
    team_ids = team_ids_with_capability(user=user, capability=caps.ALERTS_READ)
    rules = AlertRule.objects.select_related("team", "created_by")
    if team_ids is not None:
        rules = rules.filter(team_id__in=team_ids)
    if team_id is not None:
        rules = rules.filter(team_id=team_id)
    if kind:
        rules = rules.filter(kind=kind)
    if enabled is not None:
        rules = rules.filter(enabled=enabled)
    return rules.order_by("-id")


def alert_rule_get_for_user(*, user: User, rule_id: int, manage: bool = False) -> AlertRule:
    rule = alert_rules_for_user(user=user).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("Alert rule not found.")
    if manage and not user_has_capability(user=user, capability=caps.TEAM_MANAGE, team_id=rule.team_id):
        raise Forbidden(f"You need the {caps.TEAM_MANAGE} permission on this team.")
    return rule


def sla_policies_for_team(*, team: Team) -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.filter(team=team).order_by("id")


def sla_policy_get(*, team: Team, policy_id: int) -> SlaPolicy:
    policy = SlaPolicy.objects.filter(team=team, pk=policy_id).first()
    if policy is None:
        raise NotFound("SLA policy not found.")
    return policy


def summaries_for_team(
    *, team: Team, date_from: date | None = None, date_to: date | None = None
) -> QuerySet[DailySummary]:
    summaries = DailySummary.objects.filter(team=team)
    if date_from:
        summaries = summaries.filter(date__gte=date_from)
    if date_to:
        summaries = summaries.filter(date__lte=date_to)
    return summaries.order_by("-id")


def summary_get(*, team: Team, summary_id: int) -> DailySummary:
    summary = DailySummary.objects.filter(team=team, pk=summary_id).first()
    if summary is None:
        raise NotFound("Summary not found.")
    return summary
