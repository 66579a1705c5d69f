"""Reads of alerts that also authorize: other teams' alerts are not found (404)."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q, QuerySet

from accounts import capabilities as caps
from accounts.models import User, UserRole
from accounts.selectors import team_ids_with_capability, user_has_capability
from alertguardian.api import Forbidden, NotFound
from alerts.models import Alert


def alerts_visible_to(*, user: User) -> QuerySet[Alert]:
    """Staff see their teams' alerts; customers see their own reports and alerts about their bookings."""
    if user.role == UserRole.CUSTOMER:
        return Alert.objects.filter(customer_visibility_q(user))
    team_ids = team_ids_with_capability(user=user, capability=caps.ALERTS_READ)
    if team_ids is None:
        return Alert.objects.all()
    return Alert.objects.filter(team_id__in=team_ids)


def customer_visibility_q(user: User) -> Q:
    """Alerts a customer may see. Extended by the fallbacks app (alerts about their bookings)
    through ``CUSTOMER_VISIBILITY_HOOKS`` so that alerts never imports fallbacks."""
    condition = Q(reported_by_id=user.pk)
    for hook in CUSTOMER_VISIBILITY_HOOKS:
        condition |= hook(user)
    return condition


CUSTOMER_VISIBILITY_HOOKS: list[Callable[[User], Q]] = []  # registered by downstream apps (fallbacks)


def alert_get_for_user(*, user: User, alert_id: int, capability: str = caps.ALERTS_READ) -> Alert:
    """The alert if ``user`` may see it and holds ``capability`` on its team; else 404.

    A user who can see the alert but lacks the capability (a viewer trying to
    acknowledge) gets 403: the alert's existence is no secret to them.
    """
    alert = alerts_visible_to(user=user).filter(pk=alert_id).select_related("team", "assignee").first()
    if alert is None:
        raise NotFound("Alert not found.")
    if capability != caps.ALERTS_READ and not user_has_capability(
        user=user, capability=capability, team_id=alert.team_id
    ):
        raise Forbidden(f"You need the {capability} permission on this team.")
    return alert
