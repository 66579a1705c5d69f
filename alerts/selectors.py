"""Reads of alerts that also authorize: other teams' alerts are not found (404)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import F, FilteredRelation, Q, QuerySet

from accounts import capabilities as caps
from accounts.models import Team, TeamMembership, User, UserRole
from accounts.selectors import team_get_for_user, team_ids_with_capability, team_staff, user_has_capability
from alertguardian.api import Forbidden, NotFound
from alerts.exceptions import InvalidAssignee
from alerts.filters import MAX_ID, alert_filters_apply
from alerts.hooks import CUSTOMER_VISIBILITY_HOOKS as CUSTOMER_VISIBILITY_HOOKS  # defined there, importable here
from alerts.models import OPEN_STATUSES, Alert, AlertEvent, AlertEventKind, AlertUserState


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


def alert_get_for_user(*, user: User, alert_id: int, capability: str = caps.ALERTS_READ) -> Alert:
    """The alert if ``user`` may see it and holds ``capability`` on its team; else 404.

    A user who can see the alert but lacks the capability (a viewer trying to
    acknowledge) gets 403: the alert's existence is no secret to them.
    """
    if not 0 < alert_id <= MAX_ID:
        raise NotFound("Alert not found.")  # the URL accepts any digits; PostgreSQL's bigint does not
    alert = alerts_visible_to(user=user).filter(pk=alert_id).select_related("team", "assignee").first()
    if alert is None:
        raise NotFound("Alert not found.")
    if capability != caps.ALERTS_READ and not user_has_capability(
        user=user, capability=capability, team_id=alert.team_id
    ):
        raise Forbidden(f"You need the {capability} permission on this team.")
    return alert


# --- The alert list, detail and per-user state -------------------------------------------


def _with_user_state(queryset: QuerySet[Alert], *, user: User) -> QuerySet[Alert]:
    """Annotate ``my_read_at`` / ``my_dismissed_at``: one LEFT JOIN on the caller's own state row."""
    return queryset.alias(
        my_state=FilteredRelation("user_states", condition=Q(user_states__user_id=user.pk)),
    ).annotate(my_read_at=F("my_state__read_at"), my_dismissed_at=F("my_state__dismissed_at"))


def alert_list(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Alert]:
    """Alerts ``user`` may see, narrowed by validated ``filters`` (see ``alerts.filters``),
    each annotated with the caller's read/dismiss state. Alerts the caller dismissed are
    left out unless ``include_dismissed``. A constant number of queries for any page size."""
    queryset = _with_user_state(alerts_visible_to(user=user), user=user).select_related("team", "assignee")
    return alert_filters_apply(queryset, user=user, filters=filters or {})


def alert_get_with_state(*, user: User, alert_id: int) -> Alert:
    """One visible alert with the caller's state annotated (as in ``alert_list``); else 404."""
    if not 0 < alert_id <= MAX_ID:
        raise NotFound("Alert not found.")
    alert = (
        _with_user_state(alerts_visible_to(user=user), user=user)
        .select_related("team", "assignee", "acknowledged_by", "resolved_by", "reported_by", "integration")
        .filter(pk=alert_id)
        .first()
    )
    if alert is None:
        raise NotFound("Alert not found.")
    return alert


# Timeline entries a customer sees on their own report: the state changes, without
# notes, escalation steps, assignments or who did what (those are internal).
CUSTOMER_TIMELINE_KINDS = (
    AlertEventKind.TRIGGERED,
    AlertEventKind.ACKNOWLEDGED,
    AlertEventKind.RESOLVED,
    AlertEventKind.REOPENED,
)


@dataclass(frozen=True)
class AlertDetail:
    alert: Alert
    timeline: list[AlertEvent]
    for_customer: bool


def alert_detail_get(*, user: User, alert_id: int) -> AlertDetail:
    """The alert, its timeline and the caller's state; customers get the public part only."""
    alert = alert_get_with_state(user=user, alert_id=alert_id)
    for_customer = user.role == UserRole.CUSTOMER
    events = AlertEvent.objects.filter(alert_id=alert.pk).order_by("id")
    if for_customer:
        events = events.filter(kind__in=CUSTOMER_TIMELINE_KINDS)
    return AlertDetail(alert=alert, timeline=list(events), for_customer=for_customer)


def alert_unread_count(*, user: User) -> int:
    """Open alerts (triggered or acknowledged) that ``user`` may see and has neither read nor
    dismissed: what ``GET /alerts?unread=true&status=triggered,acknowledged`` would list.
    Resolved alerts never count: the badge means "open work you have not looked at"."""
    return (
        _with_user_state(alerts_visible_to(user=user), user=user)
        .filter(Q(my_read_at__isnull=True), Q(my_dismissed_at__isnull=True), status__in=OPEN_STATUSES)
        .count()
    )


def alert_unread_audience(*, alert: Alert) -> list[User]:
    """Users whose unread count moves when ``alert`` opens or closes: active staff of its team
    who may read alerts, platform admins, and the customer who reported it. (Customers who
    see it through a booking hook are the hook owner's to notify.)"""
    team_roles = [role for role, held in caps.TEAM_ROLE_CAPABILITIES.items() if caps.ALERTS_READ in held]
    platform_roles = [role for role, held in caps.PLATFORM_ROLE_CAPABILITIES.items() if caps.ALERTS_READ in held]
    members = TeamMembership.objects.filter(team_id=alert.team_id, role__in=team_roles).values("user_id")
    audience = Q(pk__in=members, role__in=[UserRole.AGENT, UserRole.ADMIN]) | Q(role__in=platform_roles)
    if alert.reported_by_id:
        audience |= Q(pk=alert.reported_by_id)
    return list(User.objects.filter(audience, is_active=True).order_by("id"))


def alert_user_state_get(*, alert: Alert, user: User) -> AlertUserState | None:
    return AlertUserState.objects.filter(alert_id=alert.pk, user_id=user.pk).first()


# --- Authorizing the targets of writes ---------------------------------------------------


def team_get_for_alert_action(*, user: User, team_id: int, capability: str) -> Team:
    """A team the user works in and may do ``capability`` in: 404 when they cannot even see
    the team's alerts (another tenant), 403 when they can but lack ``capability``."""
    if not 0 < team_id <= MAX_ID:
        raise NotFound("Team not found.")
    team = team_get_for_user(user=user, team_id=team_id, capability=caps.ALERTS_READ)
    if not user_has_capability(user=user, capability=capability, team_id=team.pk):
        raise Forbidden(f"You need the {capability} permission on this team.")
    return team


def assignee_get_for_team(*, team_id: int, assignee_id: int) -> User:
    """An active agent/admin member of the team. Unknown users and outsiders get the same
    answer, so the endpoint cannot be used to probe which user ids exist."""
    assignee = team_staff(team_id=team_id).filter(pk=assignee_id).first() if 0 < assignee_id <= MAX_ID else None
    if assignee is None:
        raise InvalidAssignee(
            "The assignee must be an active agent or admin of the alert's team.",
            details={"assignee_id": ["Not an active agent or admin of this alert's team."]},
        )
    return assignee
