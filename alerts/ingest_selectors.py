"""Reads of the ingestion side that also authorize: integrations, flight legs, detection rules.

Other teams' objects are not found (404), never forbidden.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from accounts import capabilities as caps
from accounts.models import User
from accounts.selectors import team_ids_with_capability
from alertguardian.api import Forbidden, NotFound
from alertguardian.memo import ProcessMemo
from alerts.ingest_exceptions import IntegrationDisabled
from alerts.models import DetectionRule, FlightStatus, Integration
from alerts.services.integrations import token_hash

_integrations_by_token: ProcessMemo[Integration | None] = ProcessMemo("integrations_by_token")
_integrations_by_token.clear_on_change(Integration)


def _integration_load(hashed: str) -> Integration | None:
    # No join, no ORDER BY: the team loads lazily, only when an alert is raised.
    try:
        return Integration.objects.get(token_hash=hashed)
    except Integration.DoesNotExist:
        return None


def integration_for_token(*, token: str, kind: str) -> Integration:
    """The active integration of ``kind`` behind ``token``: unknown → 404, disabled → 401.

    Runs on every ingest request, so found integrations are memoized per process
    (``alertguardian.memo``; treat the result as read-only). Unknown tokens are not: a
    stream of made-up tokens must not grow the memo.
    """
    hashed = token_hash(token)
    integration = _integrations_by_token.get(
        hashed, lambda: _integration_load(hashed), keep_if=lambda found: found is not None
    )
    if integration is None or integration.kind != kind:
        raise NotFound("Unknown integration token.", code="unknown_integration")
    if not integration.is_active:
        raise IntegrationDisabled()
    return integration


def _filter_teams(queryset: QuerySet, team_ids: list[int] | None) -> QuerySet:
    return queryset if team_ids is None else queryset.filter(team_id__in=team_ids)


def integrations_manageable_by(*, user: User) -> QuerySet[Integration]:
    team_ids = team_ids_with_capability(user=user, capability=caps.TEAM_MANAGE)
    return _filter_teams(Integration.objects.select_related("team"), team_ids)


def integration_get_for_manager(*, user: User, integration_id: int) -> Integration:
    integration = integrations_manageable_by(user=user).filter(pk=integration_id).first()
    if integration is None:
        raise NotFound("Integration not found.")
    return integration


def flights_visible_to(*, user: User) -> QuerySet[FlightStatus]:
    """Flight legs of the teams where ``user`` reads alerts; staff only (customers: 403)."""
    if not user.is_staff_member:
        raise Forbidden("Flight status is for staff.")
    team_ids = team_ids_with_capability(user=user, capability=caps.ALERTS_READ)
    return _filter_teams(FlightStatus.objects.all(), team_ids)


def flight_legs_get(*, user: User, flight_number: str, service_date: date | None) -> list[FlightStatus]:
    legs = flights_visible_to(user=user).filter(flight_number=flight_number.replace(" ", "").upper())
    if service_date is not None:
        legs = legs.filter(service_date=service_date)
    found = list(legs.order_by("-service_date", "scheduled_departure", "key")[:100])
    if not found:
        raise NotFound("No such flight.")
    return found


def detection_rules_visible_to(*, user: User) -> QuerySet[DetectionRule]:
    """Global rules and the rules of teams ``user`` manages; 403 for users who manage nothing."""
    team_ids = team_ids_with_capability(user=user, capability=caps.TEAM_MANAGE)
    if team_ids is None:
        return DetectionRule.objects.select_related("team")
    if not team_ids:
        raise Forbidden("Detection rules are for team managers.")
    return DetectionRule.objects.select_related("team").filter(Q(team__isnull=True) | Q(team_id__in=team_ids))


def detection_rule_get_for_user(*, user: User, rule_id: int) -> DetectionRule:
    rule = detection_rules_visible_to(user=user).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("Detection rule not found.")
    return rule


def detection_rule_get_for_editor(*, user: User, rule_id: int) -> DetectionRule:
    """A rule ``user`` may change: their team's, or any for platform admins. A global rule
    is readable by team managers but only platform admins change it (403)."""
    rule = detection_rule_get_for_user(user=user, rule_id=rule_id)
    if rule.team_id is None and not user.is_platform_admin:
        raise Forbidden("Only platform admins change global rules; create a team rule to override it.")
    return rule
